"""The inbox page: its filters from the URL, the ownership tabs that load after it, and the
live refresh that redraws the cards that changed."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from dashboard.conversations import backfill, selectors, services, shared
from dashboard.inbox.templatetags.inbox_tags import CSRF_PLACEHOLDER
from dashboard.observability.logs import ChangeLog
from dashboard.wapikit import budget, errors, validate_id
from dashboard.wapikit.client import MAX_PAGE

from . import stillness
from .alerts import open_alerts
from .answers import (
    HtmxHttpRequest,
    current_members,
    current_powers,
    no_such_page,
    page_beyond_reach,
    positive_int,
)

logger = logging.getLogger(__name__)
# Every inbox asks for the names: without them, one line when they go and one when they return.
campaign_names = ChangeLog(
    logger, began="No campaign names for the filter: %s", ended="Campaign names for the filter are back"
)


VIEW_LABELS = (
    ("all", "All"), ("mine", "Mine"), ("unassigned", "Unassigned"), ("due", "Due soon"), ("overdue", "Overdue"),
)


def inbox_query(get) -> selectors.InboxQuery:
    """The inbox's filters, from the URL (or a form carrying them); anything unknown falls back
    to the default."""
    per_page = positive_int(get.get("per_page"), 25)

    def pick(name: str, choices, default: str) -> str:
        value = get.get(name, default)
        return value if value in choices else default

    # People type `?status=Closed` as the card shows it; links and the form use the lower-case key.
    status = get.get("status", "active").lower()

    def uuid_or_blank(name: str) -> str:
        try:
            return validate_id(get[name]) if get.get(name) else ""
        except errors.InvalidId:
            return ""

    member = uuid_or_blank("member")
    view = pick("view", selectors.VIEWS, "all")
    if member and view == "all":
        view = "member"
    return selectors.InboxQuery(
        status=status if status in selectors.STATUS_FILTERS else "active",
        view="all" if view == "member" and not member else view,
        member=member,
        campaign=uuid_or_blank("campaign"),
        q=get.get("q", "").strip()[:100],
        sort=pick("sort", selectors.SORTS, "recent"),
        # Views refuse a page past MAX_PAGE with a message; links carried in forms are held to it.
        page=min(positive_int(get.get("page"), 1), MAX_PAGE),
        per_page=per_page if per_page in selectors.PER_PAGE_CHOICES else 25,
    )


def view_links(query: selectors.InboxQuery) -> dict[str, str]:
    return {view: query_string(query, view=view, page=1) for view, _ in VIEW_LABELS}


def query_string(query: selectors.InboxQuery, **changes) -> str:
    """The URL query of a view, without defaults, for links that change one thing."""
    defaults = selectors.InboxQuery()
    values = {**{f: getattr(query, f) for f in query.__dataclass_fields__}, **changes}
    if values.get("view") != "member":
        values["member"] = ""
    return urlencode({k: v for k, v in values.items() if v != getattr(defaults, k)})


@require_GET
def inbox(request: HtmxHttpRequest) -> HttpResponse:
    status = request.GET.get("status")
    if status is not None and status.lower() not in selectors.STATUS_FILTERS:
        return render(
            request,
            "inbox/problem.html",
            {
                "headline": "Unknown filter.",
                "alert": f"There is no status filter “{status[:40]}”: choose Active, Closed, Deleted or All.",
                "next": "/",
            },
            status=400,
        )
    if page_beyond_reach(request.GET.get("page")):
        return no_such_page(request, request.GET["page"], back="/")
    query = inbox_query(request.GET)
    context = {
        "query": query,
        "status_filters": list(selectors.STATUS_FILTERS),
        "sorts": selectors.SORTS,
        "view_labels": VIEW_LABELS,
        "next": request.get_full_path(),
        "refresh_seconds": settings.INBOX_REFRESH_SECONDS,
        "live_refresh_seconds": settings.INBOX_LIVE_REFRESH_SECONDS,
        # The filters and tabs need no WapiKit answer: they stay when it cannot be read.
        "links": page_links(query, page=query.page),
        # The bulk form carries the view, so "select all matching" means this view's matches.
        "query_fields": [
            (f, getattr(query, f)) for f in ("status", "view", "member", "campaign", "q", "sort") if getattr(query, f)
        ],
    }
    # A filter, tab or page link asks for the results only; they carry their own error banners.
    template = "inbox/inbox.html#results" if request.htmx.target == "results" else "inbox/inbox.html"
    try:
        powers = current_powers(request)
        context["powers"] = powers
        if not powers.can_view:
            return render(request, template, context, status=403)
        context["members"] = current_members(request)
        page, context["scanned"] = selectors.filtered_inbox(
            query, member_id=powers.member.unique_id, members=context["members"]
        )
        context["inbox"] = page
        context["open_alerts"], context["more_alerts"] = open_alerts(powers)
        backfill.wanted(c.unique_id for c in page.conversations if c.life is None or c.life.last_message_at is None)
        context["status_ignored"] = services.status_updates_ignored()
        context["campaigns"] = campaign_choices()
    except errors.WapiKitError as exc:
        context["upstream_error"] = exc.user_message
        context["retry"] = errors.worth_retrying(exc)
        # Down, and no copy of this view kept: the page says since when (the top bar keeps its links).
        context["unreachable_at"] = request.wapikit_down_since = shared.down_since(exc)
        return render(request, template, context, status=errors.answer_status(exc))
    context["links"] = page_links(query, page=page.page)
    response = render(request, template, context)
    # Cached cards carry a placeholder where this request's CSRF token belongs.
    response.content = response.content.replace(CSRF_PLACEHOLDER.encode(), get_token(request).encode())
    return response


def page_links(query: selectors.InboxQuery, *, page: int) -> dict:
    """The query strings of the page's links: each status, page size, neighbouring page and view."""
    return {
        "status": {name: query_string(query, status=name, page=1) for name in selectors.STATUS_FILTERS},
        "per_page": {n: query_string(query, per_page=n, page=1) for n in selectors.PER_PAGE_CHOICES},
        "first": query_string(query, page=1),
        "previous": query_string(query, page=page - 1),
        "next": query_string(query, page=page + 1),
        "views": view_links(query),
    }


def campaign_choices() -> list[tuple[str, str]]:
    """The campaign filter's choices by name; without them (WapiKit refused or failed to list
    them) the filter still takes an id, so the page does not fail for their sake."""
    try:
        choices = selectors.campaign_choices()
    except errors.WapiKitError as exc:
        campaign_names.failed(exc)
        return []
    campaign_names.succeeded()
    return choices


@require_GET
def inbox_tabs(request: HtmxHttpRequest) -> HttpResponse:
    """The ownership tabs with their counts: these need the scan, so they load after the page."""
    query = inbox_query(request.GET)
    try:
        powers = current_powers(request)
        if not powers.can_view:
            return HttpResponse(status=403)
        # Counts nobody asked for yet: a background read, held back below the budget's reserve.
        with budget.background():
            counts = selectors.view_counts(query.status, member_id=powers.member.unique_id)
            description = "; ".join(s.description for s in selectors.scanned(query.status))
    except errors.WapiKitError as exc:
        return render(
            request, "inbox/inbox.html#tabs", {"query": query, "tabs_error": exc.user_message, "view_labels": VIEW_LABELS}
        )
    return render(
        request,
        "inbox/inbox.html#tabs",
        {
            "query": query,
            "counts": counts,
            "scan_description": description,
            "views": view_links(query),
            "view_labels": VIEW_LABELS,
        },
    )


@require_GET
def inbox_changes(request: HtmxHttpRequest) -> HttpResponse:
    """What changed on the visible inbox page since it was drawn, told without moving a card
    (stillness.py): the cards that changed redrawn in place, a note on those that left the view
    or this page, and the bar counting what a redraw of the list would show; an empty 204 when
    none of it changed."""
    query = inbox_query(request.GET)
    screen = stillness.Screen.parse(request.GET)
    try:
        powers = current_powers(request)
        if not powers.can_view:
            return HttpResponse(status=403)
        member_id = powers.member.unique_id
        # Polling is a background read: below the budget's reserve it waits, the page keeps what it has.
        with budget.background():
            page, _ = selectors.filtered_inbox(query, member_id=member_id, members=current_members(request))
            present = {c.unique_id for c in page.conversations}
            missing = [i for i in screen.versions if i not in present and i not in screen.busy]
            in_view = selectors.still_in_view(missing, query, member_id=member_id)
    except errors.WapiKitError:
        # The next poll tries again; the page already shows what it had.
        return HttpResponse(status=204)
    changed = [
        c for c in page.conversations
        if c.unique_id in screen.versions and c.unique_id not in screen.busy
        and screen.versions[c.unique_id] != selectors.card_version(c)
    ]
    pushed_down = {i for i, still in in_view.items() if still}
    left = [i for i, still in in_view.items() if still is False]
    bar = stillness.bar_of(screen, page.conversations, pushed_down=pushed_down)
    if not (changed or left or pushed_down) and bar.key == screen.bar_key:
        return HttpResponse(status=204)
    return render(
        request,
        "inbox/inbox.html#changes",
        {
            "changed": changed,
            "left_by_me": own_changes(request, left),
            "left": left,
            "pushed_down": pushed_down,
            "bar": bar,
            "bar_oob": True,
            "next": f"{reverse('inbox')}?{query_string(query)}",
            "powers": powers,
            "status_ignored": services.status_updates_ignored(),
        },
    )


def own_changes(request: HtmxHttpRequest, conversation_ids: list[str]) -> set[str]:
    """Those of the conversations whose last change the audit log knows was this user's: their
    cards name it as theirs, not as a change made elsewhere."""
    return {
        conversation_id for conversation_id in conversation_ids
        if (entry := services.last_change(conversation_id)) is not None and entry.user_id == request.user.pk
    }
