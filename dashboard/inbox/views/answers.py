"""What every inbox view answers with: fragments for htmx, flash-and-redirect or a problem page
without JavaScript, the user's powers, where to go back to, and the status for an upstream error."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import push_url, retarget
from django_htmx.middleware import HtmxDetails

from dashboard.conversations import members
from dashboard.conversations.acting import Actor
from dashboard.conversations.powers import Powers
from dashboard.observability.addresses import client_address
from dashboard.wapikit.client import MAX_PAGE

CARD = "inbox/inbox.html#card"
ALERT = "inbox/inbox.html#alert"


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def in_place(response: HttpResponse, style: str = "innerHTML") -> HttpResponse:
    """Swap an answer retargeted inside a card without scrolling the page: a card's form is
    boosted, and htmx scrolls a boosted answer's target to the top of the screen."""
    response["HX-Reswap"] = f"{style} show:none"
    return response


def fragment(request: HtmxHttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """A piece of a page answering an htmx request. Card actions are boosted forms, which
    htmx would otherwise record in the browser history as if they were pages."""
    return push_url(render(request, template, context, status=status), False)


def current_members(request: HtmxHttpRequest) -> list:
    """The organisation's members, read from the cache once per request."""
    if not hasattr(request, "_members"):
        request._members = members.members_list()
    return request._members


def current_powers(request: HtmxHttpRequest) -> Powers:
    """The user's WapiKit powers: those of the member with their email."""
    if not hasattr(request, "_powers"):
        request._powers = members.powers_for(request.user, current_members(request))
    return request._powers


def acting_user(request: HtmxHttpRequest, *, via: str) -> Actor:
    """Who acts in this request, read once: raises WapiKitError when the member list cannot be read."""
    return Actor(
        user=request.user,
        powers=current_powers(request),
        members=current_members(request),
        via=via,
        client_address=client_address(request),
    )


def on_this_site(request: HttpRequest, url: str | None) -> bool:
    return bool(url) and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def site_path(request: HttpRequest, candidate: str | None) -> str | None:
    """The path and query of `candidate` if it is a URL on this site, else None: the one check
    for every source of "where to go back to" (a form's `next`, htmx's current URL, the
    Referer). The path is rebuilt with a single leading slash, so a URL on this site whose path
    starts `//evil.example` (or `/\\evil.example`) never becomes a scheme-relative link off it."""
    if not on_this_site(request, candidate):
        return None
    parts = urlsplit(candidate)
    path = urlunsplit(("", "", "/" + parts.path.lstrip("/\\"), parts.query, ""))
    return path if on_this_site(request, path) else None


def return_to(request: HtmxHttpRequest) -> str:
    """The page to go back to after an action: the form's `next` when it carries one, else the
    page the request came from (htmx names it; browsers send it as the Referer, in full on the
    same origin), as a path on this site; the inbox when none of them is on this site."""
    explicit = request.POST.get("next") or request.GET.get("next")
    candidates = [explicit] if explicit else [request.htmx.current_url, request.headers.get("referer")]
    for candidate in candidates:
        if path := site_path(request, candidate):
            return path
    return reverse("inbox")


def positive_int(value: str | None, default: int) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return number if number >= 1 else default


def page_beyond_reach(value: str | None) -> bool:
    """Whether the page asked for is past the last page the dashboard ever asks WapiKit for."""
    return positive_int(value, 1) > MAX_PAGE


def no_such_page(request: HttpRequest, value: str, *, back: str) -> HttpResponse:
    """The answer to a page number past MAX_PAGE: nothing is sent to WapiKit, which fails on
    such numbers with a 500 that would count against its health for everyone."""
    context = {
        "headline": "No such page.",
        "alert": f"There is no page {value[:30]}: pages go up to {MAX_PAGE:,}.",
        "next": back,
    }
    return render(request, "inbox/problem.html", context, status=400)


def card_problem(
    request: HtmxHttpRequest, *, conversation_id: str, message: str, status: int, next_url: str
) -> HttpResponse:
    """A refused or failed action: the card keeps its state and shows why, with its buttons
    still there to try again. Without htmx: a flash message on the page the user came from."""
    if request.htmx:
        response = fragment(
            request,
            ALERT,
            {"alert": message, "alert_level": "error", "conversation_id": conversation_id},
            status=status,
        )
        retarget(response, f"#c-{conversation_id} .alert")
        return in_place(response)
    return problem_without_js(request, message, status, next_url)


def problem_without_js(request: HttpRequest, message: str, status: int, next_url: str) -> HttpResponse:
    if status in (400, 403):
        # Refused before anything was tried: say so with the status, not a redirect.
        return render(request, "inbox/problem.html", {"alert": message, "next": next_url}, status=status)
    messages.error(request, message)
    return redirect(next_url)
