"""Unit tests build WapiKit clients for the same fake upstream URL, and the client keeps what it
learns (capabilities, the shared request budget) in Django's cache: each test starts without
what an earlier test's answers left there."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def empty_shared_cache():
    cache.clear()
    yield
    cache.clear()
