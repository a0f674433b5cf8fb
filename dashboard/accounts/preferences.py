"""A user's time zone: read once a session (then kept on it), written by the profile page."""

from __future__ import annotations

from django.contrib.sessions.backends.base import SessionBase

from .models import Profile

# The user's chosen zone on their session: "" when they have chosen none (so not asked again).
SESSION_KEY = "accounts.time_zone"


def chosen_time_zone(*, user, session: SessionBase) -> str:
    """The zone the user chose, or "" for none. One query a session, none after."""
    name = session.get(SESSION_KEY)
    if name is None:
        name = Profile.objects.filter(user=user).values_list("time_zone", flat=True).first() or ""
        session[SESSION_KEY] = name
    return name


def profile_set_time_zone(*, user, time_zone: str, session: SessionBase) -> Profile:
    """Keep the user's choice (validated: ValidationError for a zone the dashboard does not know),
    and this session's copy of it. Their other sessions keep the one they read until they end."""
    profile = Profile.objects.filter(user=user).first() or Profile(user=user)
    profile.time_zone = time_zone
    profile.full_clean(exclude=["user"])
    profile.save()
    session[SESSION_KEY] = time_zone
    return profile
