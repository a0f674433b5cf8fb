"""The development settings: production's (`dashboard/settings.py`) with the development tools
installed. `make run`, `make test` (through `tests/settings.py`), `make bench`, `make bench-live`,
`make bench-day` and `make screenshots` use them; a deployment uses `dashboard.settings`, so its
database never gets the sandbox's tables.

The sandbox process serves with `devtools/sandbox/settings.py`, built on these."""

import os

from django.core.exceptions import ImproperlyConfigured

from dashboard.settings import *  # noqa: F403
from dashboard.settings import INSTALLED_APPS, WAPIKIT_API_KEY, env_bool

INSTALLED_APPS = [
    *INSTALLED_APPS,
    # The embedded WapiKit sandbox (app label "sandbox"): its models, seed and `make run`'s rundemo.
    "devtools.sandbox",
    # `make bench` and `make screenshots`, and the kit they share.
    "devtools.benchmarks",
    # `make bench-live`: issue 11's figures against a live deployment.
    "devtools.benchlive",
    # `make bench-day`: a simulated day, time compressed, against a live deployment.
    "devtools.benchday",
]

# The sandbox answers with this key, and with this added latency (tests change it at run time).
SANDBOX_API_KEY = os.environ.get("SANDBOX_API_KEY") or WAPIKIT_API_KEY
SANDBOX_LATENCY_MS = int(os.environ.get("SANDBOX_LATENCY_MS", "0"))
SANDBOX_CACHE_GETS = env_bool("SANDBOX_CACHE_GETS", False)
# How the sandbox answers: "spec" follows WapiKit's doc page and spec; "server" answers the way
# WapiKit's server code does (shared/wapikit/REAL-SERVER.md); "legacy" like the older server
# (wapikit/wapikit d0a3506).
SANDBOX_PROFILES = ("spec", "server", "legacy")
SANDBOX_PROFILE = os.environ.get("SANDBOX_PROFILE", "spec").strip().lower() or "spec"
if SANDBOX_PROFILE not in SANDBOX_PROFILES:
    raise ImproperlyConfigured(f"SANDBOX_PROFILE must be one of {', '.join(SANDBOX_PROFILES)}, not {SANDBOX_PROFILE!r}")
# `make run`'s demo: a customer writes again this often (devtools/sandbox/demo_traffic.py), so the
# inbox shows live updates by itself; 0 turns it off (the tests' settings do).
SANDBOX_DEMO_TRAFFIC_SECONDS = float(os.environ.get("SANDBOX_DEMO_TRAFFIC_SECONDS", "45"))
