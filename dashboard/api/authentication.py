"""`Authorization: Bearer <token>` for scripts and bots; a signed-in browser's session (with
DRF's CSRF check on unsafe methods) for people trying the API from the docs page."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .models import ApiToken, hash_secret


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        secret = secret.strip()
        if not secret or " " in secret:
            raise exceptions.AuthenticationFailed("The Authorization header must be “Bearer <token>”.")
        token = ApiToken.objects.select_related("user").filter(secret_hash=hash_secret(secret)).first()
        if token is None:
            raise exceptions.AuthenticationFailed("This token is not known: it may have been mistyped or deleted.")
        if token.revoked:
            raise exceptions.AuthenticationFailed(
                f"This token was revoked on {timezone.localtime(token.revoked_at):%Y-%m-%d %H:%M}."
            )
        if token.expired:
            raise exceptions.AuthenticationFailed(
                f"This token expired on {timezone.localtime(token.expires_at):%Y-%m-%d %H:%M}: create a new one."
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("The dashboard account this token belongs to is disabled.")
        token.note_use()
        return token.user, token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's, which enforces CSRF for a session's unsafe requests."""


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "token"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A token from the dashboard's Tokens page."}


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = SessionAuthentication
    name = "session"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
