from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.conf import settings
from django.middleware.csrf import get_token
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url, reswap, retarget
from django_htmx.middleware import HtmxDetails

from dashboard.inbox.templatetags.inbox_tags import CSRF_PLACEHOLDER
from dashboard.wapikit import budget, errors, validate_id
from dashboard.audit.models import AuditEntry
from dashboard.accounts.addresses import client_address
from dashboard.audit.views import may_read_audit

from . import bulk, selectors, services
from .permissions import Action, Powers

logger = logging.getLogger(__name__)

CARD = "inbox/inbox.html#card"
ALERT = "inbox/inbox.html#alert"


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


# Helpers shared by the views


def fragment(request: HtmxHttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """A piece of a page answering an htmx request. Card actions are boosted forms, which
    htmx would otherwise record in the browser history as if they were pages."""
    return push_url(render(request, template, context, status=status), False)


def current_members(request: HtmxHttpRequest) -> list:
    """The organisation's members, read from the cache once per request."""
    if not hasattr(request, "_members"):
        request._members = selectors.members_list()
    return request._members


def current_powers(request: HtmxHttpRequest) -> Powers:
    """The user's WapiKit powers: those of the member with their email."""
    if not hasattr(request, "_powers"):
        request._powers = selectors.powers_for(request.user, current_members(request))
    return request._powers


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


def status_for_error(exc: errors.WapiKitError) -> int:
    if isinstance(exc, errors.InvalidId):
        return 400
    if isinstance(exc, errors.NotFound):
        return 404
    if isinstance(exc, errors.Rejected):
        return 409
    if isinstance(exc, errors.RateLimited):
        return 429
    if isinstance(exc, errors.TimedOut):
        return 504
    if isinstance(exc, errors.ServerError) and exc.status == 503:
        return 503
    return 502


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
        reswap(response, "innerHTML")
        return response
    return problem_without_js(request, message, status, next_url)


def problem_without_js(request: HttpRequest, message: str, status: int, next_url: str) -> HttpResponse:
    if status in (400, 403):
        # Refused before anything was tried: say so with the status, not a redirect.
        return render(request, "inbox/problem.html", {"alert": message, "next": next_url}, status=status)
    messages.error(request, message)
    return redirect(next_url)


# Pages


VIEW_LABELS = (("all", "All"), ("mine", "Mine"), ("unassigned", "Unassigned"))


def inbox_query(get) -> selectors.InboxQuery:
    """The inbox's filters, from the URL (or a form carrying them); anything unknown falls back
    to the default."""
    per_page = positive_int(get.get("per_page"), 25)

    def pick(name: str, choices, default: str) -> str:
        value = get.get(name, default)
        return value if value in choices else default

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
        status=pick("status", selectors.STATUS_FILTERS, "active"),
        view="all" if view == "member" and not member else view,
        member=member,
        campaign=uuid_or_blank("campaign"),
        q=get.get("q", "").strip()[:100],
        sort=pick("sort", selectors.SORTS, "recent"),
        page=positive_int(get.get("page"), 1),
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
    if status is not None and status not in selectors.STATUS_FILTERS:
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
    query = inbox_query(request.GET)
    context = {
        "query": query,
        "status_filters": list(selectors.STATUS_FILTERS),
        "sorts": selectors.SORTS,
        "view_labels": VIEW_LABELS,
        "next": request.get_full_path(),
        "refresh_seconds": settings.INBOX_REFRESH_SECONDS,
        "live_refresh_seconds": settings.INBOX_LIVE_REFRESH_SECONDS,
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
        context["status_ignored"] = services.status_updates_ignored()
    except errors.WapiKitError as exc:
        context["upstream_error"] = exc.user_message
        return render(request, template, context, status=status_for_error(exc))
    context["links"] = {
        "status": {name: query_string(query, status=name, page=1) for name in selectors.STATUS_FILTERS},
        "per_page": {n: query_string(query, per_page=n, page=1) for n in selectors.PER_PAGE_CHOICES},
        "first": query_string(query, page=1),
        "previous": query_string(query, page=page.page - 1),
        "next": query_string(query, page=page.page + 1),
        "views": view_links(query),
    }
    # The bulk form carries the view, so "select all matching" means this view's matches.
    context["query_fields"] = [
        (f, getattr(query, f)) for f in ("status", "view", "member", "campaign", "q", "sort") if getattr(query, f)
    ]
    response = render(request, template, context)
    # Cached cards carry a placeholder where this request's CSRF token belongs.
    response.content = response.content.replace(CSRF_PLACEHOLDER.encode(), get_token(request).encode())
    return response


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
def conversation_detail(request: HtmxHttpRequest, conversation_id: str) -> HttpResponse:
    context: dict = {"next": request.get_full_path()}
    try:
        conversation_id = validate_id(conversation_id)
        powers = current_powers(request)
        context["powers"] = powers
        if not powers.can_view:
            return render(request, "inbox/conversation.html", context, status=403)
        thread = selectors.conversation_with_messages(
            conversation_id, page=positive_int(request.GET.get("page"), 1), members=current_members(request)
        )
    except errors.WapiKitError as exc:
        context["upstream_error"] = exc.user_message
        return render(request, "inbox/conversation.html", context, status=status_for_error(exc))
    context.update(
        conversation=thread.conversation,
        thread=thread,
        status_ignored=services.status_updates_ignored(),
        # One rule for the audit trail, here as on /audit/: Owners and staff read it.
        history=(
            AuditEntry.objects.filter(conversation_id=conversation_id)[:50]
            if may_read_audit(request.user, powers)
            else None
        ),
    )
    return render(request, "inbox/conversation.html", context)


def member_picker(
    request: HtmxHttpRequest, conversation_id: str, *, seen: services.Seen | None, next_url: str
) -> HttpResponse:
    """The answer to "assign" without a member: the members to choose from, with their open
    conversations. Under the card with htmx, a page of its own without."""
    try:
        members = current_members(request)
        counts = selectors.open_counts()
    except errors.WapiKitError as exc:
        return card_problem(
            request, conversation_id=conversation_id, message=exc.user_message,
            status=status_for_error(exc), next_url=next_url,
        )
    context = {
        "conversation_id": conversation_id,
        "members": [(m, counts.get(m.unique_id, 0), selectors.member_warnings(m)) for m in members],
        "seen": seen,
        "next": next_url,
    }
    if request.htmx:
        response = fragment(request, "inbox/reassign.html#picker", context)
        retarget(response, f"#c-{conversation_id} .picker-slot")
        return reswap(response, "innerHTML")
    return render(request, "inbox/reassign.html", context)


# Upstream names inside our sentences are isolated, so a right-to-left override in a contact's
# name cannot reorder the rest of the sentence.
_DONE = {
    Action.CLOSE: "Closed the conversation with <bdi>{name}</bdi>.",
    Action.REOPEN: "Reopened the conversation with <bdi>{name}</bdi>.",
    Action.DELETE: "Deleted the conversation with <bdi>{name}</bdi>.",
    Action.ASSIGN: "Assigned the conversation with <bdi>{name}</bdi> to <bdi>{member}</bdi>.",
    Action.UNASSIGN: "Unassigned the conversation with <bdi>{name}</bdi>.",
}


def seen_state(request: HttpRequest) -> services.Seen | None:
    """What the form was drawn from; forms without it (API clients) skip the conflict check."""
    return services.Seen.parse(request.POST.get("seen"))


@require_POST
def conversation_action(request: HtmxHttpRequest, conversation_id: str, action: str) -> HttpResponse:
    action = Action(action)
    next_url = return_to(request)

    def problem(message: str, status: int) -> HttpResponse:
        return card_problem(
            request, conversation_id=conversation_id, message=message, status=status, next_url=next_url
        )

    try:
        conversation_id = validate_id(conversation_id)
    except errors.InvalidId as exc:
        conversation_id = "invalid"
        return problem(exc.user_message, 400)

    try:
        powers = current_powers(request)
    except errors.WapiKitError as exc:
        return problem(exc.user_message, status_for_error(exc))
    if not powers.allows(action):
        # Audited like every attempt, but nothing goes upstream.
        services.conversation_act(
            user=request.user, powers=powers, conversation_id=conversation_id, action=action, via=via_of(next_url),
            client_address=client_address(request),
        )
        return problem(f"Your WapiKit role does not allow you to {action} conversations.", 403)

    seen = seen_state(request)
    member = None
    if action is Action.ASSIGN:
        if not request.POST.get("member_id"):
            # The card's Reassign button: nobody chosen yet, so offer the choice.
            return member_picker(request, conversation_id, seen=seen, next_url=next_url)
        try:
            member_id = validate_id(request.POST["member_id"])
        except errors.InvalidId:
            return problem("Choose a member to assign the conversation to.", 400)
        member = next((m for m in current_members(request) if m.unique_id == member_id), None)
        if member is None:
            return problem("That member is not in this WapiKit organisation.", 400)

    if action is Action.DELETE and request.POST.get("confirmed") != "yes":
        return render(
            request,
            "inbox/confirm_delete.html",
            {
                "conversation_id": conversation_id,
                "next": next_url,
                "seen": seen,
            },
        )

    result = services.conversation_act(
        user=request.user,
        powers=powers,
        conversation_id=conversation_id,
        action=action,
        via=via_of(next_url),
        member=member,
        seen=seen,
        force=request.POST.get("force") == "yes",
        members=current_members(request),
        client_address=client_address(request),
    )
    if result.outcome == "conflict":
        return conflict_response(request, result, action=action, member=member, powers=powers, next_url=next_url)
    if result.outcome == AuditEntry.Outcome.IGNORED:
        # WapiKit said yes and did nothing: the card shows the real state and says so.
        if request.htmx:
            return fragment(
                request,
                "inbox/inbox.html#ignored",
                {"conversation": result.conversation, "powers": powers, "warning": result.message, "status_ignored": True},
            )
        messages.warning(request, result.message)
        return redirect(next_url)
    if result.ok or result.outcome == AuditEntry.Outcome.SKIPPED:
        conversation = result.conversation
        notice = (
            format_html(_DONE[action], name=conversation.contact.name, member=member.name if member else "")
            if result.ok
            else f"Nothing to do: {result.message}"
        )
        if request.htmx:
            return fragment(request, CARD, {"conversation": conversation, "powers": powers, "notice": notice})
        (messages.success if result.ok else messages.info)(request, notice)
        return redirect(next_url)
    error = result.error
    return problem(result.message, status_for_error(error) if error else 403)


def via_of(next_url: str) -> str:
    return AuditEntry.Via.PAGE if next_url.startswith("/conversations/") else AuditEntry.Via.CARD


def conflict_response(
    request: HtmxHttpRequest, result: services.ActionResult, *, action: Action, member, powers: Powers, next_url: str
) -> HttpResponse:
    """Someone changed the conversation since the user saw it: nothing was sent. Show what
    changed, who did it when the audit log knows, and offer to apply the action anyway."""
    conversation = result.conversation
    who = ""
    if result.changed_by is not None:
        entry = result.changed_by
        who = format_html(
            " by <bdi>{}</bdi> {} ago", entry.member_name or entry.user_email,
            timesince(entry.completed_at or entry.started_at),
        )
    changes = format_html_join(" and ", "<bdi>{}</bdi>", ((change,) for change in result.changes))
    notice = format_html("Not applied: since you loaded this card, {}{}.", changes, who)
    if request.htmx:
        return fragment(
            request,
            CARD,
            {
                "conversation": conversation,
                "powers": powers,
                "conflict": notice,
                "conflict_action": action,
                "conflict_member": member,
            },
            status=409,
        )
    messages.warning(
        request, format_html("{} The page now shows the current state; act again if you still want to.", notice)
    )
    return redirect(next_url)


@require_POST
def bulk_action(request: HtmxHttpRequest) -> HttpResponse:
    """Close, reopen, reassign or unassign many conversations; answer with the full report."""
    next_url = return_to(request)
    try:
        action = Action(request.POST.get("action", ""))
    except ValueError:
        action = None
    if action not in bulk.BULK_ACTIONS:
        return bulk_problem(request, "Choose Close, Reopen, Reassign or Unassign.", 400, next_url)
    # Bounded before anything is read or audited: each id costs WapiKit requests and an audit row.
    cap = settings.BULK_MAX_IDS
    if len(request.POST.getlist("ids")) > cap:
        return bulk_problem(
            request, f"A bulk action takes at most {cap} ticked conversations at a time: select fewer.", 400, next_url
        )
    if wait := bulk.seconds_until_allowed(user_id=request.user.pk):
        response = bulk_problem(
            request, f"Too many bulk actions in a row. Try again in {wait} seconds.", 429, next_url
        )
        response["Retry-After"] = str(wait)
        return response
    try:
        powers = current_powers(request)
        members = current_members(request)
    except errors.WapiKitError as exc:
        return bulk_problem(request, exc.user_message, status_for_error(exc), next_url)
    if not powers.allows(action):
        return bulk_problem(request, f"Your WapiKit role does not allow you to {action} conversations.", 403, next_url)

    member = None
    if action is Action.ASSIGN:
        member = next((m for m in members if m.unique_id == request.POST.get("member_id")), None)
        if member is None:
            return bulk_problem(request, "Choose the member to reassign the selected conversations to.", 400, next_url)

    # Each id may carry the state its card showed: "<id>:<status>:<assignee id>".
    on_screen, seen = [], {}
    try:
        for token in request.POST.getlist("ids"):
            raw_id, _, state = token.partition(":")
            conversation_id = validate_id(raw_id)
            on_screen.append(conversation_id)
            if shown := services.Seen.parse(state):
                seen[conversation_id] = shown
    except errors.InvalidId:
        return bulk_problem(request, "The selection contains an id that is not a WapiKit conversation id.", 400, next_url)
    ids = on_screen
    if request.POST.get("all") == "yes":
        query = inbox_query(request.POST)
        try:
            matching, _ = selectors.matching_conversations(query, member_id=powers.member.unique_id)
        except errors.WapiKitError as exc:
            return bulk_problem(request, exc.user_message, status_for_error(exc), next_url)
        ids = list(dict.fromkeys([*on_screen, *(c.unique_id for c in matching)]))
        for c in matching:
            seen.setdefault(c.unique_id, services.Seen.of(c))
    if not ids:
        return bulk_problem(request, "Select at least one conversation.", 400, next_url)

    # The team shares WapiKit's budget: refuse what it cannot carry, ask before digging into the reserve.
    count = len(dict.fromkeys(ids))
    needs = bulk.budget_needs(action=action, count=count)
    if short := [need for need in needs if need.more_than_remains]:
        return bulk_problem(request, " ".join(need.refusal for need in short), 429, next_url)
    crossing = [need for need in needs if need.crosses_reserve]
    if crossing and request.POST.get("confirm") != "yes":
        confirm = {
            "action": action,
            "count": count,
            "crossing": crossing,
            # The same request again, with the confirmation.
            "fields": [(name, value) for name in request.POST if name not in ("csrfmiddlewaretoken", "confirm")
                       for value in request.POST.getlist(name)],
            "next": next_url,
        }
        template = "inbox/bulk_confirm.html#confirm" if request.htmx else "inbox/bulk_confirm.html"
        return render(request, template, confirm)

    visible = set(on_screen) | set(request.POST.get("screen", "").split(","))
    report = bulk.bulk_apply(
        user=request.user, powers=powers, action=action, ids=ids, member=member, seen=seen, members=members,
        client_address=client_address(request),
    )
    context = {
        "report": report,
        "powers": powers,
        "status_ignored": services.status_updates_ignored(),
        "next": next_url,
        # Redraw every card the page shows (the browser lists them in `screen`), ticked or not.
        "redraw": [item.result.conversation for item in report.items
                   if item.conversation_id in visible and item.result.conversation is not None],
    }
    if request.htmx:
        return render(request, "inbox/inbox.html#bulk_report", context)
    return render(request, "inbox/bulk_report.html", context)


def bulk_problem(request: HtmxHttpRequest, message: str, status: int, next_url: str) -> HttpResponse:
    if request.htmx:
        return render(request, ALERT, {"alert": message, "alert_level": "error"}, status=status)
    return problem_without_js(request, message, status, next_url)



@require_GET
def workload(request: HtmxHttpRequest) -> HttpResponse:
    """Who holds how many active conversations: for those who may (re)assign them."""
    try:
        powers = current_powers(request)
        if not powers.can_assign:
            return render(request, "inbox/workload.html", {"forbidden": True, "powers": powers}, status=403)
        with budget.background():
            rows, unassigned, description = selectors.team_workload()
    except errors.WapiKitError as exc:
        return render(request, "inbox/workload.html", {"upstream_error": exc.user_message}, status=status_for_error(exc))
    return render(
        request,
        "inbox/workload.html",
        {"rows": rows, "unassigned": unassigned, "scan_description": description, "powers": powers},
    )


@require_GET
def inbox_changes(request: HtmxHttpRequest) -> HttpResponse:
    """What changed on the visible inbox page since it was drawn. The browser sends the version
    of each card it may redraw (not those the user is acting on); the answer redraws only the
    cards that changed and adds new ones, or is an empty 204 when nothing did."""
    query = inbox_query(request.GET)
    seen: dict[str, str] = {}
    for token in request.GET.get("v", "").split(","):
        conversation_id, _, version = token.partition(":")
        if conversation_id and version:
            seen[conversation_id] = version
    busy = set(request.GET.get("busy", "").split(","))
    try:
        powers = current_powers(request)
        if not powers.can_view:
            return HttpResponse(status=403)
        # Polling is a background read: below the budget's reserve it waits, the page keeps what it has.
        with budget.background():
            page, _ = selectors.filtered_inbox(query, member_id=powers.member.unique_id, members=current_members(request))
    except errors.WapiKitError:
        # The next poll tries again; the page already shows what it had.
        return HttpResponse(status=204)
    changed, new = [], []
    for conversation in page.conversations:
        cid = conversation.unique_id
        if cid in busy:
            continue
        if cid not in seen:
            new.append(conversation)
        elif seen[cid] != selectors.card_version(conversation):
            changed.append(conversation)
    present = {c.unique_id for c in page.conversations}
    gone = [cid for cid in seen if cid not in present and cid not in busy]
    if not (changed or new or gone):
        return HttpResponse(status=204)
    return render(
        request,
        "inbox/inbox.html#changes",
        {
            "changed": changed,
            "new": new,
            "gone": gone,
            "powers": powers,
            "status_ignored": services.status_updates_ignored(),
        },
    )
