"""Creating and revoking tokens: the Tokens page and `manage.py create_token` both call these.
A user holds at most API_TOKENS_PER_USER live tokens: the API's call rate is per token too."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .models import ApiToken, Scope

_LIFETIME = re.compile(r"^\s*(\d{1,4})\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
# The longest a token may live: a forgotten token stops working on its own.
MAX_LIFETIME = timedelta(days=366)
LIFETIME_CHOICES = (("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days"), ("365d", "1 year"))


class TokenError(ValueError):
    """A token request that cannot be granted, with the sentence that says why."""


def parse_lifetime(text: str) -> timedelta:
    """"30d", "12h", "2w": a lifetime of at most MAX_LIFETIME."""
    match = _LIFETIME.match(text or "")
    if not match:
        raise TokenError(f"“{text[:20]}” is not a lifetime: write it as 12h, 30d or 2w.")
    lifetime = timedelta(**{_UNITS[match[2].lower()]: int(match[1])})
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise TokenError("A token lives at least an hour and at most 366 days.")
    return lifetime


def parse_scopes(values: list[str] | str) -> list[str]:
    if isinstance(values, str):
        values = [v for v in values.split(",")]
    scopes = [v.strip().lower() for v in values if v.strip()]
    unknown = [s for s in scopes if s not in Scope.values]
    if unknown:
        raise TokenError(f"Unknown scope {unknown[0][:20]!r}: choose from {', '.join(Scope.values)}.")
    if not scopes:
        raise TokenError("Choose at least one scope.")
    return scopes


def token_create(*, user, name: str, scopes: list[str] | str, lifetime: str) -> tuple[ApiToken, str]:
    name = " ".join((name or "").split())
    if not name:
        raise TokenError("Name the token after the script or bot that will use it.")
    if len(name) > 100:
        raise TokenError("A token's name has at most 100 characters.")
    if any(unicodedata.category(character) == "Cc" for character in name):
        # NUL and the other control characters: PostgreSQL refuses NUL in text, and none is printable.
        raise TokenError("A token's name cannot hold control characters (such as NUL): use letters, digits and spaces.")
    expires_at: datetime = timezone.now() + parse_lifetime(lifetime)
    scopes = parse_scopes(scopes)
    with transaction.atomic():
        # Two creations at once wait for each other here (on PostgreSQL), so neither passes the cap.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        live = user.api_tokens.usable()
        if live.filter(name=name).exists():
            raise TokenError(f"You already have a token named “{name}”: revoke it or choose another name.")
        cap = settings.API_TOKENS_PER_USER
        if live.count() >= cap:
            raise TokenError(
                f"You already have {cap} live tokens, the most one person may hold: "
                "revoke one you no longer use, then create this one."
            )
        return ApiToken.issue(user=user, name=name, scopes=scopes, expires_at=expires_at)


def token_revoke(*, user, token_id: int) -> ApiToken | None:
    """Revoke one of the user's own tokens; None when they have no such token."""
    token = user.api_tokens.filter(pk=token_id).first()
    if token is not None:
        token.revoke()
    return token
