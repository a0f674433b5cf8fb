from urllib.parse import urlsplit

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
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


class PrivateAnswersMiddleware:
    """Whatever a signed-in user is shown (pages, htmx fragments, the audit CSV) is theirs
    alone: no shared cache may keep it, and no browser may store it for the next person at a
    shared computer. A view that sets its own Cache-Control keeps it."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response
