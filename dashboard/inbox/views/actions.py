"""One conversation's actions from its card or page: close, reopen, delete, assign (with the
member picker when nobody is chosen yet) and unassign."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince
from django.views.decorators.http import require_POST
from django_htmx.http import retarget

from dashboard.conversations import lives, selectors, services, undo, workload
from dashboard.conversations.acting import ActionResult, Actor, Outcome, Seen
from dashboard.conversations.models import AuditEntry
from dashboard.conversations.powers import Action, Powers
from dashboard.wapikit import errors, validate_id
from dashboard.wapikit.types import Member

from .answers import (
    ALERT,
    CARD,
    HtmxHttpRequest,
    acting_user,
    card_problem,
    current_members,
    current_powers,
    fragment,
    in_place,
    return_to,
)
from .inbox import inbox_query


def member_picker(
    request: HtmxHttpRequest, conversation_id: str, *, seen: Seen | None, next_url: str
) -> HttpResponse:
    """The answer to "assign" without a member: the members to choose from, with their open
    conversations. Under the card with htmx, a page of its own without."""
    try:
        members = current_members(request)
        counts = workload.open_counts()
    except errors.WapiKitError as exc:
        return card_problem(
            request, conversation_id=conversation_id, message=exc.user_message,
            status=errors.answer_status(exc), next_url=next_url,
        )
    context = {
        "conversation_id": conversation_id,
        "contact_name": picker_title_name(request, conversation_id),
        "members": [(m, counts.get(m.unique_id, 0), workload.member_warnings(m)) for m in members],
        "seen": seen,
        "next": next_url,
    }
    if request.htmx:
        response = fragment(request, "inbox/reassign.html#picker", context)
        retarget(response, f"#c-{conversation_id} .picker-slot")
        return in_place(response)
    return render(request, "inbox/reassign.html", context)


def picker_title_name(request: HtmxHttpRequest, conversation_id: str) -> str:
    """Whom the picker reassigns, for its title: only for those who may read the conversation,
    and "" when WapiKit cannot say (the picker still works without it)."""
    if not current_powers(request).can_view:
        return ""
    try:
        return selectors.contact_name(conversation_id)
    except errors.WapiKitError:
        return ""


# Upstream names inside our sentences are isolated, so a right-to-left override in a contact's
# name cannot reorder the rest of the sentence.
_DONE = {
    Action.CLOSE: "Closed the conversation with <bdi>{name}</bdi>.",
    Action.REOPEN: "Reopened the conversation with <bdi>{name}</bdi>.",
    Action.DELETE: "Deleted the conversation with <bdi>{name}</bdi>.",
    Action.ASSIGN: "Assigned the conversation with <bdi>{name}</bdi> to <bdi>{member}</bdi>.",
    Action.UNASSIGN: "Unassigned the conversation with <bdi>{name}</bdi>.",
}


def done_notice(action: Action, conversation, member: Member | None) -> str:
    """What the user did, in their card's confirmation."""
    return format_html(_DONE[action], name=conversation.contact.name, member=member.name if member else "")


def seen_state(request: HttpRequest) -> Seen | None:
    """What the form was drawn from; forms without it (API clients) skip the conflict check."""
    return Seen.parse(request.POST.get("seen"))


def opening(request: HtmxHttpRequest, conversation_id: str, next_url: str) -> tuple[str, Actor] | HttpResponse:
    """What every action on a card starts from: the conversation's id checked and the user as an
    actor, or the card's problem when either cannot be had."""
    try:
        conversation_id = validate_id(conversation_id)
        return conversation_id, acting_user(request, via=via_of(next_url))
    except errors.WapiKitError as exc:
        shown_id = "invalid" if isinstance(exc, errors.InvalidId) else conversation_id
        return card_problem(
            request, conversation_id=shown_id, message=exc.user_message, status=errors.answer_status(exc),
            next_url=next_url,
        )


@require_POST
def conversation_action(request: HtmxHttpRequest, conversation_id: str, action: str) -> HttpResponse:
    action = Action(action)
    next_url = return_to(request)
    opened = opening(request, conversation_id, next_url)
    if isinstance(opened, HttpResponse):
        return opened
    conversation_id, actor = opened
    seen = seen_state(request)
    member = None
    if actor.powers.allows(action):
        # Steps before acting, for those who may: choose whom to assign, confirm a deletion.
        if action is Action.ASSIGN and not request.POST.get("member_id"):
            return member_picker(request, conversation_id, seen=seen, next_url=next_url)
        if action is Action.ASSIGN:
            member, refusal = _chosen_member(request, actor)
            if member is None:
                return card_problem(
                    request, conversation_id=conversation_id, message=refusal, status=400, next_url=next_url
                )
        if action is Action.DELETE and request.POST.get("confirmed") != "yes":
            context = {"conversation_id": conversation_id, "next": next_url, "seen": seen}
            return render(request, "inbox/confirm_delete.html", context)
    result = services.conversation_act(
        actor=actor,
        conversation_id=conversation_id,
        action=action,
        member=member,
        seen=seen,
        force=request.POST.get("force") == "yes",
        shown_in=inbox_view_of(next_url),
    )
    return action_response(
        request, result, action=action, member=member, powers=actor.powers, conversation_id=conversation_id,
        next_url=next_url,
    )


def _chosen_member(request: HttpRequest, actor: Actor) -> tuple[Member | None, str]:
    """The member picked to assign the conversation to, or why there is none."""
    try:
        member_id = validate_id(request.POST["member_id"])
    except errors.InvalidId:
        return None, "Choose a member to assign the conversation to."
    member = actor.member(member_id)
    return member, "" if member else "That member is not in this WapiKit organisation."


def action_response(
    request: HtmxHttpRequest, result: ActionResult, *, action: Action, member, powers: Powers, next_url: str,
    conversation_id: str, undoing: AuditEntry | None = None,
) -> HttpResponse:
    """The answer to an action (`undoing`: the entry an Undo reverses): the card redrawn (or,
    without htmx, the page it came from) with what happened and, for a close, reopen, reassign
    or unassign, an Undo for a moment; a conflict to resolve, or the problem."""
    if not powers.can_view:
        return undisclosed_response(
            request, result.undisclosed(), action=action, conversation_id=conversation_id, next_url=next_url
        )
    if result.outcome is Outcome.CONFLICT:
        return conflict_response(
            request, result, action=action, member=member, powers=powers, next_url=next_url, undoing=undoing
        )
    if result.outcome is Outcome.IGNORED:
        # WapiKit said yes and did nothing: the card shows the real state and says so.
        if request.htmx:
            return fragment(
                request,
                "inbox/inbox.html#ignored",
                {"conversation": with_life(result.conversation), "powers": powers, "warning": result.message,
                 "status_ignored": True},
            )
        messages.warning(request, result.message)
        return redirect(next_url)
    if result.outcome in (Outcome.SUCCEEDED, Outcome.SKIPPED):
        conversation = with_life(result.conversation)
        notice = done_notice(action, conversation, member) if result.ok else f"Nothing to do: {result.message}"
        if undoing is not None and result.ok:
            notice = format_html("Undone. {}", notice)
        offer = undo_offer(result) if undoing is None else None
        if request.htmx:
            context = {"conversation": conversation, "powers": powers, "notice": notice, "undo": offer}
            if result.left_view:
                context.update(warning=LEFT_VIEW, left_view=True)
            return fragment(request, CARD, context)
        if offer:
            # Without JavaScript the Undo comes with the message on the page the user goes back to.
            form = render_to_string(UNDO_FORM, {"undo": offer, "cid": conversation_id, "next": next_url}, request)
            notice = format_html("{} {}", notice, mark_safe(form))
        (messages.success if result.ok else messages.info)(request, notice)
        return redirect(next_url)
    error = result.error
    return card_problem(
        request, conversation_id=conversation_id, message=result.message,
        status=errors.answer_status(error) if error else 403, next_url=next_url,
    )


# For someone who may act on a conversation but not read it: no contact's name.
_DONE_UNREAD = {
    Action.CLOSE: "Closed the conversation.",
    Action.REOPEN: "Reopened the conversation.",
    Action.DELETE: "Deleted the conversation.",
    Action.ASSIGN: "Assigned the conversation.",
    Action.UNASSIGN: "Unassigned the conversation.",
}


def undisclosed_response(
    request: HtmxHttpRequest, result: ActionResult, *, action: Action, conversation_id: str, next_url: str
) -> HttpResponse:
    """The answer to a user whose role allows the action but not Get:Conversation: what
    happened, in the card's alert, and never the card (its contact, status or assignee)."""
    if result.ok:
        text, level, status = _DONE_UNREAD[action], "success", 200
    elif result.outcome is Outcome.CONFLICT:
        text, level, status = result.message, "warning", 409
    elif result.outcome in (Outcome.SKIPPED, Outcome.IGNORED):
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
        return in_place(response)
    (messages.success if level == "success" else messages.warning)(request, text)
    return redirect(next_url)


LEFT_VIEW = "This conversation changed and left this view."
UNDO_FORM = "inbox/inbox.html#undo_form"


def undo_offer(result: ActionResult) -> dict | None:
    """The card's Undo of a successful action, while it may run: the audit entry it reverses."""
    if not result.ok or not undo.offered(result.entry):
        return None
    return {"entry": result.entry.pk, "seconds": settings.ACTION_UNDO_SECONDS}


def with_life(conversation):
    """The conversation as a card shows it: with what the timeline knows of it."""
    return lives.attach([conversation])[0]


def inbox_view_of(next_url: str) -> selectors.InboxQuery | None:
    """The inbox view a card was on (its `next`), for telling whether an action moved the
    conversation out of it; None for cards elsewhere (the conversation page), which never leave."""
    parts = urlsplit(next_url)
    if parts.path != reverse("inbox"):
        return None
    return inbox_query(QueryDict(parts.query))


def via_of(next_url: str) -> str:
    return AuditEntry.Via.PAGE if next_url.startswith("/conversations/") else AuditEntry.Via.CARD


def conflict_response(
    request: HtmxHttpRequest, result: ActionResult, *, action: Action, member, powers: Powers, next_url: str,
    undoing: AuditEntry | None = None,
) -> HttpResponse:
    """Someone changed the conversation since the user saw it: nothing was sent. Show what
    changed, who did it when the audit log knows, and offer to apply the action anyway."""
    conversation = with_life(result.conversation)
    changes = format_html_join(" and ", "<bdi>{}</bdi>", ((change,) for change in result.changes))
    notice = format_html(
        "Not applied: since you loaded this card, {}{}.", changes, changed_by(result.changed_by, request.user)
    )
    # What the user wanted may hold already (closed elsewhere, when they meant to close it):
    # then there is nothing to apply anyway.
    already = services.already_so(action, conversation, member)
    if already:
        notice = format_html("{} {}", notice, already)
    if request.htmx:
        return fragment(
            request,
            CARD,
            {
                "conversation": conversation,
                "powers": powers,
                "conflict": notice,
                # An Undo's "Apply anyway" is still the undo, audited as such.
                "conflict_action": None if already else ("undo" if undoing else action),
                "conflict_member": None if undoing else member,
                "conflict_entry": undoing.pk if undoing else None,
            },
            status=409,
        )
    messages.warning(
        request, format_html("{} The page now shows the current state; act again if you still want to.", notice)
    )
    return redirect(next_url)


# The user's own change, by where they made it: a card or page the user is not looking at now.
_BY_YOU = {
    AuditEntry.Via.API: " by you, through the API, {}",
    AuditEntry.Via.BULK: " by you, in a bulk action, {}",
}


def changed_by(entry: AuditEntry | None, user) -> str:
    """Who made the change that stopped an action, and when, as the audit log knows it: the
    user themselves is "you" (from another tab or window, a bulk action or the API), and a
    change under a minute old happened "just now"."""
    if entry is None:
        return ""
    at = entry.completed_at or entry.started_at
    when = "just now" if timezone.now() - at < timedelta(minutes=1) else f"{timesince(at)} ago"
    if entry.user_id is not None and entry.user_id == user.pk:
        return format_html(_BY_YOU.get(entry.via, " by you, in another tab or window, {}"), when)
    return format_html(" by <bdi>{}</bdi> {}", entry.member_name or entry.user_email, when)
