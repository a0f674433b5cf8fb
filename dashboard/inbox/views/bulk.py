"""Close, reopen, reassign or unassign many conversations at once, within WapiKit's budget."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from dashboard.conversations import bulk, selectors, services
from dashboard.conversations.acting import Seen
from dashboard.conversations.models import AuditEntry
from dashboard.conversations.powers import Action
from dashboard.wapikit import errors, validate_id

from .answers import (
    ALERT,
    HtmxHttpRequest,
    acting_user,
    problem_without_js,
    return_to,
)
from .inbox import inbox_query


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
        actor = acting_user(request, via=AuditEntry.Via.BULK)
    except errors.WapiKitError as exc:
        return bulk_problem(request, exc.user_message, errors.answer_status(exc), next_url)
    powers = actor.powers
    if not powers.allows(action):
        return bulk_problem(request, f"Your WapiKit role does not allow you to {action} conversations.", 403, next_url)

    member = None
    if action is Action.ASSIGN:
        member = actor.member(request.POST.get("member_id", ""))
        if member is None:
            return bulk_problem(request, "Choose the member to reassign the selected conversations to.", 400, next_url)

    # Each id may carry the state its card showed: "<id>:<status>:<assignee id>".
    on_screen, seen = [], {}
    try:
        for token in request.POST.getlist("ids"):
            raw_id, _, state = token.partition(":")
            conversation_id = validate_id(raw_id)
            on_screen.append(conversation_id)
            if shown := Seen.parse(state):
                seen[conversation_id] = shown
    except errors.InvalidId:
        return bulk_problem(request, "The selection contains an id that is not a WapiKit conversation id.", 400, next_url)
    ids = on_screen
    if request.POST.get("all") == "yes" and not powers.can_view:
        # Which conversations match a search or a view is what they hold: for those who may read them.
        return bulk_problem(
            request, "Only those who may see conversations (Get:Conversation) may select every matching one.",
            403, next_url,
        )
    if request.POST.get("all") == "yes":
        query = inbox_query(request.POST)
        try:
            matching, _ = selectors.matching_conversations(query, member_id=powers.member.unique_id)
        except errors.WapiKitError as exc:
            return bulk_problem(request, exc.user_message, errors.answer_status(exc), next_url)
        ids = list(dict.fromkeys([*on_screen, *(c.unique_id for c in matching)]))
        for c in matching:
            seen.setdefault(c.unique_id, Seen.of(c))
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
    report = bulk.bulk_apply(actor=actor, action=action, ids=ids, member=member, seen=seen)
    if not powers.can_view:
        report = report.undisclosed()
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
