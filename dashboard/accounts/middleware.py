from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .preferences import chosen_time_zone
from .zones import ShownZone, shown_zone

# Set by static/js/app.js to the browser's zone (Intl.DateTimeFormat's), when absent or changed.
BROWSER_COOKIE = "tz"


def browser_time_zone(request: HttpRequest) -> ShownZone | None:
    """The zone the browser reported; None without one, or for a name that is no known zone."""
    return shown_zone(request.COOKIES.get(BROWSER_COOKIE, ""))


def zone_for(request: HttpRequest) -> ShownZone | None:
    """The user's chosen zone, else their browser's, else None (settings.TIME_ZONE)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        chosen = shown_zone(chosen_time_zone(user=user, session=request.session))
        if chosen is not None:
            return chosen
    return browser_time_zone(request)


class TimeZoneMiddleware:
    """After authentication: every time a request renders is shown in the reader's zone."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = zone_for(request)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
