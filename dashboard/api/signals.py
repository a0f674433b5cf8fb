"""A changed password ends the user's other sessions (Django checks each session against the
password's hash); it ends their API tokens too, so a password reset after a leak is enough."""

from __future__ import annotations

from django.utils import timezone

from .models import ApiToken


def revoke_tokens_on_password_change(sender, instance, created: bool, **kwargs) -> None:
    # `_password` holds the new password from set_password() until the save that follows, as
    # Django's own password_changed() hook reads it; the hash upgrade at sign-in clears it first,
    # so only a real change counts.
    if created or getattr(instance, "_password", None) is None:
        return
    ApiToken.objects.filter(user=instance).usable().update(revoked_at=timezone.now())
