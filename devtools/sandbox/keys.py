"""Who a sandbox key acts as, in the "server" and "legacy" profiles: SANDBOX_API_KEY is the
Owner's key, SANDBOX_MEMBER_KEY a non-Owner member's. Both authenticate; WapiKit's permission
check then refuses the member's key on every route that needs a permission, even one its role
grants (REAL-SERVER.md, "Who a key acts as")."""

from __future__ import annotations

import hmac

from django.conf import settings

from .models import Member

OWNER_EMAIL = "owner@example.com"
# A member whose role grants every conversation permission, so that the refusal can only come
# from WapiKit's permission check.
MEMBER_EMAIL = "manager@example.com"


def key_holder(key: str) -> Member | None:
    """The seeded member a key belongs to; None for any other key (or when nothing is seeded)."""
    for candidate, email in ((settings.SANDBOX_API_KEY, OWNER_EMAIL), (settings.SANDBOX_MEMBER_KEY, MEMBER_EMAIL)):
        if key and hmac.compare_digest(key.encode(), candidate.encode()):
            return Member.objects.filter(email=email).first()
    return None
