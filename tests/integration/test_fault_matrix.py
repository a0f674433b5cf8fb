"""Every way WapiKit can fail, on every surface a manager uses: the inbox, the conversation
page, and one action (close) with and without htmx.

Each cell asserts that the dashboard never answers 500 nor shows a traceback, that the user
reads the sentence written for that failure, and, for the action, that the card keeps its
state (the answer retargets the card's alert area), that WapiKit's conversation is unchanged,
and that the attempt is audited as failed with its error kind.

The module writes what the user saw in each cell to `var/fault-matrix.md`."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from dashboard.conversations.models import AuditEntry
from dashboard.wapikit import get_client
from devtools.benchmarks.benchkit import blackhole_port
from tests.conftest import ROOT, free_port
from tests.integration.conftest import body_of, first_conversation

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HTMX = {"HX-Request": "true"}
MATRIX_FILE = ROOT / "var" / "fault-matrix.md"

# Upstream paths an action's read hits, but the inbox's list ("/api/conversations") does not.
SINGLE_CONVERSATION = "/conversation/"


@dataclass(frozen=True)
class Failure:
    name: str
    expected: str  # part of the sentence the user must read
    status: int  # what the dashboard answers (inbox, page, htmx action)
    error_kind: str  # AuditEntry.error_kind of the failed action
    fault: str | None = None  # a sandbox fault, or None for a transport failure set up here
    transport: str | None = None  # "refused" | "blackhole"
    timeout: str = "1,1"  # WAPIKIT_TIMEOUT (connect,read)
    control: dict = field(default_factory=dict)  # more sandbox fault knobs


FAILURES = [
    Failure("connection refused", "WapiKit is unreachable", 502, "unreachable", transport="refused"),
    Failure(
        "connect timeout", "WapiKit did not answer in time", 504, "timed_out",
        transport="blackhole", timeout="0.5,0.5",
    ),
    Failure(
        "read timeout", "WapiKit did not answer in time", 504, "timed_out",
        fault="hang", timeout="1,0.5", control={"fault_seconds": 2},
    ),
    Failure("500", "WapiKit had an internal error (500)", 502, "server_error", fault="status_500"),
    Failure("502", "WapiKit had an internal error (502)", 502, "server_error", fault="status_502"),
    Failure(
        "503 + Retry-After 30", "WapiKit is temporarily unavailable. Try again in 30 seconds", 503,
        "server_error", fault="status_503", control={"retry_after": 30},
    ),
    Failure(
        "429 + reset 30", "WapiKit is rate-limiting requests. Try again in 30 seconds", 429,
        "rate_limited", fault="status_429", control={"retry_after": 30},
    ),
    Failure("401", "WapiKit refused the dashboard's API key", 502, "unauthorized", fault="status_401"),
    Failure("404", "WapiKit has no such conversation", 404, "not_found", fault="status_404"),
    Failure("not_json", "WapiKit answered with something the dashboard could not read", 502, "bad_response",
            fault="not_json"),
    Failure("wrong_shape", "WapiKit answered with something the dashboard could not read", 502, "bad_response",
            fault="wrong_shape"),
    # Headers at once, then one byte every 0.4 s: more than the 0.3 s read timeout between bytes.
    Failure(
        "slow_body", "WapiKit did not answer in time", 504, "timed_out",
        fault="slow_body", timeout="1,0.3", control={"fault_seconds": 4},
    ),
]

# A bulk report lists each failure as `<li><strong>name</strong>: <message></li>`.
BULK_FAILURE_RE = re.compile(
    r'<ul class="failures">\s*<li>\s*<strong>.*?</strong>:\s+(?:<bdi>)?(.*?)(?:</bdi>)?\s*</li>', re.S
)

SURFACES = ["inbox", "conversation page", "action (htmx)", "action (no JS)", "bulk (htmx)"]


def failure_params() -> list:
    return [pytest.param(f, id=f.name.split(" +")[0].replace(" ", "_")) for f in FAILURES]


# The matrix, written when the module is done


@pytest.fixture(scope="module")
def matrix() -> Iterator[dict[tuple[str, str], str]]:
    cells: dict[tuple[str, str], str] = {}
    yield cells
    MATRIX_FILE.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Fault matrix",
        "",
        "What the user saw when WapiKit failed: `status code · first 60 characters of the message`.",
        "For the action without JS the status is the redirect; the message is the flash on the page it leads to.",
        "",
        "| failure | " + " | ".join(SURFACES) + " |",
        "|---|" + "---|" * len(SURFACES),
    ]
    for failure in FAILURES:
        row = [cells.get((failure.name, surface), "not run").replace("|", "\\|") for surface in SURFACES]
        lines.append(f"| {failure.name} | " + " | ".join(row) + " |")
    MATRIX_FILE.write_text("\n".join(lines) + "\n")


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:
    """Test users need no slow password hash: this module makes many."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module", autouse=True)
def sandbox_reset_at_end(sandbox) -> Iterator[None]:
    yield
    sandbox.control(reset=True)


# A loopback address where a TCP connect hangs


@pytest.fixture(scope="module")
def blackhole() -> Iterator[int]:
    """A loopback port where connecting hangs (the bench measures the same way)."""
    with blackhole_port() as port:
        if port is None:
            pytest.skip("this kernel completes loopback connects past a full backlog: no connect timeout to test")
        yield port


# Helpers


@contextlib.contextmanager
def failing(failure: Failure, *, sandbox, settings, request, fault_path: str) -> Iterator[None]:
    """WapiKit failing that way until the block ends; the sandbox is reset whatever happens."""
    try:
        if failure.transport == "refused":
            settings.WAPIKIT_BASE_URL = f"http://127.0.0.1:{free_port()}/api"
            get_client.cache_clear()
        elif failure.transport == "blackhole":
            port = request.getfixturevalue("blackhole")
            settings.WAPIKIT_BASE_URL = f"http://127.0.0.1:{port}/api"
            get_client.cache_clear()
        else:
            sandbox.control(fault=failure.fault, fault_path=fault_path, **failure.control)
        yield
    finally:
        sandbox.control(reset=True, latency_ms=0)
        settings.WAPIKIT_BASE_URL = sandbox.base_url
        get_client.cache_clear()


BANNER_RE = re.compile(r'<div class="banner banner-error" role="alert">\s*<strong>[^<]*</strong>\s+(.*?)\s+<a ', re.S)
ALERT_RE = re.compile(r'<p class="alert-error" role="alert">(.*?)</p>', re.S)
FLASH_RE = re.compile(r'<li class="flash-error">(.*?)</li>', re.S)


def seen_message(pattern: re.Pattern, body: str) -> str:
    match = pattern.search(body)
    text = match.group(1) if match else re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()
    return html.unescape(text)


def snapshot(sandbox, cid: str) -> tuple[str, str | None]:
    conversation = sandbox.get(f"/conversation/{cid}")["conversation"]
    assignee = conversation.get("assignedTo") or {}
    return conversation["status"], assignee.get("uniqueId")


def assert_no_crash(response) -> str:
    assert response.status_code != 500
    assert response.status_code < 500 or response.status_code in (502, 503, 504)
    body = body_of(response)
    assert "Traceback" not in body
    assert "requests.exceptions" not in body
    assert "127.0.0.1" not in body
    return body


def expected_calls(surface: str, cid: str) -> list[tuple[str, str]]:
    """The upstream calls a surface makes while WapiKit fails, members being cached: each once."""
    one = ("GET", f"/conversation/{cid}")
    inbox = ("GET", "/conversations")
    calls = {
        "inbox": [inbox],
        "conversation page": [one, ("GET", f"/conversation/{cid}/messages")],
        "action (htmx)": [one],
        "action (no JS)": [one, inbox],  # the read, then the inbox it redirects to
        "bulk (htmx)": [inbox] * 3 + [one],  # the first page of each status's scan, then its own GET
    }[surface]
    return sorted(calls)


# The matrix


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("failure", failure_params())
def test_fault_cell(
    failure: Failure, surface: str, request, wapikit, settings, login_as, matrix, upstream_calls
):
    settings.WAPIKIT_GET_RETRIES = 0
    settings.WAPIKIT_BREAKER_THRESHOLD = 1000
    # The server's unordered lists are read through the scan: not kept, as lists are not here,
    # so that the fault meets the inbox's read.
    settings.WAPIKIT_SCAN_CACHE_SECONDS = 0
    settings.WAPIKIT_TIMEOUT = failure.timeout
    get_client.cache_clear()
    if failure.transport == "blackhole":
        request.getfixturevalue("blackhole")  # skips here, before any state, if connects do not hang

    conversation = first_conversation(wapikit, "Active")
    cid = conversation["uniqueId"]
    assignee = (conversation.get("assignedTo") or {}).get("uniqueId", "")
    client = login_as("manager")
    assert client.get("/").status_code == 200  # warms the member list: the fault hits conversation calls
    before = snapshot(wapikit, cid)
    form = {"next": "/", "seen": f"Active:{assignee}"}

    action = surface.startswith("action")
    bulk = surface.startswith("bulk")
    if action or bulk:
        client.raise_request_exception = False  # a crash is recorded as the 500 the user would get
    following = None
    calls_before = len(upstream_calls)
    with failing(failure, sandbox=wapikit, settings=settings, request=request,
                 fault_path=SINGLE_CONVERSATION if action else ""):
        if surface == "inbox":
            response = client.get("/")
        elif surface == "conversation page":
            response = client.get(f"/conversations/{cid}/")
        elif surface == "action (htmx)":
            response = client.post(f"/conversations/{cid}/close/", form, headers=HTMX)
        elif bulk:
            response = client.post(
                "/bulk/", {"action": "close", "ids": f"{cid}:Active:{assignee}", "next": "/"}, headers=HTMX
            )
        else:
            response = client.post(f"/conversations/{cid}/close/", form)
            if response.status_code == 302:
                following = client.get(response["Location"])
    sent = sorted((c.method, c.path) for c in upstream_calls[calls_before:])

    body = body_of(response)
    if surface in ("inbox", "conversation page"):
        message = seen_message(BANNER_RE, body)
    elif surface == "action (htmx)":
        message = seen_message(ALERT_RE, body)
    elif bulk:
        message = seen_message(BULK_FAILURE_RE, body)
    else:
        message = seen_message(FLASH_RE, body_of(following) if following is not None else body)
    matrix[(failure.name, surface)] = f"{response.status_code} · {message[:60]}"

    assert_no_crash(response)
    if following is not None:
        assert_no_crash(following)

    # Failing fast: each upstream call the surface needs was sent once, none retried and none
    # added, so the user waits at most one timeout per call. (The time is a `make bench` figure.)
    expected = expected_calls(surface, cid)
    if failure.fault == "status_429" and bulk:
        # The three scans start together; once one of them is answered 429, the dashboard
        # holds that route off until the reset (dashboard/wapikit/budget.py), so the scans not
        # yet sent are never sent.
        lists = [call for call in sent if call == ("GET", "/conversations")]
        assert 1 <= len(lists) <= 3, f"{surface} under {failure.name}"
        assert [call for call in sent if call not in lists] == [c for c in expected if c[1] != "/conversations"]
    elif surface == "action (no JS)" and wapikit.profile == "server":
        # The inbox it redirects to reads the server's unordered lists through the scan: its
        # pages, where WapiKit still answers them (the fault is on the conversation's own path).
        lists = [call for call in sent if call == ("GET", "/conversations")]
        assert lists, f"{surface} under {failure.name}"
        assert [call for call in sent if call not in lists] == [c for c in expected if c[1] != "/conversations"]
    else:
        assert sent == expected, f"{surface} under {failure.name}"
    assert failure.expected in message
    if surface == "action (no JS)":
        assert response.status_code == 302
        assert response["Location"] == "/"
    elif bulk:
        # The bulk answer is the report: it accounts for the conversation as failed.
        assert response.status_code == 200
        assert "0 succeeded, 0 skipped, 1 failed" in " ".join(body.split())
        assert "Retry the 1 failed" in body
    else:
        assert response.status_code == failure.status
    if surface == "inbox":
        assert "Conversations could not be loaded." in body
        assert "<article" not in body
    if surface == "conversation page":
        assert "This conversation could not be loaded." in body
        assert "<article" not in body

    if action or bulk:
        if surface == "action (htmx)":
            # Only the alert is swapped, into the card: the card keeps the state it showed.
            assert response["HX-Retarget"] == f"#c-{cid} .alert"
            assert response["HX-Reswap"] == "innerHTML show:none"  # an answer never scrolls the page
            assert body.lstrip().startswith('<p class="alert-error" role="alert">')
            assert "<article" not in body and "<html" not in body
        assert snapshot(wapikit, cid) == before  # the sandbox was reset when `failing` ended
        entries = list(AuditEntry.objects.filter(conversation_id=cid, action="close"))
        assert len(entries) == 1
        entry = entries[0]
        assert entry.outcome == AuditEntry.Outcome.FAILED
        assert entry.error_kind
        assert entry.error_kind == failure.error_kind
        assert entry.completed_at is not None


# Faults on the write itself: the read succeeds, the POST fails


POST_FAULTS = [f for f in FAILURES if f.fault and f.fault.startswith("status_") or f.fault in ("not_json", "wrong_shape")]


@pytest.mark.parametrize("failure", [pytest.param(f, id=f.name.split(" +")[0]) for f in POST_FAULTS])
def test_a_failed_write_keeps_the_card_and_is_audited_with_the_state_before(
    failure: Failure, wapikit, settings, login_as
):
    settings.WAPIKIT_GET_RETRIES = 0
    settings.WAPIKIT_BREAKER_THRESHOLD = 1000
    # The server's unordered lists are read through the scan: not kept, as lists are not here,
    # so that the fault meets the inbox's read.
    settings.WAPIKIT_SCAN_CACHE_SECONDS = 0
    get_client.cache_clear()
    conversation = first_conversation(wapikit, "Active")
    cid = conversation["uniqueId"]
    client = login_as("manager")
    client.raise_request_exception = False
    assert client.get("/").status_code == 200
    before = snapshot(wapikit, cid)

    with contextlib.ExitStack() as stack:
        stack.callback(wapikit.control, reset=True, latency_ms=0)
        wapikit.control(fault=failure.fault, fault_methods=["POST"], fault_path=SINGLE_CONVERSATION, **failure.control)
        response = client.post(
            f"/conversations/{cid}/close/",
            {"next": "/", "seen": f"{before[0]}:{before[1] or ''}"},
            headers=HTMX,
        )

    body = assert_no_crash(response)
    assert failure.expected in seen_message(ALERT_RE, body)
    assert response.status_code == failure.status
    assert response["HX-Retarget"] == f"#c-{cid} .alert"
    assert snapshot(wapikit, cid) == before
    entry = AuditEntry.objects.get(conversation_id=cid, action="close")
    assert entry.outcome == AuditEntry.Outcome.FAILED
    assert entry.error_kind == failure.error_kind
    assert entry.before_status == "Active"
    assert entry.after_status == ""
