"""Settings of the sandbox process: the same project and database, serving only the
WapiKit-compatible API, with no sessions, logins or CSRF (WapiKit authenticates by key)."""

from .settings import *  # noqa: F403

ROOT_URLCONF = "dashboard.sandbox.urls"
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
APPEND_SLASH = False
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "EXCEPTION_HANDLER": "dashboard.sandbox.api.exception_handler",
}
