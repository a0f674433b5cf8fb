"""Every API route × (no token, expired, revoked, missing scope, missing WapiKit permission,
allowed). Each cell asserts the status; each refusal that not one request went to WapiKit.

The routes come from `dashboard.api.routes`, so a new endpoint cannot be added without a row
here. The number of cells run is printed and kept in `var/security-counts.txt`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from dashboard.api import routes
from dashboard.conversations import members
from tests.api.conftest import problem_of
from tests.integration.conftest import first_conversation, member_ids, never_assigned_to
from tests.integration.test_security_matrix import _write_count

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CASES = ("no-token", "expired", "revoked", "missing-scope", "missing-permission", "allowed")


@dataclass(frozen=True)
class Route:
    method: str
    scope: str
    forbidden_for: str  # a seeded member whose WapiKit role lacks what the route needs
    allowed_for: str
    writes: bool = False


ROUTES = {
    "api_conversations": Route("GET", "read", "norole", "agent"),
    "api_conversation": Route("GET", "read", "norole", "agent"),
    "api_members": Route("GET", "read", "stranger@example.com", "agent"),  # no member with that email
    "api_audit": Route("GET", "read", "manager", "owner"),
    "api_status": Route("POST", "close", "agent", "manager", writes=True),
    "api_assign": Route("POST", "assign", "closer", "manager", writes=True),
    "api_unassign": Route("POST", "unassign", "closer", "manager", writes=True),
    "api_bulk": Route("POST", "close", "agent", "manager", writes=True),
    "api_routing": Route("GET", "routing", "manager", "owner"),  # an Owner's, or staff's
}
SCOPES = {"read", "close", "delete", "assign", "unassign", "routing"}
_ran: list[str] = []


def test_every_api_route_is_in_the_matrix():
    assert {p.name for p in routes.urlpatterns} == set(ROUTES)


@pytest.fixture(scope="module", autouse=True)
def report_count(request):
    yield
    if _ran:
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print(f"\nAPI MATRIX CASES: {len(_ran)}")
        _write_count("API MATRIX CASES", len(_ran))


def _request(name: str, sandbox) -> tuple[str, dict]:
    """The route's URL and body, for a conversation the allowed call can act on."""
    agent = member_ids(sandbox)["agent@example.com"]
    if name == "api_assign":
        cid = never_assigned_to(sandbox, agent)["uniqueId"]
    elif name == "api_unassign":
        cid = first_conversation(sandbox, "Active", assigned=True)["uniqueId"]
    else:
        cid = first_conversation(sandbox, "Active")["uniqueId"]
    return {
        "api_conversations": ("/api/v1/conversations", {}),
        "api_conversation": (f"/api/v1/conversations/{cid}", {}),
        "api_members": ("/api/v1/members", {}),
        "api_audit": ("/api/v1/audit", {}),
        "api_status": (f"/api/v1/conversations/{cid}/status", {"status": "Closed"}),
        "api_assign": (f"/api/v1/conversations/{cid}/assign", {"member_id": agent}),
        "api_unassign": (f"/api/v1/conversations/{cid}/unassign", {}),
        "api_bulk": ("/api/v1/conversations/bulk", {"action": "close", "ids": [cid]}),
        "api_routing": ("/api/v1/routing", {}),
    }[name]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", list(ROUTES))
def test_matrix(name, case, caller, request, upstream_calls):
    route = ROUTES[name]
    sandbox = request.getfixturevalue("fresh_wapikit" if route.writes and case == "allowed" else "wapikit")
    _ran.append(f"{name}-{case}")
    url, body = _request(name, sandbox)
    other = SCOPES - {route.scope}
    who = {
        "no-token": lambda: caller(route.allowed_for),
        "expired": lambda: caller(route.allowed_for, expires_in=timedelta(seconds=-1)),
        "revoked": lambda: caller(route.allowed_for, revoked=True),
        "missing-scope": lambda: caller(route.allowed_for, scopes=sorted(other)),
        "missing-permission": lambda: caller(route.forbidden_for),
        "allowed": lambda: caller(route.allowed_for, scopes=[route.scope]),
    }[case]()
    if case == "no-token":
        who.secret = ""
    members.members_list()  # warm: only the call's own traffic counts
    upstream_calls.clear()

    answer = who.get(url) if route.method == "GET" else who.post(url, body)

    expected = {"no-token": 401, "expired": 401, "revoked": 401, "missing-scope": 403, "missing-permission": 403,
                "allowed": 200}[case]
    assert answer.status_code == expected, answer.content
    if case == "allowed":
        assert upstream_calls or name in ("api_audit", "api_members", "api_routing")
        return
    problem = problem_of(answer)
    if case == "missing-scope":
        assert problem["kind"] == "missing_scope"
    assert upstream_calls == [], f"{name}-{case} reached WapiKit: {upstream_calls}"
