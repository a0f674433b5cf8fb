"""One conversation's actions from its card or page: close, reopen, delete, assign (with the
member picker when nobody is chosen yet) and unassign."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from dashboard.conversations import selectors, services
from dashboard.conversations.models import AuditEntry
from dashboard.conversations.powers import Action, Powers
from dashboard.observability.addresses import client_address
from dashboard.wapikit import errors, validate_id

from .answers import (
    ALERT,
    CARD,
    HtmxHttpRequest,
    card_problem,
    current_members,
    current_powers,
    fragment,
    return_to,
)
from .inbox import inbox_query


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
            status=errors.answer_status(exc), next_url=next_url,
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
        return problem(exc.user_message, errors.answer_status(exc))
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
    if not powers.can_view:
        return undisclosed_response(
            request, result.undisclosed(), action=action, conversation_id=conversation_id, next_url=next_url
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
            context = {"conversation": conversation, "powers": powers, "notice": notice}
            if left_view(request, conversation, powers=powers, next_url=next_url):
                context.update(warning=LEFT_VIEW, left_view=True)
            return fragment(request, CARD, context)
        (messages.success if result.ok else messages.info)(request, notice)
        return redirect(next_url)
    error = result.error
    return problem(result.message, errors.answer_status(error) if error else 403)


# For someone who may act on a conversation but not read it: no contact's name.
_DONE_UNREAD = {
    Action.CLOSE: "Closed the conversation.",
    Action.REOPEN: "Reopened the conversation.",
    Action.DELETE: "Deleted the conversation.",
    Action.ASSIGN: "Assigned the conversation.",
    Action.UNASSIGN: "Unassigned the conversation.",
}


def undisclosed_response(
    request: HtmxHttpRequest, result: services.ActionResult, *, action: Action, conversation_id: str, next_url: str
) -> HttpResponse:
    """The answer to a user whose role allows the action but not Get:Conversation: what
    happened, in the card's alert, and never the card (its contact, status or assignee)."""
    if result.ok:
        text, level, status = _DONE_UNREAD[action], "success", 200
    elif result.outcome == "conflict":
        text, level, status = result.message, "warning", 409
    elif result.outcome in (AuditEntry.Outcome.SKIPPED, AuditEntry.Outcome.IGNORED):
        text, level, status = result.message, "warning", 200
    else:
        error = result.error
        return card_problem(
            request, conversation_id=conversation_id, message=result.message,
            status=errors.answer_status(error) if error else 403, next_url=next_url,
        )
    if request.htmx:
        response = fragment(request, ALERT, {"alert": text, "alert_level": level}, status=status)
        retarget(response, f"#c-{conversation_id} .alert")
        return reswap(response, "innerHTML")
    (messages.success if level == "success" else messages.warning)(request, text)
    return redirect(next_url)


LEFT_VIEW = "This conversation changed and left this view."


def left_view(request: HtmxHttpRequest, conversation, *, powers: Powers, next_url: str) -> bool:
    """Whether the inbox view the card was on (its `next`) no longer shows the conversation,
    by the same matching the inbox uses; cards elsewhere (the conversation page) never leave."""
    parts = urlsplit(next_url)
    if parts.path != reverse("inbox"):
        return False
    query = inbox_query(QueryDict(parts.query))
    return not selectors.in_view(conversation, query, member_id=powers.member.unique_id)


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
