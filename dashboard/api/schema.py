"""What the API's schema describes: its own routes under /api/v1/ only. Other DRF views (the
health check, the embedded sandbox's WapiKit routes) are not part of the dashboard's API."""

from __future__ import annotations


def only_api_routes(endpoints, **kwargs):
    """drf-spectacular preprocessing hook."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]
