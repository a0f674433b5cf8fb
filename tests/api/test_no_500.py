"""What the second probe found (issue 17): nothing a caller sends answers a 500, an API error is
never an HTML page, and nothing from a URL reaches a response header."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.api.conftest import problem_of
from tests.integration.conftest import first_conversation

pytestmark = [pytest.mark.django_db]


# The schema's `version`


def test_a_version_with_cr_lf_is_refused_with_a_problem_not_a_500():
    answer = Client(raise_request_exception=False).get("/api/v1/schema/?version=a%0d%0aX-Injected:1")

    assert answer.status_code == 400
    assert "version" in problem_of(answer)["errors"]
    assert "X-Injected" not in answer.headers


def test_a_version_cannot_add_a_filename_to_content_disposition():
    refused = Client().get('/api/v1/schema/?version=a";filename=evil.html')
    assert refused.status_code == 400 and "evil" not in str(refused.headers)

    known = Client().get("/api/v1/schema/?version=1")
    assert known.status_code == 200
    assert known["Content-Disposition"] == 'inline; filename="WapiKit dashboard API.yaml"'


def test_an_empty_version_or_format_is_not_a_value():
    # As elsewhere in the API (`?view=`): the schema promises version 1 or none, json or yaml or none.
    for query in ("version=", "format="):
        answer = Client().get(f"/api/v1/schema/?{query}")

        assert answer.status_code == 400
        assert query.rstrip("=") in problem_of(answer)["errors"]


def test_a_format_the_schema_cannot_write_is_a_problem_in_json():
    answer = Client().get("/api/v1/schema/?format=xml")

    assert answer.status_code == 404
    assert problem_of(answer)["kind"] == "not_found"


# The schema and the docs


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/docs/?script=", "/api/v1/schema/", "/api/v1/schema/?format=json"])
def test_the_docs_and_the_schema_are_kept_by_no_cache(path, client, make_user):
    # The docs' start-up script carries the visitor's CSRF token: no shared cache or browser may keep it.
    client.force_login(make_user("manager"))
    for answer in (Client().get(path), client.get(path)):
        assert answer.status_code == 200
        directives = {d.strip() for d in answer["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= directives, answer["Cache-Control"]


# Bodies no JSON reader should choke on

SOME_ID = "6e67c6e3-2e71-4bf2-921d-cb277f8941a9"


def _post(caller_, path: str, body: bytes):
    client = Client(raise_request_exception=False)
    return client.post(path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {caller_.secret}")


@pytest.mark.parametrize("path", [f"/api/v1/conversations/{SOME_ID}/status", "/api/v1/conversations/bulk",
                                  f"/api/v1/conversations/{SOME_ID}/assign"])
def test_a_read_only_token_has_a_deep_body_refused_unread(caller, path, upstream_calls):
    answer = _post(caller("manager", scopes=["read"]), path, b"[" * 50_000)

    assert answer.status_code == 403
    assert problem_of(answer)["kind"] == "missing_scope"
    assert upstream_calls == []


def test_a_body_nested_too_deeply_is_a_400_problem(caller, upstream_calls):
    answer = _post(caller("manager"), f"/api/v1/conversations/{SOME_ID}/status", b"[" * 50_000)

    assert answer.status_code == 400
    assert "nested too deeply" in problem_of(answer)["detail"]
    assert upstream_calls == []


def test_a_lone_surrogate_in_a_body_is_a_400_problem(caller, upstream_calls):
    answer = _post(caller("manager"), f"/api/v1/conversations/{SOME_ID}/status", b'{"status": "\\ud800"}')

    assert answer.status_code == 400
    assert "lone surrogate" in problem_of(answer)["detail"]
    assert upstream_calls == []


# Message paging: what the schema allows is what the dashboard reads


@pytest.mark.integration
def test_messages_per_page_is_at_most_50_in_the_schema_and_the_answer(caller, wapikit):
    conversation = f"/api/v1/conversations/{first_conversation(wapikit)['uniqueId']}"
    who = caller("owner")
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {who.secret}")

    schema = Client().get("/api/v1/schema/?format=json").json()
    parameters = schema["paths"]["/api/v1/conversations/{conversation_id}"]["get"]["parameters"]
    assert next(p for p in parameters if p["name"] == "per_page")["schema"]["maximum"] == 50

    assert client.get(conversation, {"per_page": 50}).status_code == 200
    for too_many in (51, 200):
        answer = client.get(conversation, {"per_page": too_many})
        assert answer.status_code == 400
        assert "per_page" in problem_of(answer)["errors"]


# NUL and control characters in what reaches the database (PostgreSQL refuses NUL in text)


@pytest.mark.parametrize("name", ["nightly\x00bot", "bell\x07bot", "escape\x1b[31mbot"])
def test_a_token_name_with_a_control_character_is_refused_with_a_sentence(name, login_as):
    client = login_as("manager")
    client.raise_request_exception = False

    page = client.post("/tokens/new/", {"name": name, "scopes": ["read"], "expires": "30d"})

    assert page.status_code == 400
    assert "cannot hold control characters" in page.content.decode()
    assert not client.get("/tokens/").context["tokens"]


@pytest.mark.integration
@pytest.mark.integration
def test_nul_in_an_audit_filter_is_shown_as_the_reason_nothing_was_filtered(login_as, wapikit):
    owner = login_as("owner")
    owner.raise_request_exception = False

    for wanted in ("", "csv"):
        page = owner.get("/audit/", {"user": "a\x00b", "conversation": "c\x00d", "format": wanted})

        assert page.status_code == 400 and page["Content-Type"].startswith("text/html")
        body = page.content.decode()
        assert "The filter was not applied." in body
        assert "User email: Null characters are not allowed." in body


@pytest.mark.integration
def test_nul_in_the_api_s_audit_filters_and_the_sign_in_email_is_a_clear_error(caller, wapikit):
    # Django's and DRF's fields refuse NUL themselves; the sign-in page now says so.
    api = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {caller('owner').secret}")
    answer = api.get("/api/v1/audit", {"user": "a\x00b"})
    assert answer.status_code == 400 and "user" in problem_of(answer)["errors"]

    sign_in = Client(raise_request_exception=False).post(
        "/accounts/login/", {"username": "owner\x00@example.com", "password": "x"}
    )
    assert sign_in.status_code == 200 and "Email: Null characters are not allowed." in sign_in.content.decode()


# A bug, and a body over the upload limit


def test_an_unhandled_exception_under_the_api_is_a_problem_with_no_traceback(caller, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug with a secret in its message")

    monkeypatch.setattr("dashboard.conversations.members.members_list", broken)
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {caller('owner').secret}")

    answer = client.get("/api/v1/members")

    assert answer.status_code == 500
    problem = problem_of(answer)
    assert problem["kind"] == "server_error" and problem["request_id"] == answer["X-Request-ID"]
    body = answer.content.decode()
    assert "RuntimeError" not in body and "Traceback" not in body and "secret" not in body


def test_a_body_over_the_upload_limit_is_a_413_problem(caller, settings, upstream_calls):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048

    answer = _post(caller("owner"), "/api/v1/conversations/bulk", b'{"action": "close", "ids": ["' + b"0" * 3000 + b'"]}')

    assert answer.status_code == 413
    assert "over 2.0 KB" in problem_of(answer)["detail"]
    assert upstream_calls == []


def test_a_form_over_the_upload_limit_is_a_413_page(login_as, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    client = login_as("manager")
    client.raise_request_exception = False

    page = client.post("/tokens/new/", {"name": "x" * 3000, "scopes": ["read"], "expires": "30d"})

    assert page.status_code == 413 and page["Content-Type"].startswith("text/html")
    assert "That request is too large for the dashboard." in page.content.decode()


def test_unknown_api_versions_and_django_s_own_refusals_are_problems_too():
    answer = Client().get("/api/v2/conversations")

    assert answer.status_code == 404
    assert problem_of(answer)["kind"] == "not_found"


# What the schema allows is what the API reads


@pytest.mark.integration
def test_a_version_whose_assignee_is_not_an_id_is_refused_as_the_schema_says(caller, wapikit):
    cid = first_conversation(wapikit, "Active")["uniqueId"]
    not_an_id = "ab-" * 12  # 36 hex digits and dashes, the shape the schema used to allow

    answer = _post(caller("owner"), f"/api/v1/conversations/{cid}/unassign", f'{{"seen": "Active:{not_an_id}"}}'.encode())

    assert answer.status_code == 400
    assert "seen" in problem_of(answer)["errors"]
    schema = Client().get("/api/v1/schema/?format=json").json()
    pattern = schema["components"]["schemas"]["UnassignInputRequest"]["properties"]["seen"]["pattern"]
    assert re.match(pattern, f"Active:{not_an_id}") is None
