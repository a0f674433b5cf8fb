"""The circuit breaker: after a few failures in a row the dashboard stops waiting on WapiKit and
answers at once; after the cooldown one probe is let through, and its success closes the circuit.
And /health/: the database and WapiKit's reachability, as a load balancer sees them."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from dashboard.wapikit import errors, get_client
from dashboard.wapikit.breaker import CircuitBreaker, CircuitOpen
from tests.conftest import free_port
from tests.integration.conftest import body_of, card_ids

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

THRESHOLD = 3
COOLDOWN = 2


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def breaker_settings(wapikit, settings):
    """A small threshold and cooldown, fresh breaker state (the `wapikit` fixture cleared the cache)."""
    settings.WAPIKIT_GET_RETRIES = 0
    settings.WAPIKIT_BREAKER_THRESHOLD = THRESHOLD
    settings.WAPIKIT_BREAKER_COOLDOWN = COOLDOWN
    settings.WAPIKIT_TIMEOUT = "1,2"
    get_client.cache_clear()
    return settings


def point_at_closed_port(settings) -> None:
    settings.WAPIKIT_BASE_URL = f"http://127.0.0.1:{free_port()}/api"
    get_client.cache_clear()  # the breaker's state stays: it lives in Django's cache


def point_at(settings, sandbox) -> None:
    settings.WAPIKIT_BASE_URL = sandbox.base_url
    get_client.cache_clear()


# The breaker in the dashboard


def test_an_open_circuit_fails_fast_then_a_probe_after_the_cooldown_closes_it(
    breaker_settings, wapikit, login_as, upstream_calls
):
    settings = breaker_settings
    client = login_as("manager")
    assert client.get("/").status_code == 200  # members cached: each inbox view is one upstream call
    point_at_closed_port(settings)
    warm_up = len(upstream_calls)

    for _ in range(THRESHOLD):
        response = client.get("/")
        assert response.status_code == 502
        assert "WapiKit is unreachable" in body_of(response)
    failing = upstream_calls[warm_up:]
    assert [(c.path, c.status) for c in failing] == [("/conversations", None)] * THRESHOLD  # one refused call a view
    assert get_client().breaker.is_open

    calls_before = len(upstream_calls)
    response = client.get("/")

    body = body_of(response)
    assert response.status_code == 502
    assert "WapiKit is unreachable" in body
    assert "Traceback" not in body
    # Failing fast: the breaker answered without sending anything upstream (how fast is a
    # `make bench` figure).
    assert len(upstream_calls) == calls_before, "an open circuit must not send anything upstream"

    time.sleep(COOLDOWN + 0.2)
    point_at(settings, wapikit)  # WapiKit is back; the cache (and so the open circuit) is kept
    calls_before = len(upstream_calls)

    response = client.get("/")

    assert response.status_code == 200, body_of(response)
    assert card_ids(body_of(response))
    probes = upstream_calls[calls_before:]
    assert [(c.method, c.path, c.status) for c in probes] == [("GET", "/conversations", 200)]
    assert not get_client().breaker.is_open
    # Closed: the failure count is gone too, so one more failure would not reopen it.
    point_at_closed_port(settings)
    client.get("/")
    assert not get_client().breaker.is_open


def test_while_the_circuit_is_open_an_action_fails_fast_and_changes_nothing(
    breaker_settings, wapikit, login_as, upstream_calls
):
    settings = breaker_settings
    client = login_as("manager")
    client.raise_request_exception = False
    assert client.get("/").status_code == 200
    point_at_closed_port(settings)
    for _ in range(THRESHOLD):
        client.get("/")
    assert get_client().breaker.is_open
    calls_before = len(upstream_calls)

    response = client.get(f"/conversations/{uuid.uuid4()}/")

    assert response.status_code == 502
    assert "WapiKit is unreachable" in body_of(response)
    assert len(upstream_calls) == calls_before


# The breaker class alone


@pytest.fixture
def breaker() -> CircuitBreaker:
    """A breaker of its own name, so it shares nothing with the dashboard's."""
    unit = CircuitBreaker(name=f"unit-{uuid.uuid4().hex[:8]}", threshold=2, cooldown=0.3, probe_wait=0.3)
    yield unit
    unit.reset()


def test_the_breaker_opens_after_threshold_failures_in_a_row(breaker):
    breaker.before_request()
    breaker.record_failure()
    breaker.record_success()  # a success in between starts the count again
    breaker.record_failure()
    breaker.before_request()
    assert not breaker.is_open

    breaker.record_failure()

    assert breaker.is_open
    with pytest.raises(CircuitOpen) as raised:
        breaker.before_request()
    assert "WapiKit is unreachable" in raised.value.user_message


def test_after_the_cooldown_only_one_probe_at_a_time_is_let_through(breaker):
    breaker.record_failure()
    breaker.record_failure()
    with pytest.raises(CircuitOpen):
        breaker.before_request()
    time.sleep(0.35)

    breaker.before_request()  # the probe
    started = time.perf_counter()
    with pytest.raises(CircuitOpen, match="probe is under way"):
        breaker.before_request()  # waits for the probe's outcome, which never comes
    # A lower bound only: the breaker waits out its probe_wait (0.3 s) from the call's own start,
    # so a slower machine can only make this longer.
    assert time.perf_counter() - started >= 0.25

    breaker.record_success()

    assert not breaker.is_open
    for _ in range(3):
        breaker.before_request()


def _concurrent_callers(breaker, workers: int, probe_outcome) -> list[str]:
    barrier = threading.Barrier(workers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def call() -> None:
        barrier.wait()
        try:
            breaker.before_request()
            outcome = "let through"
        except CircuitOpen:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)
            if len(outcomes) == 1:
                probe_outcome()

    threads = [threading.Thread(target=call) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    return outcomes


def test_callers_waiting_on_a_successful_probe_are_let_through(breaker):
    breaker.record_failure()
    breaker.record_failure()
    time.sleep(0.35)

    outcomes = _concurrent_callers(breaker, 8, breaker.record_success)

    assert outcomes == ["let through"] * 8
    assert not breaker.is_open


def test_callers_waiting_on_a_failed_probe_are_refused():
    # A cooldown longer than the wait: no late thread may find the reopened circuit expired
    # already and become a second, legitimate probe.
    breaker = CircuitBreaker(name=f"unit-{uuid.uuid4().hex[:8]}", threshold=2, cooldown=1.0, probe_wait=0.3)
    breaker.record_failure()
    breaker.record_failure()
    time.sleep(1.05)

    try:
        outcomes = _concurrent_callers(breaker, 8, breaker.record_failure)

        assert sorted(outcomes) == ["let through"] + ["refused"] * 7
        assert breaker.is_open
    finally:
        breaker.reset()


def test_a_failed_probe_opens_the_circuit_for_another_cooldown(breaker):
    breaker.record_failure()
    breaker.record_failure()
    time.sleep(0.35)
    breaker.before_request()  # the probe

    breaker.record_failure()

    assert breaker.is_open
    with pytest.raises(CircuitOpen):
        breaker.before_request()
    time.sleep(0.35)
    breaker.before_request()  # the next probe, once the new cooldown is over
    breaker.record_success()
    assert not breaker.is_open


# Health


def test_health_without_login_reports_the_database_and_a_reachable_wapikit(client, wapikit):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    answer = response.json()
    assert answer["status"] == "ok"
    assert answer["database"] == "ok"
    assert answer["wapikit"] == "reachable"
    assert isinstance(answer["wapikit_connect_ms"], float)


def test_health_with_wapikit_on_a_closed_port_says_unreachable_but_stays_200(client, wapikit, settings):
    point_at_closed_port(settings)

    response = client.get("/health/")

    assert response.status_code == 200
    answer = response.json()
    assert answer["database"] == "ok"
    assert answer["wapikit"] == "unreachable"
    assert answer["wapikit_connect_ms"] is None


def test_health_with_the_circuit_open_says_so_without_connecting(breaker_settings, client, wapikit, upstream_calls):
    settings = breaker_settings
    point_at_closed_port(settings)
    for _ in range(THRESHOLD):
        with pytest.raises(errors.Unreachable):
            get_client().list_conversations()
    assert get_client().breaker.is_open
    point_at(settings, wapikit)  # reachable again, but the circuit has not been probed yet

    response = client.get("/health/")

    assert response.status_code == 200
    answer = response.json()
    assert answer["database"] == "ok"
    assert answer["wapikit"] == "circuit open"
    assert answer["wapikit_connect_ms"] is None
    assert len(upstream_calls) == THRESHOLD


@pytest.mark.parametrize("path", ["/conversations/{cid}/", "/?status=all"], ids=["conversation page", "inbox all"])
def test_the_first_view_after_the_cooldown_succeeds_even_when_it_makes_parallel_calls(
    path, breaker_settings, wapikit, login_as, upstream_calls
):
    settings = breaker_settings
    client = login_as("manager")
    first = client.get("/")
    assert first.status_code == 200
    cid = card_ids(body_of(first))[0]
    point_at_closed_port(settings)
    for _ in range(THRESHOLD):
        client.get("/")
    assert get_client().breaker.is_open
    time.sleep(COOLDOWN + 0.2)
    point_at(settings, wapikit)
    wapikit.control(latency_ms=150)  # the probe surely overlaps the view's other calls
    try:
        response = client.get(path.format(cid=cid))
    finally:
        wapikit.control(latency_ms=0)

    assert response.status_code == 200, body_of(response)[:2000]
    assert not get_client().breaker.is_open


# One user cannot open the circuit for everyone (issue 17)


HUGE_PAGE = "99999999999999999999999"


@pytest.mark.parametrize(
    "path",
    [f"/?status=closed&page={HUGE_PAGE}", f"/?page={2**62}", "/conversations/{cid}/?page=" + HUGE_PAGE],
    ids=["inbox, page past int64", "inbox, page whose offset overflows", "conversation page"],
)
def test_a_user_asking_for_absurd_pages_never_makes_wapikit_unreachable_for_the_owner(
    path, wapikit, make_user, upstream_calls, settings
):
    """Regression (issue 17): five such requests from an agent reached WapiKit, which answered
    500; the circuit opened and the Owner's inbox said "WapiKit is unreachable"."""
    from django.test import Client

    agent, owner = Client(), Client()
    agent.force_login(make_user("agent"))
    owner.force_login(make_user("owner"))
    first = owner.get("/")
    assert first.status_code == 200
    cid = card_ids(body_of(first))[0]
    calls_before = len(upstream_calls)

    for _ in range(settings.WAPIKIT_BREAKER_THRESHOLD):
        response = agent.get(path.format(cid=cid))
        assert response.status_code == 400
        assert "There is no page" in body_of(response)
        assert "Traceback" not in body_of(response)

    # Refused before anything was sent: WapiKit never saw the number.
    assert [c.path for c in upstream_calls[calls_before:] if c.path.startswith("/conversation")] == []
    assert not get_client().breaker.is_open
    response = owner.get("/")
    assert response.status_code == 200
    assert "unreachable" not in body_of(response)
    assert card_ids(body_of(response))


@pytest.mark.parametrize(
    "path", [f"/api/v1/conversations?status=closed&page={HUGE_PAGE}", "/api/v1/conversations/{cid}?page=" + HUGE_PAGE],
    ids=["list", "conversation"],
)
def test_the_api_refuses_absurd_pages_before_wapikit_sees_them(path, wapikit, make_user, upstream_calls, settings):
    from django.test import Client

    from dashboard.api.models import ApiToken, Scope

    owner = Client()
    owner.force_login(make_user("owner"))
    cid = card_ids(body_of(owner.get("/")))[0]
    _, secret = ApiToken.issue(user=make_user("agent"), name="probe", scopes=list(Scope.values), expires_at=None)
    calls_before = len(upstream_calls)

    for _ in range(settings.WAPIKIT_BREAKER_THRESHOLD):
        response = Client().get(path.format(cid=cid), HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"

    assert [c.path for c in upstream_calls[calls_before:] if c.path.startswith("/conversation")] == []
    assert not get_client().breaker.is_open
