"""The suite-wide API key scan (tests/conftest.py) must be able to fail."""

import logging

from tests import conftest


def test_the_key_scan_flags_a_response_that_carries_the_key(client):
    before = len(conftest._leaks)
    conftest._scan("GET /example", f"<p>{conftest.API_KEY}</p>".encode())
    assert len(conftest._leaks) == before + 1
    del conftest._leaks[before:]


def test_the_key_scan_sees_log_lines():
    before = len(conftest._leaks)
    logging.getLogger("dashboard.test").warning("header was %s", conftest.API_KEY)
    assert len(conftest._leaks) == before + 1
    del conftest._leaks[before:]


def test_the_key_scan_sees_real_dashboard_responses(client):
    seen = conftest._scanned["responses"]
    client.get("/accounts/login/")
    assert conftest._scanned["responses"] == seen + 1
