"""A user's preferences (their time zone, their inbox's layout): each read once a session (then
kept on it), written by the profile page or the inbox's layout switch."""

from __future__ import annotations

from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

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


LAYOUT_KEY = "accounts.inbox_layout"


def chosen_inbox_layout(*, user, session: SessionBase) -> str:
    """"cards" or "compact". One query a session, none after."""
    layout = session.get(LAYOUT_KEY)
    if layout is None:
        layout = (
            Profile.objects.filter(user=user).values_list("inbox_layout", flat=True).first()
            or Profile.InboxLayout.CARDS
        )
        session[LAYOUT_KEY] = layout
    return layout


def profile_set_inbox_layout(*, user, layout: str, session: SessionBase) -> Profile:
    """Keep the user's layout (ValidationError for one there is not), and this session's copy."""
    profile = Profile.objects.filter(user=user).first() or Profile(user=user)
    profile.inbox_layout = layout
    profile.full_clean(exclude=["user"])
    profile.save()
    session[LAYOUT_KEY] = layout
    return profile


def inbox_layout(request: HttpRequest) -> dict[str, object]:
    """Context processor: the signed-in user's inbox layout, read only by pages that draw one."""

    def layout() -> str:
        if not request.user.is_authenticated:
            return Profile.InboxLayout.CARDS
        return chosen_inbox_layout(user=request.user, session=request.session)

    return {"inbox_layout": SimpleLazyObject(layout)}
