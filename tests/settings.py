"""The test suite's settings: the dashboard's own, with a key of its own. Set in the environment
before the dashboard's settings read it, so the processes the tests start (the sandbox, servers,
management commands) get the same unless a test gives them another."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-insecure-secret-key-do-not-use-in-production")

from dashboard.settings import *  # noqa: E402, F403
