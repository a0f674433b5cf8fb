"""Sign-in throttling through the real sign-in form (POST /accounts/login/): per account, per
client address, a lock after repeated failures, reset by a success, logged without secrets.

Time is controlled by patching `time.time` as `dashboard.accounts.throttle` sees it."""

from __future__ import annotations

import logging

import pytest
from django.core.cache import cache
from django.test import Client

from dashboard.accounts import throttle
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
WRONG = "wrong-password-Zq81!x"
ADDRESS = "203.0.113.7"
REFUSED = "Too many failed sign-ins"


class Clock:
    """A controllable `time.time`: starts at the real time, moves only when told."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Every attempt hashes a password: a cheap hasher keeps the many attempts fast (the form
    still checks passwords for real)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(throttle.time.time())
    monkeypatch.setattr("dashboard.accounts.throttle.time.time", clock)
    return clock


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)  # everything, from every logger: the password must be in none
    return caplog


def attempt(email: str, password: str, address: str = ADDRESS):
    """One sign-in from a fresh browser (a signed-in client would just be redirected)."""
    return Client(REMOTE_ADDR=address).post(LOGIN, {"username": email, "password": password})


def signed_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def refused(response) -> bool:
    return response.status_code == 429 and REFUSED in response.content.decode()


def fail(email: str, times: int, address: str = ADDRESS) -> None:
    for _ in range(times):
        response = attempt(email, WRONG, address)
        assert response.status_code == 200, "a wrong password shows the form again"
        assert not signed_in(response)


def test_a_wrong_password_shows_the_form_again_and_the_right_one_signs_in(owner, clock):
    response = attempt(owner.email, WRONG)
    assert response.status_code == 200
    assert REFUSED not in response.content.decode()
    assert signed_in(attempt(owner.email, PASSWORD))


def test_five_failures_refuse_the_sixth_attempt_even_with_the_right_password(owner, clock, logs):
    fail(owner.email, 5)

    response = attempt(owner.email, PASSWORD)

    assert refused(response)
    assert not signed_in(response)
    assert int(response["Retry-After"]) >= 1
    # The password is not even checked: the form comes back unbound, without an error about it.
    assert "Please enter a correct" not in response.content.decode()


def test_after_the_delay_the_account_may_sign_in_again(owner, clock):
    fail(owner.email, 5)
    wait = int(attempt(owner.email, PASSWORD)["Retry-After"])
    assert 1 <= wait <= 60

    clock.advance(wait - 1)
    assert refused(attempt(owner.email, PASSWORD)), "still inside the delay"

    clock.advance(1.5)
    assert signed_in(attempt(owner.email, PASSWORD))


def test_the_delay_grows_with_each_failure(owner, clock):
    fail(owner.email, 5)
    waits = []
    for _ in range(4):
        waits.append(int(attempt(owner.email, WRONG)["Retry-After"]))
        clock.advance(waits[-1] + 0.5)
        fail(owner.email, 1)
    assert waits == sorted(waits) and waits[0] < waits[-1], waits


def fail_past_delays(email: str, clock: Clock, total: int, address: str = ADDRESS) -> None:
    """`total` failures, waiting out each delay so that every one is counted."""
    for _ in range(total):
        response = attempt(email, WRONG, address)
        if response.status_code == 429:
            clock.advance(int(response["Retry-After"]) + 0.5)
            response = attempt(email, WRONG, address)
        assert response.status_code == 200


def test_ten_failures_lock_the_account_for_about_fifteen_minutes(owner, clock, logs):
    fail_past_delays(owner.email, clock, 10)

    response = attempt(owner.email, PASSWORD)
    assert refused(response)
    wait = int(response["Retry-After"])
    assert 14 * 60 <= wait <= 15 * 60
    assert "15 minutes" in response.content.decode()

    clock.advance(14 * 60)
    assert refused(attempt(owner.email, PASSWORD)), "still locked after 14 minutes"
    clock.advance(61)
    assert signed_in(attempt(owner.email, PASSWORD)), "unlocked after 15 minutes"

    locked = [r for r in logs.records if r.name == "dashboard.security" and "locked" in r.getMessage()]
    assert len(locked) == 1


def test_the_lock_is_per_account_not_for_everyone(owner, make_user, clock):
    other = make_user("manager")
    fail_past_delays(owner.email, clock, 10)
    assert refused(attempt(owner.email, PASSWORD))
    assert signed_in(attempt(other.email, PASSWORD, address="198.51.100.20"))
    assert signed_in(attempt(other.email, PASSWORD)), "same address, 10 failures: under the address limit"


def test_one_address_failing_for_many_accounts_is_throttled(owner, clock):
    limit = throttle.ADDRESS.slow_after
    for i in range(limit):
        fail(f"guess{i}@example.com", 1)  # one failure per account: no account is throttled

    assert refused(attempt(owner.email, PASSWORD)), "the address is throttled for every account"
    assert refused(attempt("someone-else@example.com", WRONG))
    # Another address is not affected, and neither is the account elsewhere.
    assert signed_in(attempt(owner.email, PASSWORD, address="198.51.100.20"))


def test_an_address_is_locked_after_many_failures(owner, clock):
    for i in range(throttle.ADDRESS.lock_after):
        response = attempt(f"guess{i}@example.com", WRONG)
        if response.status_code == 429:
            clock.advance(int(response["Retry-After"]) + 0.5)
            response = attempt(f"guess{i}@example.com", WRONG)
        assert response.status_code == 200
    response = attempt(owner.email, PASSWORD)
    assert refused(response)
    assert int(response["Retry-After"]) > 14 * 60


def test_a_successful_sign_in_resets_the_account_counter(owner, clock):
    fail(owner.email, 4)
    assert signed_in(attempt(owner.email, PASSWORD))

    fail(owner.email, 4)
    # 8 failures in all, but only 4 since the success: not throttled.
    assert signed_in(attempt(owner.email, PASSWORD))

    fail(owner.email, 5)
    assert refused(attempt(owner.email, PASSWORD)), "5 failures after the reset throttle again"


def test_email_case_and_spaces_do_not_dodge_the_account_limit(owner, clock):
    for variant in ("OWNER@example.com", "owner@EXAMPLE.com", " owner@example.com", "Owner@Example.Com", "owner@example.com "):
        fail(variant, 1)
    assert refused(attempt(owner.email, PASSWORD))


def test_a_locked_account_stays_locked_under_a_unicode_spelling_of_its_email(make_user, clock):
    agent = make_user("agent")
    fail_past_delays(agent.email, clock, 10)
    fullwidth = "\uff41gent@example.com"  # "ａgent@": Django's sign-in reads it as agent@ (NFKC)

    assert refused(attempt(fullwidth, PASSWORD)), "the lock holds for every spelling of the account"
    assert refused(attempt(agent.email, PASSWORD)), "and nothing cleared it"


def test_failures_under_many_unicode_spellings_count_for_one_account(owner, clock):
    spellings = ["\uff4fwner@example.com", "o\uff57ner@example.com", "ow\uff4eer@example.com", "OWNER@example.com", "\uff2fwner@example.com"]
    for spelling in spellings:
        fail(spelling, 1)

    assert refused(attempt(owner.email, PASSWORD)), "five failures, whatever the spelling, slow the account"


def test_throttling_is_logged_without_the_password(owner, clock, logs):
    fail(owner.email, 5)
    assert refused(attempt(owner.email, PASSWORD))

    security = [r for r in logs.records if r.name == "dashboard.security"]
    messages = [r.getMessage() for r in security]
    assert any("slowed" in m and "5 failures" in m for m in messages), messages
    assert any("refused by throttle" in m for m in messages), messages
    assert all(r.levelno >= logging.WARNING for r in security)

    everything = "\n".join(
        [logs.text] + [r.getMessage() for r in logs.records] + [repr(r.args) for r in logs.records]
    )
    assert PASSWORD not in everything
    assert WRONG not in everything
    # The account is named only in masked form.
    assert owner.email not in "\n".join(messages)


def test_passwords_never_reach_the_logs_even_when_refused_or_locked(owner, clock, logs):
    fail_past_delays(owner.email, clock, 10)
    for _ in range(3):
        attempt(owner.email, PASSWORD)
    for i in range(throttle.ADDRESS.slow_after + 2):
        attempt(f"guess{i}@example.com", f"{WRONG}-{i}")
    everything = "\n".join(
        [logs.text] + [r.getMessage() for r in logs.records] + [repr(r.args) for r in logs.records]
    )
    assert logs.records, "throttling should have logged"
    assert PASSWORD not in everything
    assert WRONG not in everything


def through_proxies(email: str, password: str, client_ip: str, *, forged: str = ""):
    """A sign-in as it arrives behind two proxies: the outer appends the client, the inner
    itself; whatever the client sent first stays in front."""
    chain = ", ".join(part for part in (forged, client_ip, "10.0.0.1") if part)
    return Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=chain).post(
        LOGIN, {"username": email, "password": password}
    )


def test_behind_two_trusted_proxies_one_client_s_failures_do_not_slow_another(make_user, clock, settings):
    """Issue 10, section 2: behind a proxy every REMOTE_ADDR is the proxy's, so 40 failures by
    anyone locked everyone out."""
    settings.TRUSTED_PROXY_COUNT = 2
    victim, attacker = make_user("owner"), "198.51.100.66"
    emails = [f"nobody{i}@example.com" for i in range(45)]
    for email in emails:  # an address's limit is 40, over many accounts
        through_proxies(email, WRONG, attacker)
        clock.advance(61)

    assert through_proxies(emails[0], WRONG, attacker).status_code == 429, "the attacker's address is locked"
    assert signed_in(through_proxies(victim.email, PASSWORD, "203.0.113.10")), "another client is not"


def test_a_forged_x_forwarded_for_does_not_escape_the_address_limit(make_user, clock, settings):
    settings.TRUSTED_PROXY_COUNT = 2
    attacker = "198.51.100.66"
    for i in range(45):
        through_proxies(f"nobody{i}@example.com", WRONG, attacker, forged=f"192.0.2.{i}")
        clock.advance(61)

    refused = through_proxies("nobody0@example.com", WRONG, attacker, forged="192.0.2.200")
    assert refused.status_code == 429, "the forged entry in front is ignored: still the attacker's address"
