"""The client's address behind proxies (dashboard/accounts/addresses.py): one test per way a
client could try to choose the address it is throttled and audited under."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from dashboard.observability.addresses import client_address

CLIENT = "198.51.100.23"
PROXY_1, PROXY_2 = "10.0.0.1", "10.0.0.2"


def request(remote: str, forwarded: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


@pytest.fixture
def no_proxies(settings):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXIES = 0, ""


@pytest.fixture
def two_proxies(settings):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXIES = 2, ""


@pytest.fixture
def proxy_network(settings):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXIES = 0, "10.0.0.0/24, 2001:db8::1"


def test_without_declared_proxies_x_forwarded_for_is_ignored(no_proxies):
    assert client_address(request(CLIENT, "203.0.113.9")) == CLIENT


def test_behind_two_proxies_the_client_is_the_address_the_outer_one_saw(two_proxies):
    assert client_address(request(PROXY_2, f"{CLIENT}, {PROXY_1}")) == CLIENT


def test_behind_two_proxies_entries_the_client_wrote_itself_are_ignored(two_proxies):
    assert client_address(request(PROXY_2, f"203.0.113.9, 192.0.2.1, {CLIENT}, {PROXY_1}")) == CLIENT


def test_a_shorter_chain_than_declared_falls_back_to_its_farthest_hop(two_proxies):
    assert client_address(request(CLIENT)) == CLIENT
    assert client_address(request(PROXY_1, CLIENT)) == CLIENT


def test_a_request_from_an_untrusted_hop_is_its_own_client_whatever_it_forwards(proxy_network):
    assert client_address(request(CLIENT, "203.0.113.9, 10.0.0.7")) == CLIENT


def test_trusted_hops_are_walked_past_to_the_first_untrusted_one(proxy_network):
    forged = "203.0.113.9"
    assert client_address(request(PROXY_2, f"{forged}, {CLIENT}, {PROXY_1}")) == CLIENT
    assert client_address(request("2001:db8::1", f"{CLIENT}")) == CLIENT


def test_a_malformed_entry_is_not_trusted_as_a_proxy(proxy_network):
    assert client_address(request(PROXY_2, "203.0.113.9, not-an-address")) == "not-an-address"
