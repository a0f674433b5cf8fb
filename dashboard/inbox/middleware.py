from urllib.parse import urlsplit

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpResponse
from django.urls import reverse
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect


class HtmxAwareLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Django's login requirement, but an htmx request whose session expired sends the whole
    page to sign-in instead of swapping the sign-in form into a card."""

    def handle_no_permission(self, request, view_func) -> HttpResponse:
        if getattr(request, "htmx", False):
            try:
                current = urlsplit(request.headers.get("HX-Current-URL", "/"))
            except ValueError:
                # A malformed header (`http://[::1`) is anyone's to send: sign in from the inbox.
                current = urlsplit("/")
            back = "/" + current.path.lstrip("/\\") + (f"?{current.query}" if current.query else "")
            return HttpResponseClientRedirect(f"{reverse('login')}?{urlencode({'next': back})}")
        return super().handle_no_permission(request, view_func)
