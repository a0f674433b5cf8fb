"""The API's OpenAPI schema (drf-spectacular) is valid and describes every route; its docs are
served from our own static files; and schemathesis, on both sandbox profiles (WapiKit's spec, and
its server code), finds no 5xx (but the 502 that reports WapiKit's own 500 on a repeated
assignment) and no error that is not `application/problem+json`:

- every operation on its own, with data the schema allows and data it forbids (wrong types,
  numbers past their bounds, values outside an enum, missing fields), its examples and its
  coverage phase's boundary values, half its conversation ids ones the sandbox has;
- chains of calls that follow the links the schema declares (a listed conversation's id into
  the conversation, its status, assign, unassign and bulk routes; a write's conversation read
  back; a member's id into assign), so paging and actions reach real conversations;
- what no generator reaches: bodies nested 50,000 deep, over the upload limit, not UTF-8, with
  NUL or a lone surrogate; query values with CR/LF, quotes, NUL and out-of-range numbers."""

from __future__ import annotations

import re

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, settings as hypothesis_settings, strategies as st
from hypothesis.errors import Flaky
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import InferenceAlgorithm
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, positive_data_acceptance

from dashboard.api import routes
from dashboard.wsgi import application
from tests.integration.conftest import first_conversation

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# Every operation under /api/v1/, the schema's own route too (schemathesis leaves out the route
# the schema was loaded from unless a filter names it).
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application).include(path_regex="^/api/v1/")
# The WSGI transport hands schemathesis the body as sent, and the dashboard gzips.
schema.config.update(headers={"Accept-Encoding": "identity"})
# The API refuses NUL in any text with a 400 that says so (PostgreSQL cannot store it), which
# OpenAPI 3.0 has no word for: generated valid data leaves it out, the hostile inputs below send it.
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], allow_x00=False)
# Chains follow the links the schema declares (schemathesis' own guesses from field names also
# take audit entries' and bulk requests' ids for conversations, which mostly answer 404).
schema.config.phases.stateful.inference.algorithms = [InferenceAlgorithm.LOCATION_HEADERS]

SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
}


@pytest.fixture(autouse=True)
def connections_kept_across_requests():
    """schemathesis calls the WSGI application itself, whose request signals would close the
    test's database connection, and with it the test's transaction, after every call; Django's
    test client keeps it open the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


class Owner:
    """The secret of the Owner's token with every scope (the database, so the token, is new in each
    test), and conversations the sandbox has."""

    secret = ""
    conversation_ids: list[str] = []


@schema.auth(refresh_interval=None)
class OwnersToken:
    def get(self, case, context):
        return Owner.secret

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """A generated conversation id is one no sandbox has: half the time, one it has instead, so
    paging and actions get past the 404 (an invalid id, a negative case, stays as it is)."""
    generated = (path_parameters or {}).get("conversation_id")
    if not Owner.conversation_ids or not isinstance(generated, str) or not UUID.fullmatch(generated):
        return st.just(path_parameters)
    return st.one_of(
        st.just(path_parameters),
        st.sampled_from(Owner.conversation_ids).map(lambda known: {**path_parameters, "conversation_id": known}),
    )


@schemathesis.check
def errors_are_problems(ctx, response, case):
    """Every refusal and failure is `application/problem+json` (RFC 9457), never an HTML page."""
    if response.status_code >= 400:
        content_type = (response.headers.get("content-type") or [""])[0]
        if content_type.split(";")[0].strip() != "application/problem+json":
            raise AssertionError(f"{response.status_code} answered as {content_type!r}, not application/problem+json")


def no_server_error_but_wapikit_s(ctx, response, case):
    """No 5xx, but one that is WapiKit's own: its server answers 500 when a conversation is
    assigned to a member it was assigned to before (REAL-SERVER.md), which chains of assign calls
    reach; the dashboard reports it as the schema documents, a 502 problem saying WapiKit failed."""
    if response.status_code == 502 and case.operation.path.endswith("/assign"):
        body = response.json() if response.content else {}
        if body.get("kind") == "server_error" and "own internal error (500)" in body.get("detail", ""):
            return True
    return not_a_server_error(ctx, response, case)


ERROR_CHECKS = [not_a_server_error, content_type_conformance, errors_are_problems]


def test_the_schema_is_valid_openapi_and_names_every_route():
    answer = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert answer.status_code == 200
    document = answer.json()
    validate(document)
    # Every route, and the schema's own.
    assert len(document["paths"]) == len({p.pattern for p in routes.urlpatterns}) + 1
    assert "/api/v1/schema/" in document["paths"]
    assert document["components"]["securitySchemes"]["token"] == {
        "type": "http", "scheme": "bearer", "description": "A token from the dashboard's Tokens page."
    }


def test_the_docs_load_swagger_ui_from_our_static_files_under_the_csp():
    page = Client().get("/api/v1/docs/")
    assert page.status_code == 200
    body = page.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', body)
    assert sources and all(s.startswith("/") for s in sources), sources  # no CDN
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in sources
    assert "<style" not in body and re.search(r"<script>", body) is None  # nothing inline for the CSP to block
    script = Client().get("/api/v1/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


@pytest.fixture(params=["spec", "server"])
def profile(request, settings, caller):
    """The dashboard pointed at one sandbox profile, with the Owner's token of every scope."""
    sandbox = request.getfixturevalue("wapikit" if request.param == "spec" else "server_wapikit")
    settings.API_TOKEN_RATE = settings.API_USER_RATE = "100000/min"
    settings.BULK_REQUESTS_PER_MINUTE = 100_000
    Owner.secret = caller("owner").secret
    Owner.conversation_ids = [first_conversation(sandbox, status)["uniqueId"] for status in ("Active", "Closed")]
    yield sandbox
    Owner.secret, Owner.conversation_ids = "", []


# --- Each operation on its own: valid and invalid data ---------------------------------------


def _excluded(case) -> list:
    # Every 5xx is judged by `no_server_error_but_wapikit_s`, in its place.
    if case.operation.path == "/api/v1/conversations/bulk":
        # OpenAPI 3.0 cannot say "member_id is required when action is assign": a bulk assign
        # without one is schema-valid and rightly refused (400). Every other check still runs.
        return [not_a_server_error, positive_data_acceptance]
    return [not_a_server_error]


@schema.parametrize()
@hypothesis_settings(max_examples=25, **SETTINGS)
def test_the_api_keeps_to_its_schema(case, profile):
    case.call_and_validate(
        excluded_checks=_excluded(case), additional_checks=[errors_are_problems, no_server_error_but_wapikit_s]
    )


# --- Chains of linked calls -------------------------------------------------------------------

def test_the_schema_links_each_answer_to_the_routes_that_take_its_ids():
    document = Client().get("/api/v1/schema/?format=json").json()
    operations = {op["operationId"]: op for item in document["paths"].values() for op in item.values()}
    links = operations["conversations_list"]["responses"]["200"]["links"]
    assert links["GetConversation"] == {
        "operationId": "conversations_retrieve", "parameters": {"conversation_id": "$response.body#/conversations/0/id"}
    }
    for name, link in ((n, l) for op in operations.values() for n, l in op["responses"]["200"].get("links", {}).items()):
        assert link["operationId"] in operations, name
    # One rule of the chains per link: they follow what the schema says.
    rules = [name for name in vars(schema.as_state_machine()) if "___" in name]
    assert any(name.startswith("GET_api_v1_conversations___200_GetConversation") for name in rules), rules


def test_chains_of_linked_calls_keep_to_the_schema(profile):
    failures = []

    class Chains(schema.as_state_machine()):
        def validate_response(self, response, case, additional_checks=None, **kwargs):
            try:
                case.validate_response(
                    response, additional_checks=[errors_are_problems, no_server_error_but_wapikit_s],
                    excluded_checks=_excluded(case),
                    transport_kwargs=kwargs,
                )
            except FailureGroup as failure:
                failures.append(failure)
                raise

    # As schemathesis' own runner: generation only (no shrinking, no saved examples), since every
    # replay meets a sandbox that earlier chains changed.
    chains = hypothesis_settings(
        max_examples=30, stateful_step_count=5, phases=[Phase.generate], database=None, **SETTINGS
    )
    try:
        Chains.run(settings=chains)
    except Flaky:
        # A chain replayed on changed data drew differently: that fails the test only when a check
        # failed on the way, as it does for schemathesis' runner.
        if failures:
            raise failures[0] from None
    finally:
        profile.control(reset=True)
        profile.reseed()  # the chains close, delete and assign conversations


# --- What no generator reaches ----------------------------------------------------------------

HOSTILE_BODIES = {
    "arrays nested 50,000 deep": b"[" * 50_000,
    "objects nested 50,000 deep": b'{"a":' * 50_000,
    "over the upload limit": b'{"ids": ["' + b"0" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"]}',
    "not UTF-8": b"\xff\xfe\xfd",
    "NUL in every string": (
        b'{"status": "Closed\\u0000", "seen": "\\u0000", "member_id": "\\u0000", "action": "close\\u0000",'
        b' "ids": ["\\u0000"]}'
    ),
    "a lone surrogate": b'{"status": "\\ud800", "seen": "\\ud800", "member_id": "\\ud800", "ids": ["\\ud800"]}',
    "numbers past every bound": b'{"status": 1e999, "member_id": 1e999, "ids": [1e999], "force": 1e999}',
    "not an object": b'"Closed"',
}
HOSTILE_VALUES = {
    "CR LF and a header": "a\r\nX-Injected: 1",
    "a quote and a filename": 'a";filename=evil.html',
    "NUL": "a\x00b",
    "a number past every bound": "9" * 30,
    "a negative number": "-1",
    "an exponent": "1e999",
    "markup": "<script>alert(1)</script>",
    "10,000 characters": "x" * 10_000,
}
OPERATIONS = {result.ok().label: result.ok() for result in schema.get_all_operations()}
WITH_BODY = [label for label, operation in OPERATIONS.items() if operation.body]
WITH_QUERY = [label for label, operation in OPERATIONS.items() if operation.query]


def _owners_headers() -> dict:
    # A case built by hand gets neither the auth provider's token nor the config's headers.
    return {"Authorization": f"Bearer {Owner.secret}", "Accept-Encoding": "identity"}


def _path_parameters(operation, sandbox) -> dict:
    """A real conversation's id, so a request gets as far as it can."""
    if "{conversation_id}" in operation.path:
        return {"conversation_id": first_conversation(sandbox, "Active")["uniqueId"]}
    return {}


@pytest.mark.parametrize("label", WITH_BODY)
@pytest.mark.parametrize("body", HOSTILE_BODIES, ids=list(HOSTILE_BODIES))
def test_hostile_bodies_are_refused_with_a_problem(label, body, profile):
    operation = OPERATIONS[label]
    case = operation.Case(
        path_parameters=_path_parameters(operation, profile), body=HOSTILE_BODIES[body], media_type="application/json"
    )
    response = case.call_and_validate(headers=_owners_headers(), checks=ERROR_CHECKS)
    assert response.status_code in (400, 413), response.status_code


@pytest.mark.parametrize("label", WITH_QUERY)
@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=list(HOSTILE_VALUES))
def test_hostile_query_values_get_no_5xx_and_reach_no_header(label, value, profile):
    operation = OPERATIONS[label]
    path_parameters = _path_parameters(operation, profile)
    for parameter in operation.query:  # one at a time, so no other parameter's refusal hides it
        case = operation.Case(path_parameters=path_parameters, query={parameter.name: HOSTILE_VALUES[value]})
        response = case.call_and_validate(headers=_owners_headers(), checks=ERROR_CHECKS)
        assert response.status_code != 401
        headers = " ".join(f"{name}: {', '.join(values)}" for name, values in response.headers.items())
        assert "X-Injected" not in headers and "evil" not in headers, headers
