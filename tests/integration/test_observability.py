"""What an operator sees: /metrics (for a token or an allowed address only) counting upstream
calls, latency, the circuit, caches, actions and sign-in throttles; a request id on every
answer, sent upstream and quoted on error pages; one JSON log line per request and per
upstream call, without the key or anyone's message text."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import uuid

import pytest
import requests
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from pythonjsonlogger.json import JsonFormatter

from dashboard.conversations.models import AuditEntry
from dashboard.observability.logs import RequestContextFilter
from dashboard.wapikit import get_client
from devtools.benchmarks.benchkit import gunicorn_processes
from tests.conftest import API_KEY, ROOT, free_port
from tests.integration.conftest import body_of, card_ids, first_conversation

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TOKEN = "scrape-token-for-tests-0123456789"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def scrape(settings):
    settings.METRICS_TOKEN = TOKEN

    def scrape() -> dict[tuple[str, frozenset], float]:
        answer = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert answer.status_code == 200
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(answer.content.decode())
            for sample in family.samples
        }

    return scrape


def value(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples, name: str, **labels) -> float:
    """The sum over every series of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


# Who may read /metrics


def test_metrics_are_refused_without_a_token_or_an_allowed_address(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = ""

    answer = Client().get("/metrics")

    assert answer.status_code == 403
    assert b"dashboard_upstream_requests" not in answer.content
    assert b"METRICS_TOKEN" in answer.content


def test_a_wrong_token_is_refused_and_the_right_one_is_answered(settings):
    settings.METRICS_TOKEN = TOKEN

    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    right = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert wrong.status_code == 403
    assert right.status_code == 200
    assert right["Content-Type"].startswith("text/plain; version=")
    assert b"# TYPE dashboard_upstream_requests_total counter" in right.content


def test_an_allowed_address_is_answered_and_a_forged_forwarded_for_is_not(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = "10.0.0.0/24"
    settings.TRUSTED_PROXY_COUNT = 0

    from_scraper = Client(REMOTE_ADDR="10.0.0.5").get("/metrics")
    forged = Client(REMOTE_ADDR="198.51.100.9").get("/metrics", HTTP_X_FORWARDED_FOR="10.0.0.5")

    assert from_scraper.status_code == 200
    assert forged.status_code == 403


def test_behind_a_trusted_proxy_the_scraper_s_own_address_decides(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = "10.0.0.5"
    settings.TRUSTED_PROXY_COUNT = 1

    through_proxy = Client(REMOTE_ADDR="127.0.0.1").get("/metrics", HTTP_X_FORWARDED_FOR="10.0.0.5")
    someone_else = Client(REMOTE_ADDR="127.0.0.1").get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.4")

    assert through_proxy.status_code == 200
    assert someone_else.status_code == 403


# What the metrics count


def test_one_inbox_view_shows_its_upstream_calls_latency_and_cache_lookups(
    login_as, wapikit, scrape, upstream_calls
):
    client = login_as("manager")
    before = scrape()
    upstream_calls.clear()

    page = client.get("/?status=all&per_page=25")

    after = scrape()
    assert page.status_code == 200
    cards = len(card_ids(body_of(page)))
    assert cards > 0
    sent = list(upstream_calls)
    lists = sum(1 for c in sent if c.path == "/conversations" and c.status == 200)
    assert lists >= 1
    grew = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    assert grew("dashboard_upstream_requests_total", method="GET", route="/conversations", status="200") == lists
    assert total(after, "dashboard_upstream_request_seconds_count") - total(
        before, "dashboard_upstream_request_seconds_count"
    ) == len(sent)
    # Every card is looked up in the card cache once: a hit or a miss.
    card_lookups = total(after, "dashboard_cache_lookups_total", cache="cards") - total(
        before, "dashboard_cache_lookups_total", cache="cards"
    )
    assert card_lookups == cards
    assert total(after, "dashboard_cache_lookups_total", cache="members") > total(
        before, "dashboard_cache_lookups_total", cache="members"
    )
    assert grew("dashboard_requests_total", method="GET", view="inbox", status="200") == 1
    assert grew("dashboard_request_seconds_count", view="inbox") == 1


def test_one_action_is_counted_by_kind_outcome_and_origin(login_as, wapikit, scrape):
    client = login_as("manager")
    conversation = first_conversation(wapikit, "Active")
    before = scrape()

    answer = client.post(f"/conversations/{conversation['uniqueId']}/close/", {"next": "/"}, **HTMX)

    after = scrape()
    assert answer.status_code == 200
    outcome = AuditEntry.objects.get(conversation_id=conversation["uniqueId"], action="close").outcome
    labels = {"action": "close", "outcome": outcome, "via": "card"}
    assert value(after, "dashboard_actions_total", **labels) - value(before, "dashboard_actions_total", **labels) == 1


def test_a_refused_action_is_counted_as_denied(login_as, wapikit, scrape):
    client = login_as("viewer")
    conversation = first_conversation(wapikit, "Active")
    labels = {"action": "close", "outcome": "denied", "via": "card"}
    before = value(scrape(), "dashboard_actions_total", **labels)

    client.post(f"/conversations/{conversation['uniqueId']}/close/", {"next": "/"}, **HTMX)

    assert value(scrape(), "dashboard_actions_total", **labels) - before == 1


def test_the_circuit_breaker_s_state_is_a_gauge(wapikit, scrape):
    breaker = get_client().breaker
    breaker.reset()
    assert value(scrape(), "dashboard_upstream_circuit_open") == 0
    try:
        for _ in range(breaker.threshold):
            breaker.record_failure()

        assert value(scrape(), "dashboard_upstream_circuit_open") == 1
    finally:
        breaker.reset()
    assert value(scrape(), "dashboard_upstream_circuit_open") == 0


def test_sign_in_throttles_are_counted(make_user, scrape, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    make_user("manager")
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    client = Client(REMOTE_ADDR="203.0.113.50")
    before = scrape()

    for _ in range(5):
        client.post("/accounts/login/", {"username": email, "password": "wrong-password-Zq81!x"})
    refused = client.post("/accounts/login/", {"username": email, "password": "wrong-password-Zq81!x"})

    after = scrape()
    assert "Too many failed sign-ins" in body_of(refused)
    slowed = {"limit": "account", "state": "slowed"}
    assert value(after, "dashboard_signin_throttle_engaged_total", **slowed) - value(
        before, "dashboard_signin_throttle_engaged_total", **slowed
    ) == 1
    assert value(after, "dashboard_signin_refused_total") - value(before, "dashboard_signin_refused_total") == 1


# The request id


@pytest.fixture
def sent_headers(wapikit):
    """The headers of every request the WapiKit client sends, as handed to requests."""
    session = get_client().session
    seen: list[dict] = []
    original = session.request

    def request(method, url, **kwargs):
        seen.append(dict(kwargs.get("headers") or {}))
        return original(method, url, **kwargs)

    session.request = request
    yield seen
    session.request = original


def test_every_upstream_call_of_a_page_carries_its_request_id(login_as, sent_headers):
    client = login_as("manager")
    sent_headers.clear()

    # "All" scans three statuses on worker threads: each of those calls carries the id too.
    page = client.get("/?status=all&view=unassigned")

    request_id = page["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert len(sent_headers) >= 3
    assert {h.get("X-Request-ID") for h in sent_headers} == {request_id}


def test_a_proxy_s_request_id_is_kept_and_a_malformed_one_is_replaced(login_as, wapikit):
    client = login_as("manager")

    kept = client.get("/health/", HTTP_X_REQUEST_ID="edge-1234abcd")
    replaced = client.get("/health/", HTTP_X_REQUEST_ID="bad id\r\nX-Injected: 1")

    assert kept["X-Request-ID"] == "edge-1234abcd"
    assert re.fullmatch(r"[0-9a-f]{32}", replaced["X-Request-ID"])


def test_the_page_that_says_wapikit_is_unreachable_quotes_the_request_id(login_as, wapikit, settings):
    client = login_as("manager")
    settings.WAPIKIT_BASE_URL = f"http://127.0.0.1:{free_port()}/api"
    get_client.cache_clear()

    page = client.get("/")

    assert page.status_code == 502
    assert f"<code>{page['X-Request-ID']}</code>" in body_of(page)


def test_a_missing_page_quotes_the_request_id(login_as):
    client = login_as("manager")

    page = client.get("/no-such-page/")

    assert page.status_code == 404
    body = body_of(page)
    assert "There is no such page." in body
    assert f"<code>{page['X-Request-ID']}</code>" in body


def test_a_server_error_shows_a_plain_page_with_the_request_id(login_as, wapikit, monkeypatch):
    client = login_as("manager")
    client.raise_request_exception = False

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("dashboard.conversations.selectors.filtered_inbox", broken)

    page = client.get("/")

    assert page.status_code == 500
    body = body_of(page)
    assert "Something went wrong on the dashboard's side." in body
    assert f"<code>{page['X-Request-ID']}</code>" in body
    assert "RuntimeError" not in body and "Traceback" not in body


# Structured logs


@pytest.fixture
def json_lines(settings):
    """What the dashboard's request and upstream loggers write with LOG_FORMAT=json, parsed."""
    from io import StringIO

    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(["levelname", "name", "message"], timestamp=True))
    handler.addFilter(RequestContextFilter())
    loggers = [logging.getLogger(name) for name in ("dashboard.request", "dashboard.upstream")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    lines.text = stream.getvalue
    yield lines
    for logger, level in zip(loggers, levels):
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_one_json_line_per_request_and_per_upstream_call_without_key_or_message_text(
    login_as, wapikit, json_lines, upstream_calls
):
    client = login_as("manager")
    conversation = first_conversation(wapikit, "Active")
    upstream_calls.clear()

    page = client.get(f"/conversations/{conversation['uniqueId']}/")

    assert page.status_code == 200
    lines = json_lines()
    request_id = page["X-Request-ID"]
    requests_logged = [line for line in lines if line.get("event") == "request"]
    upstream_logged = [line for line in lines if line.get("event") == "upstream"]
    assert len(requests_logged) == 1
    line = requests_logged[0]
    assert line["request_id"] == request_id
    assert line["view"] == "conversation"
    assert line["route"] == "conversations/<str:conversation_id>/"
    assert line["status"] == 200 and line["ms"] > 0
    assert line["user_id"] == page.wsgi_request.user.pk
    assert len(upstream_logged) == len(upstream_calls)
    assert {u["request_id"] for u in upstream_logged} == {request_id}
    assert {u["route"] for u in upstream_logged} >= {"/conversation/:id", "/conversation/:id/messages"}
    assert all(u["user_id"] == page.wsgi_request.user.pk for u in upstream_logged)
    text = json_lines.text()
    assert API_KEY not in text
    assert conversation["uniqueId"] not in text, "ids are logged as :id in the route"
    shown = [m for m in re.findall(r"<bdi>([^<]{12,})</bdi>", body_of(page))]
    assert shown, "the page shows the conversation's messages"
    assert not [words for words in shown if words in text], "no message text in the logs"


def test_log_format_json_makes_every_log_record_a_json_object():
    env = {**os.environ, "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "dashboard.settings"}
    script = "import logging; logging.getLogger('dashboard.request').info('hello', extra={'event': 'request'})"

    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert done.returncode == 0, done.stderr
    record = json.loads(done.stderr.strip().splitlines()[-1])
    assert record["message"] == "hello"
    assert record["event"] == "request"
    assert record["level"] == "INFO" and record["logger"] == "dashboard.request"
    assert "timestamp" in record and "request_id" in record


# Under gunicorn, two workers


def test_two_gunicorn_workers_are_counted_together(tmp_path):
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "METRICS_TOKEN": TOKEN,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "WAPIKIT_BASE_URL": f"http://127.0.0.1:{free_port()}/api",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    visits = 40
    with gunicorn_processes((env, tmp_path / "gunicorn.log", 2)) as (url,):
        for _ in range(visits):
            # A new connection each time, so the kernel hands them to either worker.
            assert requests.get(f"{url}/accounts/login/", timeout=10).status_code == 200
        answer = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)

    assert answer.status_code == 200
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }
    assert value(samples, "dashboard_requests_total", method="GET", view="login", status="200") == visits
    writers = {path.name.rsplit("_", 1)[-1] for path in (tmp_path / "metrics").glob("counter_*.db")}
    assert len(writers) == 2, f"both workers wrote their counts: {writers}"


def test_the_listener_s_counts_reach_the_scrape_through_its_state(scrape):
    import time

    from dashboard.conversations import live_state as state

    now = time.time()
    state.store(state.StreamState(state=state.CONNECTED, since=now, reported_at=now, events=7, undecodable=2, reconnects=3))

    samples = scrape()

    assert value(samples, "dashboard_events_delivered") == 7
    assert value(samples, "dashboard_events_skipped_undecodable") == 2
    assert value(samples, "dashboard_events_reconnects") == 3
