"""Close, reopen, reassign or unassign many conversations at once, within WapiKit's budget."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from dashboard.conversations import bulk, lives, selectors, services
from dashboard.conversations.acting import Actor, Seen
from dashboard.conversations.models import AuditEntry
from dashboard.conversations.powers import Action
from dashboard.wapikit import errors, validate_id
from dashboard.wapikit.types import Member

from .actions import LEFT_VIEW, done_notice, inbox_view_of
from .answers import (
    ALERT,
    HtmxHttpRequest,
    acting_user,
    problem_without_js,
    return_to,
)
from .inbox import inbox_query


class Refused(Exception):
    """A bulk request that is refused before anything is sent, with the sentence and status to answer."""

    def __init__(self, message: str, status: int, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.retry_after = message, status, retry_after


@require_POST
def bulk_action(request: HtmxHttpRequest) -> HttpResponse:
    """Close, reopen, reassign or unassign many conversations; answer with the full report."""
    next_url = return_to(request)
    try:
        action = requested_action(request)
        actor = acting_user(request, via=AuditEntry.Via.BULK)
        if not actor.powers.allows(action):
            raise Refused(f"Your WapiKit role does not allow you to {action} conversations.", 403)
        member = chosen_member(request, actor, action)
        on_screen, ids, seen = selection(request, actor)
        needs = budget_needs(action, count=len(ids))
    except errors.WapiKitError as exc:
        return bulk_problem(request, exc.user_message, errors.answer_status(exc), next_url)
    except Refused as refusal:
        response = bulk_problem(request, refusal.message, refusal.status, next_url)
        if refusal.retry_after:
            response["Retry-After"] = str(refusal.retry_after)
        return response
    # Many at once, or digging into the team's reserve: asked first.
    if (needs or len(ids) > settings.BULK_CONFIRM_ABOVE) and request.POST.get("confirm") != "yes":
        return budget_confirmation(request, action, count=len(ids), crossing=needs, next_url=next_url)
    report = bulk.bulk_apply(actor=actor, action=action, ids=ids, member=member, seen=seen)
    return report_response(request, report, powers=actor.powers, on_screen=on_screen, next_url=next_url)


def requested_action(request: HtmxHttpRequest) -> Action:
    """The action, bounded before anything is read or audited: each id costs WapiKit requests
    and an audit row."""
    try:
        action = Action(request.POST.get("action", ""))
    except ValueError:
        action = None
    if action not in bulk.BULK_ACTIONS:
        raise Refused("Choose Close, Reopen, Reassign or Unassign.", 400)
    cap = settings.BULK_MAX_IDS
    if len(request.POST.getlist("ids")) > cap:
        raise Refused(f"A bulk action takes at most {cap} ticked conversations at a time: select fewer.", 400)
    if wait := bulk.seconds_until_allowed(user_id=request.user.pk):
        raise Refused(f"Too many bulk actions in a row. Try again in {wait} seconds.", 429, retry_after=wait)
    return action


def chosen_member(request: HtmxHttpRequest, actor: Actor, action: Action) -> Member | None:
    if action is not Action.ASSIGN:
        return None
    member = actor.member(request.POST.get("member_id", ""))
    if member is None:
        raise Refused("Choose the member to reassign the selected conversations to.", 400)
    return member


def selection(request: HtmxHttpRequest, actor: Actor) -> tuple[list[str], list[str], dict[str, Seen]]:
    """The ticked ids (on screen), every id to act on (with "select all matching", those of the
    view too), each once, and the state each card showed. Each ticked id may carry it: "<id>:<status>:<assignee id>"."""
    on_screen, seen = [], {}
    try:
        for token in request.POST.getlist("ids"):
            raw_id, _, state = token.partition(":")
            conversation_id = validate_id(raw_id)
            on_screen.append(conversation_id)
            if shown := Seen.parse(state):
                seen[conversation_id] = shown
    except errors.InvalidId:
        raise Refused("The selection contains an id that is not a WapiKit conversation id.", 400) from None
    ids = list(dict.fromkeys(on_screen))
    if request.POST.get("all") == "yes":
        if not actor.powers.can_view:
            # Which conversations match a search or a view is what they hold: for those who may read them.
            raise Refused("Only those who may see conversations (Get:Conversation) may select every matching one.", 403)
        query = inbox_query(request.POST)
        matching, _ = selectors.matching_conversations(query, member_id=actor.powers.member.unique_id)
        ids = list(dict.fromkeys([*on_screen, *(c.unique_id for c in matching)]))
        for c in matching:
            seen.setdefault(c.unique_id, Seen.of(c))
    if not ids:
        raise Refused("Select at least one conversation.", 400)
    return on_screen, ids, seen


def budget_needs(action: Action, *, count: int) -> list:
    """The team shares WapiKit's budget: refuse what it cannot carry; the routes whose reserve
    the action would dig into, to ask before."""
    needs = bulk.budget_needs(action=action, count=count)
    if short := [need for need in needs if need.more_than_remains]:
        raise Refused(" ".join(need.refusal for need in short), 429)
    return [need for need in needs if need.crosses_reserve]


def budget_confirmation(
    request: HtmxHttpRequest, action: Action, *, count: int, crossing: list, next_url: str
) -> HttpResponse:
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


def report_response(
    request: HtmxHttpRequest, report: bulk.BulkReport, *, powers, on_screen: list[str], next_url: str
) -> HttpResponse:
    if not powers.can_view:
        report = report.undisclosed()
    visible = set(on_screen) | set(request.POST.get("screen", "").split(","))
    context = {
        "report": report,
        "powers": powers,
        "status_ignored": services.status_updates_ignored(),
        "next": next_url,
        # Redraw every card the page shows (the browser lists them in `screen`), ticked or not.
        "redraw": redrawn_cards(
            [item for item in report.items if item.conversation_id in visible and item.result.conversation is not None],
            action=report.action, member=report.member, powers=powers, next_url=next_url,
        ),
    }
    if request.htmx:
        return render(request, "inbox/inbox.html#bulk_report", context)
    return render(request, "inbox/bulk_report.html", context)


def redrawn_cards(items: list[bulk.BulkItem], *, action: Action, member, powers, next_url: str) -> list[dict]:
    """The cards a report redraws, each saying what the user did to it (never "changed
    elsewhere": the change is theirs) and whether it left the view it is shown in."""
    shown_in = inbox_view_of(next_url)
    cards = []
    for item in items:
        conversation = lives.attach([item.result.conversation])[0]
        card = {"conversation": conversation}
        if item.result.ok:
            card["notice"] = done_notice(action, conversation, member)
            if shown_in is not None and not selectors.in_view(
                conversation, shown_in, member_id=powers.member.unique_id
            ):
                card.update(warning=LEFT_VIEW, left_view=True)
        cards.append(card)
    return cards


def bulk_problem(request: HtmxHttpRequest, message: str, status: int, next_url: str) -> HttpResponse:
    if request.htmx:
        return render(request, ALERT, {"alert": message, "alert_level": "error"}, status=status)
    return problem_without_js(request, message, status, next_url)
