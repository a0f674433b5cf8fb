"""The test suite's settings: the development settings (devtools/settings.py: the dashboard's own
with the sandbox and benchmarks installed), with a key of its own and DEBUG asked for. Set in the
environment before the dashboard's settings read it, so the processes the tests start (the
sandbox, servers, management commands) get the same unless a test gives them another."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-insecure-secret-key-do-not-use-in-production")
# Read as development reads it: static files from the apps (no collectstatic), no redirect to
# https, cookies over http. pytest-django still runs each test with DEBUG off, so error pages
# are the ones users see; tests of production settings start processes with DEBUG=false.
os.environ.setdefault("DEBUG", "true")

from devtools.settings import *  # noqa: E402, F403

# No demo traffic: a test's conversations change only when it says so.
SANDBOX_DEMO_TRAFFIC_SECONDS = 0
# The suite's bulk tests are of the action itself, on however many conversations they need; the
# tests of the confirmation asked above the threshold (tests/browser/test_still.py) set it back
# to the default, 5.
BULK_CONFIRM_ABOVE = 1000  # noqa: F405
