"""Personal API tokens: each names one dashboard user, carries scopes, expires, and can be
revoked, unlike a WapiKit key (a two-year JWT that only an Owner's works with). A token never
does more than its scopes allow, nor more than its owner's WapiKit member may do: a write
checks the member's role as WapiKit says it at the time of the call (`views.ApiView.writer`).

Only a hash of the secret is kept: the secret is random (256 bits), so one SHA-256 is enough
and a lookup by hash needs no per-token salt."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

# "wkd_" tells a dashboard token apart from a WapiKit key in logs and secret scanners.
PREFIX = "wkd_"
# A token's last use is written at most this often, not on every call.
LAST_USED_RESOLUTION_SECONDS = 60


class Scope(models.TextChoices):
    READ = "read", "read conversations, members and (for Owners and staff) the audit log"
    CLOSE = "close", "close and reopen conversations"
    DELETE = "delete", "delete conversations"
    ASSIGN = "assign", "assign conversations"
    UNASSIGN = "unassign", "unassign conversations"
    ROUTING = "routing", "read and set routing's rules (Owners and staff)"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def usable(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The first characters of the secret, to tell tokens apart in lists; never enough to use.
    hint = models.CharField(max_length=16)
    secret_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def issue(cls, *, user, name: str, scopes: list[str], expires_at=None) -> tuple[ApiToken, str]:
        """A new token and its secret: the secret is returned once and never stored."""
        secret = PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            name=name,
            hint=secret[: len(PREFIX) + 6],
            secret_hash=hash_secret(secret),
            scopes=sorted(set(scopes), key=[s.value for s in Scope].index),
            expires_at=expires_at,
        )
        return token, secret

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def active(self) -> bool:
        return not (self.expired or self.revoked)

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    def note_use(self) -> None:
        now = timezone.now()
        if self.last_used_at is None or (now - self.last_used_at).total_seconds() >= LAST_USED_RESOLUTION_SECONDS:
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now
