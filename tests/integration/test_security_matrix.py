"""Every state-changing route × every way to reach it without the right to: no login, no CSRF
token, no WapiKit permission, a conversation id that is not a UUID or tries to walk the
upstream path. Each cell asserts the status and that NOT ONE request went to WapiKit.

The routes come from `dashboard.urls.urlpatterns`, so a new POST route cannot be added
without this module noticing: every route outside the matrix must answer 405 to a POST.
Also: the Content-Security-Policy header and no inline script / event-handler attributes.

The number of cases run is printed and written to `var/security-counts.txt`."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import URLPattern, reverse
from django.urls.converters import IntConverter

from dashboard import urls as dashboard_urls
from tests.conftest import ROOT
from tests.integration.conftest import first_conversation, member_ids

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

LOGIN = "/accounts/login/"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/?status=all"}
COUNTS_FILE = ROOT / "var" / "security-counts.txt"

# --- The routes, from the URLconf -------------------------------------------------------------

CONVERSATION_ACTIONS = {"close", "reopen", "delete", "assign", "unassign"}
# The Tokens page's forms (dashboard/api/pages.py): they touch no upstream, but create and revoke
# the user's API tokens, so they get the same no-login, no-CSRF and wrong-method cells.
TOKEN_FORMS = {"token_new", "token_revoke"}
# The profile page's forms (dashboard/accounts/views.py): the user's own time zone and layout.
PROFILE_FORMS = {"account_time_zone", "account_inbox_layout"}
# The team's settings (dashboard/inbox/views/targets.py, routing.py): no upstream write, and
# only for Owners and staff, so they get the forbidden cells too.
SETTINGS_FORMS = {"response_targets_save", "routing_rule_new", "routing_rule_save", "routing_rule_delete", "routing_pause"}
SETTINGS_FORBIDDEN = ["manager", "agent", "closer"]
# An action's Undo (dashboard/inbox/views/undo.py): only for the user who acted, whose own entry
# it names; its permission is the reversed action's, checked as that action's is.
UNDO_FORMS = {"undo"}
EXPECTED_STATE_CHANGING = (
    CONVERSATION_ACTIONS | TOKEN_FORMS | PROFILE_FORMS | SETTINGS_FORMS | UNDO_FORMS | {"logout", "bulk"}
)
HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}


def _patterns() -> list[URLPattern]:
    return [p for p in dashboard_urls.urlpatterns if isinstance(p, URLPattern)]


def accepted_methods(callback) -> set[str]:
    """What a view answers, read from the view itself: a class-based view's handlers, a DRF
    view's allowed methods, or the list a `require_http_methods` decorator closes over.
    A plain function view without such a decorator answers every method."""
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is not None:
        return {m.upper() for m in view_class.http_method_names if hasattr(view_class, m)} - {"OPTIONS"}
    function = callback
    while function is not None:
        for cell in function.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, (list, tuple, set)) and value and set(value) <= HTTP_METHODS:
                return set(value)
        function = getattr(function, "__wrapped__", None)
    return set(HTTP_METHODS)


# The open POSTs: sign-in (throttled and CSRF-checked; see test_signin_throttle.py), and the
# events listener's hand-over, refused without its signature (tested below).
OPEN_POSTS = {"login", "live_ingest"}


def _is_state_changing(pattern: URLPattern) -> bool:
    return pattern.name not in OPEN_POSTS and bool(accepted_methods(pattern.callback) - {"GET", "HEAD"})


STATE_CHANGING = sorted(p.name for p in _patterns() if _is_state_changing(p))


def route_url(name: str, conversation_id: str | None) -> str:
    if name in CONVERSATION_ACTIONS | UNDO_FORMS:
        return f"/conversations/{conversation_id or DUMMY_ID}/{name}/"
    if name in ("token_revoke", "routing_rule_save", "routing_rule_delete"):
        return reverse(name, args=[1])
    return reverse(name)


# --- Who may not do what (WapiKit roles of the seeded members) --------------------------------

FORBIDDEN = {
    "close": ["agent"],
    "reopen": ["agent"],
    "assign": ["agent", "closer"],
    "unassign": ["agent", "closer"],
    "delete": ["agent", "closer", "manager"],
}
BULK_ACTIONS = ["close", "reopen", "assign", "unassign"]

BAD_IDS = {
    "not-a-uuid": "not-a-uuid",
    "dotdot": "..",
    "encoded-traversal": "%2e%2e%2forganization%2fmembers",
    "g-in-uuid": "00000000-0000-0000-0000-00000000000g",
    "sql": "1;DROP TABLE",
    "300-chars": "a" * 300,
}


@dataclass(frozen=True)
class Case:
    route: str
    kind: str  # anonymous | anonymous-htmx | no-csrf | wrong-method | forbidden | bad-id | bad-id-nojs
    who: str = ""
    bad_id: str = ""
    encoded: bool = False
    action: str = ""  # for bulk: the action the bulk form asks for
    all_matching: bool = False  # for bulk: "all conversations matching the filter" instead of ids

    @property
    def id(self) -> str:
        parts = [self.route, self.action, self.kind, self.who, self.bad_id, "all" if self.all_matching else ""]
        if self.encoded:
            parts.append("encoded")
        return "-".join(p for p in parts if p)


def build_cases() -> list:
    cases = []
    for route in STATE_CHANGING:
        cases += [Case(route, "anonymous"), Case(route, "anonymous-htmx"), Case(route, "no-csrf")]
        cases.append(Case(route, "wrong-method"))
        if route in SETTINGS_FORMS:
            cases += [Case(route, "forbidden", who=who) for who in SETTINGS_FORBIDDEN]
        if route in CONVERSATION_ACTIONS:
            for who in FORBIDDEN[route]:
                cases.append(Case(route, "forbidden", who=who))
            for label in BAD_IDS:
                for encoded in (False, True):
                    cases.append(Case(route, "bad-id", bad_id=label, encoded=encoded))
                    cases.append(Case(route, "bad-id-nojs", bad_id=label, encoded=encoded))
        if route == "bulk":
            for action in BULK_ACTIONS:
                for who in FORBIDDEN[action]:
                    cases.append(Case(route, "forbidden", who=who, action=action))
                    cases.append(Case(route, "forbidden", who=who, action=action, all_matching=True))
            cases.append(Case(route, "bad-action", action="delete"))
            for label in BAD_IDS:
                cases.append(Case(route, "bad-id", bad_id=label, action="close"))
                cases.append(Case(route, "bad-id-nojs", bad_id=label, action="close"))
    # Sign-in is open to everyone, but not to cross-site posts.
    cases.append(Case("login", "no-csrf"))
    params = []
    for case in cases:
        case, marks = case if isinstance(case, tuple) else (case, ())
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


CASES = build_cases()
_ran: list[str] = []


def _write_count(prefix: str, value: int) -> None:
    """Keep one `prefix: value` line in the shared counts file, leaving other lines alone."""
    COUNTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    lines = COUNTS_FILE.read_text().splitlines() if COUNTS_FILE.exists() else []
    lines = [line for line in lines if not line.startswith(prefix + ":")]
    lines.append(f"{prefix}: {value}")
    COUNTS_FILE.write_text("\n".join(lines) + "\n")


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Hundreds of users are made here: hash their passwords cheaply."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module", autouse=True)
def report_count(request):
    yield
    if not _ran:
        return
    message = f"SECURITY MATRIX CASES: {len(_ran)}"
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n{message}")
    _write_count("SECURITY MATRIX CASES", len(_ran))


# --- The URLconf ----------------------------------------------------------------------------


def test_state_changing_routes_are_found_in_the_urlconf():
    assert set(STATE_CHANGING) == EXPECTED_STATE_CHANGING


def test_every_route_is_named():
    assert all(p.name for p in _patterns()), "every route needs a name"


def test_the_only_included_urlconf_is_the_api_with_its_own_matrix():
    """The JSON API (under /api/v1/) authenticates with tokens, not sessions and forms: its
    routes are not this module's. tests/api/test_matrix.py enumerates dashboard.api.urls the
    same way and runs every route × (no token, expired, revoked, missing scope, missing WapiKit
    permission, allowed), each refusal asserting that nothing reached WapiKit."""
    included = [p for p in dashboard_urls.urlpatterns if not isinstance(p, URLPattern)]
    assert [(str(p.pattern), p.urlconf_module.__name__) for p in included] == [("api/v1/", "dashboard.api.urls")]


# Every other route (read-only pages, found in the URLconf too) must refuse a POST outright;
# a route that starts accepting one belongs in the matrix above. Sign-in is the exception:
# its POST is throttled and CSRF-checked (test_signin_throttle.py, and a cell below).
OTHER_ROUTES = sorted(p.name for p in _patterns() if p.name not in STATE_CHANGING and p.name not in OPEN_POSTS)
DUMMY_ID = "00000000-0000-0000-0000-000000000000"


def _reverse_any(pattern: URLPattern) -> str:
    converters = pattern.pattern.converters
    return reverse(pattern.name, kwargs={
        name: 1 if isinstance(converter, IntConverter) else DUMMY_ID for name, converter in converters.items()
    })


@pytest.mark.parametrize("headers", [{}, HTMX, {"HTTP_X_LIVE_SIGNATURE": "0" * 64}], ids=["plain", "htmx", "forged"])
def test_the_listener_s_hand_over_refuses_anyone_without_its_signature(headers, wapikit, upstream_calls):
    body = b'{"kind":"event","type":"AssignmentChanged","body":{"conversation_id":"%s","assigned":true}}' % (
        first_conversation(wapikit, "Active")["uniqueId"].encode()
    )
    upstream_calls.clear()

    answer = Client().post(reverse("live_ingest"), body, content_type="application/json", **headers)

    assert answer.status_code == 403
    assert upstream_calls == []


@pytest.mark.parametrize("name", OTHER_ROUTES)
def test_every_other_route_refuses_post(name, login_as, wapikit, upstream_calls):
    pattern = next(p for p in _patterns() if p.name == name)
    client = login_as("owner")
    _warm(client, upstream_calls)
    response = client.post(_reverse_any(pattern), {}, **HTMX)
    assert response.status_code == 405, f"{name} accepts POST: add it to the security matrix"
    assert upstream_calls == []


# --- The matrix -------------------------------------------------------------------------------


def _form(sandbox, case: Case, conversation: dict | None) -> dict:
    data = {"next": "/?status=all"}
    if case.route in CONVERSATION_ACTIONS:
        data.update(seen=f"{conversation['status']}:", confirmed="yes")
        if case.route in ("assign", "unassign"):
            data["member_id"] = member_ids(sandbox)["agent@example.com"]
    elif case.route == "bulk":
        cid = BAD_IDS[case.bad_id] if case.bad_id else conversation["uniqueId"]
        data.update(action=case.action or "close", ids=cid, seen=f"{cid}:{conversation['status']}:")
        if case.all_matching:
            data.update(ids=[], seen=[], all="yes", status="active")
        if case.action in ("assign", "unassign"):
            data["member_id"] = member_ids(sandbox)["agent@example.com"]
    return data


def _warm(client: Client, upstream_calls: list) -> None:
    """One inbox GET fills the member cache; then only the case's own traffic counts."""
    assert client.get("/").status_code == 200
    upstream_calls.clear()


@pytest.mark.parametrize("case", CASES)
def test_matrix(case: Case, client, make_user, wapikit, upstream_calls):
    _ran.append(case.id)
    conversation = first_conversation(wapikit) if case.route in CONVERSATION_ACTIONS | {"bulk"} else None
    data = _form(wapikit, case, conversation)
    url = route_url(case.route, conversation["uniqueId"] if conversation else None)
    upstream_calls.clear()

    if case.kind == "anonymous":
        response = client.post(url, data)
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)

    elif case.kind == "anonymous-htmx":
        response = client.post(url, data, **HTMX)
        assert response.status_code == 200
        assert response["HX-Redirect"].startswith(LOGIN)
        assert response.content.strip() == b""

    elif case.kind == "no-csrf":
        strict = Client(enforce_csrf_checks=True)
        if case.route != "login":
            strict.force_login(make_user("owner"))
            _warm(strict, upstream_calls)
            response = strict.post(url, data)
        else:
            strict.get(url)  # the form sets the CSRF cookie; the post leaves the token out
            response = strict.post(url, {"username": "owner@example.com", "password": "whatever"})
        assert response.status_code == 403
        if case.route == "logout":
            assert "_auth_user_id" in strict.session, "a refused logout must not end the session"

    elif case.kind == "wrong-method":
        client.force_login(make_user("owner"))
        _warm(client, upstream_calls)
        response = client.get(url)
        assert response.status_code == 405

    elif case.kind == "forbidden":
        client.force_login(make_user(case.who))
        _warm(client, upstream_calls)
        response = client.post(url, data, **HTMX)
        assert response.status_code == 403
        if case.route in SETTINGS_FORMS:
            assert "Only WapiKit owners and dashboard staff may" in response.content.decode()
        else:
            assert "does not allow" in response.content.decode()

    elif case.kind == "bad-action":
        client.force_login(make_user("owner"))
        _warm(client, upstream_calls)
        response = client.post(url, data, **HTMX)
        assert response.status_code == 400

    elif case.kind in ("bad-id", "bad-id-nojs"):
        client.force_login(make_user("owner"))
        _warm(client, upstream_calls)
        raw = BAD_IDS[case.bad_id]
        if case.route == "bulk":
            bad_url = url  # the ids travel in the form
        else:
            bad_url = f"/conversations/{quote(raw, safe='') if case.encoded else raw}/{case.route}/"
        extra = HTMX if case.kind == "bad-id" else {}
        response = client.post(bad_url, data, **extra)
        if case.kind == "bad-id" or case.route == "bulk":
            assert response.status_code in (400, 404), response.status_code
        else:
            # Without htmx a refused action answers a page saying why (or sends the browser back
            # to `next` with a flash message).
            assert response.status_code in (302, 400, 404), response.status_code
            if response.status_code == 302:
                assert response["Location"] == "/?status=all"
        assert not 200 <= response.status_code < 300
        assert response.status_code < 500

    else:  # pragma: no cover
        raise AssertionError(case.kind)

    assert upstream_calls == [], f"{case.id} reached WapiKit: {upstream_calls}"


@pytest.mark.parametrize("who, action", [(w, a) for a in BULK_ACTIONS for w in FORBIDDEN[a]])
def test_a_forbidden_bulk_action_changes_nothing_and_records_no_success(
    who, action, client, make_user, wapikit, upstream_calls
):
    from dashboard.conversations.models import AuditEntry

    conversation = first_conversation(wapikit, assigned=True)
    client.force_login(make_user(who))
    _warm(client, upstream_calls)
    case = Case("bulk", "forbidden", who=who, action=action)
    response = client.post("/bulk/", _form(wapikit, case, conversation), **HTMX)
    assert response.status_code == 403
    assert upstream_calls == []
    assert set(AuditEntry.objects.values_list("outcome", flat=True)) <= {"denied"}
    after = wapikit.get(f"/conversation/{conversation['uniqueId']}")["conversation"]
    assert (after["status"], after["assignedTo"]["uniqueId"]) == (
        conversation["status"], conversation["assignedTo"]["uniqueId"]
    )


# --- Content-Security-Policy and inline code ------------------------------------------------


class _Scan(HTMLParser):
    """Collects inline scripts, event-handler attributes and javascript: URLs of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script: dict | None = None
        self._script_body = ""
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.problems.append(f"<{tag} {name}=...> event-handler attribute")
            if name.lower() in ("href", "src", "action", "formaction") and value and value.strip().lower().startswith(
                ("javascript:", "data:text/html", "vbscript:")
            ):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name.lower() == "style":
                self.problems.append(f"<{tag} style=...> inline style (blocked by style-src 'self')")
        if tag == "script":
            self.scripts += 1
            self._in_script = dict(attrs)
            self._script_body = ""
            if not self._in_script.get("src"):
                self.problems.append("<script> without src")
        if tag == "style":
            self.problems.append("<style> block")

    def handle_data(self, data):
        if self._in_script is not None:
            self._script_body += data

    def handle_endtag(self, tag):
        if tag == "script" and self._in_script is not None:
            if self._script_body.strip():
                self.problems.append(f"inline script body: {self._script_body.strip()[:60]!r}")
            self._in_script = None


def scan(html: str) -> _Scan:
    parser = _Scan()
    parser.feed(html)
    parser.close()
    return parser


def csp_directives(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, "no Content-Security-Policy header"
    directives = {}
    for part in header.split(";"):
        tokens = part.split()
        if tokens:
            directives[tokens[0].lower()] = [t.lower() for t in tokens[1:]]
    return directives


def test_inbox_csp_forbids_inline_and_eval_scripts(login_as, wapikit):
    response = login_as("owner").get("/")
    assert response.status_code == 200
    directives = csp_directives(response)
    script_src = directives.get("script-src", directives.get("default-src"))
    assert script_src, "neither script-src nor default-src"
    for forbidden in ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:", "http:", "https:"):
        assert forbidden not in script_src, f"script-src allows {forbidden}"
    assert directives.get("object-src") == ["'none'"]
    assert directives.get("base-uri") == ["'none'"]
    assert directives.get("frame-ancestors") == ["'none'"]


@pytest.mark.parametrize(
    "page", ["inbox", "inbox-all", "conversation", "reassign", "reassign-htmx", "audit", "targets", "login", "reports",
             "report-list"]
)
def test_pages_have_no_inline_script_nor_event_handlers(page, client, make_user, wapikit):
    if page != "login":
        client.force_login(make_user("owner"))
    conversation = first_conversation(wapikit, assigned=True)
    cid = conversation["uniqueId"]
    url, extra = {
        "inbox": ("/", {}),
        "inbox-all": ("/?status=all&per_page=50", {}),
        "conversation": (f"/conversations/{cid}/", {}),
        "reassign": (f"/conversations/{cid}/assign/", {}),
        "reassign-htmx": (f"/conversations/{cid}/assign/", HTMX),
        "audit": ("/audit/", {}),
        "targets": ("/settings/targets/", {}),
        "login": (LOGIN, {}),
        "reports": ("/reports/", {}),
        "report-list": ("/reports/conversations/?since=2026-11-23&until=2026-11-25&by=day&figure=closed", {}),
    }[page]
    if page.startswith("reassign"):  # the card's Reassign button: assign, nobody chosen yet
        response = client.post(url, {"seen": "Active:"}, **extra)
    else:
        response = client.get(url, **extra)
    assert response.status_code == 200
    if not extra:
        csp_directives(response)  # every full page carries the policy
    body = response.content.decode()
    found = scan(body)
    assert found.problems == []
    if not extra:
        assert found.scripts >= 1, "the page should load its scripts from files"


# --- The reports (GET only: every other method answers 405, above) ---------------------------

REPORT_PAGES = {
    "reports": "/reports/?since=2026-11-23&until=2026-11-25&by=day",
    "report_list": "/reports/conversations/?since=2026-11-23&until=2026-11-25&by=day&figure=closed",
    "report_csv": "/reports/?since=2026-11-23&until=2026-11-25&by=day&format=csv&table=conversations",
    "report_backlog": "/reports/backlog/?since=2026-11-23&until=2026-11-25&by=day&snapshot=1&series=active",
}


@pytest.mark.parametrize("page", sorted(REPORT_PAGES))
def test_report_pages_send_the_signed_out_to_sign_in_without_an_upstream_call(page, client, wapikit, upstream_calls):
    response = client.get(REPORT_PAGES[page])
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert upstream_calls == []


@pytest.mark.parametrize("figure", ["closed", "first_responses", "windows_lost"])
def test_a_member_without_assign_may_not_list_the_team_s_nor_another_member_s_conversations(
    figure, login_as, wapikit, upstream_calls
):
    client = login_as("agent")
    _warm(client, upstream_calls)
    manager = member_ids(wapikit)["manager@example.com"]
    base = f"/reports/conversations/?since=2026-11-23&until=2026-11-25&by=day&figure={figure}"
    for url in (base, f"{base}&member={manager}", f"{base}&role=Manager"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "only your own row" in response.content.decode()
    for table in ("figures", "members_of_the_team", "roles", "backlog", figure):
        assert client.get(f"/reports/?format=csv&table={table}").status_code == 400
    assert upstream_calls == []
