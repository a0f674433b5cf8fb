"""API helpers: dashboard users linked to sandbox members, tokens for them, and a client that
sends `Authorization: Bearer`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dashboard.api.models import ApiToken, Scope
from dashboard.conversations import members
from tests.conftest import MEMBER_EMAILS

ALL_SCOPES = list(Scope.values)


@dataclass
class Caller:
    """A token's owner, the token and its secret, and a client that sends it."""

    user: object
    token: ApiToken | None
    secret: str

    @property
    def headers(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"} if self.secret else {}

    def get(self, path: str, data=None, **extra):
        return Client().get(path, data, **self.headers, **extra)

    def post(self, path: str, body=None, **extra):
        return Client().post(path, body or {}, content_type="application/json", **self.headers, **extra)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def caller(db, django_user_model):
    """caller("owner", scopes=[...], expires_in=..., revoked=False): a user and a token."""

    def make(kind: str, *, scopes=None, expires_in=timedelta(days=30), revoked=False, name="test script") -> Caller:
        email = MEMBER_EMAILS.get(kind, kind)
        user = django_user_model.objects.filter(email=email).first() or django_user_model.objects.create_user(
            email=email, password="correct-horse-battery-9"
        )
        token, secret = ApiToken.issue(
            user=user, name=name, scopes=ALL_SCOPES if scopes is None else scopes,
            expires_at=timezone.now() + expires_in if expires_in is not None else None,
        )
        if revoked:
            token.revoke()
        return Caller(user, token, secret)

    return make


@pytest.fixture
def warm(wapikit):
    """Fill the member cache, so that later counts hold only what the call itself sends."""

    def fill(calls: list) -> None:
        members.members_list()
        calls.clear()

    return fill


def problem_of(response) -> dict:
    assert response["Content-Type"] == "application/problem+json", response["Content-Type"]
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"] == "about:blank" and body["title"] and body["detail"]
    return body
