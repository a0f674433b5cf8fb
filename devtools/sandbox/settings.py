"""Settings of the sandbox process: the same project and database, serving only the
WapiKit-compatible API, with no sessions, logins or CSRF (WapiKit authenticates by key).

How it answers is `SANDBOX_PROFILE` (from the development settings, `devtools/settings.py`):
"spec", "server" or "legacy"; see `devtools/sandbox/urls.py`."""

import os

from devtools.settings import *  # noqa: F403

ROOT_URLCONF = "devtools.sandbox.urls"
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
APPEND_SLASH = False
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "EXCEPTION_HANDLER": "devtools.sandbox.checks.exception_handler",
}

# The "server" and "legacy" profiles accept a second key, a non-Owner member's, which WapiKit's
# permission check refuses on every route that needs a permission. SANDBOX_API_KEY is the Owner's.
SANDBOX_MEMBER_KEY = os.environ.get("SANDBOX_MEMBER_KEY") or f"{SANDBOX_API_KEY}-member"  # noqa: F405
