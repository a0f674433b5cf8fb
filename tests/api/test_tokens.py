"""Token lifecycle: created (by command or page) with its secret shown once and only its hash
kept, used as a Bearer token, revoked, expired; sessions keep CSRF protection."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from dashboard.api.models import ApiToken, hash_secret
from tests.api.conftest import Caller, problem_of

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TOKEN_RE = re.compile(r"wkd_[A-Za-z0-9_-]{43}")


def test_create_token_prints_the_secret_once_and_keeps_only_its_hash(make_user, wapikit):
    user = make_user("owner")
    out, err = io.StringIO(), io.StringIO()
    call_command("create_token", user.email, "--name", "stale closer", "--scopes", "read,close", "--expires", "30d",
                 stdout=out, stderr=err)
    secret = out.getvalue().strip()
    assert TOKEN_RE.fullmatch(secret)
    token = ApiToken.objects.get()
    assert (token.name, token.scopes, token.user) == ("stale closer", ["read", "close"], user)
    assert token.secret_hash == hash_secret(secret) and secret not in str(token.__dict__)
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert "shown only now" in err.getvalue()
    answer = Caller(user, token, secret).get("/api/v1/members")
    assert answer.status_code == 200


@pytest.mark.parametrize(
    "args, message",
    [
        (["nobody@example.com", "--name", "x", "--scopes", "read"], "no dashboard user"),
        (["owner@example.com", "--name", "x", "--scopes", "read,fly"], "Unknown scope"),
        (["owner@example.com", "--name", "x", "--scopes", "read", "--expires", "forever"], "not a lifetime"),
        (["owner@example.com", "--name", "x", "--scopes", "read", "--expires", "400d"], "at most 366 days"),
        (["owner@example.com", "--name", " ", "--scopes", "read"], "Name the token"),
    ],
)
def test_create_token_refuses_what_it_cannot_grant(args, message, make_user):
    make_user("owner")
    with pytest.raises(CommandError, match=message):
        call_command("create_token", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiToken.objects.exists()


def test_a_token_s_use_is_noted_at_most_once_a_minute(caller, wapikit):
    who = caller("owner")
    assert who.get("/api/v1/members").status_code == 200
    who.token.refresh_from_db()
    first = who.token.last_used_at
    assert first is not None
    assert who.get("/api/v1/members").status_code == 200
    who.token.refresh_from_db()
    assert who.token.last_used_at == first


@pytest.mark.parametrize(
    "make, detail",
    [
        (lambda caller: caller("owner", revoked=True), "was revoked on"),
        (lambda caller: caller("owner", expires_in=timedelta(seconds=-1)), "expired on"),
        (lambda caller: Caller(None, None, "wkd_" + "x" * 43), "not known"),
        (lambda caller: Caller(None, None, ""), "Authentication credentials were not provided."),
    ],
    ids=["revoked", "expired", "unknown", "none"],
)
def test_refused_tokens_answer_401_with_a_bearer_challenge(make, detail, caller, wapikit, upstream_calls):
    who = make(caller)
    upstream_calls.clear()
    answer = who.get("/api/v1/conversations")
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="api"'
    assert detail in problem_of(answer)["detail"]
    assert upstream_calls == []


def test_a_malformed_authorization_header_is_refused(wapikit):
    answer = Client().get("/api/v1/members", HTTP_AUTHORIZATION="Bearer two words")
    assert answer.status_code == 401
    assert "Bearer <token>" in problem_of(answer)["detail"]


def test_the_tokens_page_shows_a_new_secret_once_lists_and_revokes(login_as, wapikit):
    client = login_as("owner")
    created = client.post("/tokens/new/", {"name": "nightly closer", "scopes": ["read", "close"], "expires": "7d"})
    assert created.status_code == 201
    secret = TOKEN_RE.search(created.content.decode())[0]
    token = ApiToken.objects.get()
    assert token.secret_hash == hash_secret(secret)

    page = client.get("/tokens/").content.decode()
    assert secret not in page  # shown once
    assert "nightly closer" in page and "read, close" in page and token.hint in page
    assert Caller(token.user, token, secret).get("/api/v1/members").status_code == 200

    revoked = client.post(f"/tokens/{token.pk}/revoke/")
    assert revoked.status_code == 302
    assert "revoked" in client.get("/tokens/").content.decode()
    assert Caller(token.user, token, secret).get("/api/v1/members").status_code == 401


def test_the_tokens_page_refuses_a_token_without_scopes_and_another_user_s_revocation(login_as, caller, wapikit):
    other = caller("manager")
    client = login_as("owner")
    answer = client.post("/tokens/new/", {"name": "x", "expires": "7d"})
    assert answer.status_code == 400
    assert "Choose at least one scope." in answer.content.decode()
    assert client.post(f"/tokens/{other.token.pk}/revoke/").status_code == 404
    other.token.refresh_from_db()
    assert other.token.active


def test_a_session_s_unsafe_api_call_needs_its_csrf_token(make_user, wapikit, upstream_calls):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_user("owner"))
    assert strict.get("/api/v1/members").status_code == 200  # reads need no token
    upstream_calls.clear()
    answer = strict.post(
        "/api/v1/conversations/00000000-0000-0000-0000-000000000000/status", {"status": "Closed"},
        content_type="application/json",
    )
    assert answer.status_code == 403
    assert "CSRF" in problem_of(answer)["detail"]
    assert upstream_calls == []
