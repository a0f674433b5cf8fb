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

# A database file per test worker (pytest-django names them test.sqlite3_gw0, _gw1 ...), not
# Django's in-memory test database: that one is a single connection shared by every thread of
# the process, so two requests at once to a browser test's live server met "table is locked"
# or sqlite3.InterfaceError. With a file, each server thread opens its own connection and waits
# its turn to write, as `make run` does.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    (BASE_DIR / "var").mkdir(exist_ok=True)  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test.sqlite3")}  # noqa: F405
