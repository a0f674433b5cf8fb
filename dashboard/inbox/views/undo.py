"""Undo, from a card's confirmation: the reverse of the user's own close, reopen, reassign or
unassign, a moment after it (the domain's undo.py decides what reverses what, and whether it
may still run)."""

from __future__ import annotations

from django.http import HttpResponse
from django.views.decorators.http import require_POST

from dashboard.conversations import undo
from dashboard.conversations.models import AuditEntry
from dashboard.wapikit import errors, validate_id

from .actions import action_response, inbox_view_of, via_of
from .answers import HtmxHttpRequest, acting_user, card_problem, positive_int, return_to


@require_POST
def conversation_undo(request: HtmxHttpRequest, conversation_id: str) -> HttpResponse:
    next_url = return_to(request)
    try:
        conversation_id = validate_id(conversation_id)
        actor = acting_user(request, via=via_of(next_url))
    except errors.WapiKitError as exc:
        shown_id = "invalid" if isinstance(exc, errors.InvalidId) else conversation_id
        return card_problem(
            request, conversation_id=shown_id, message=exc.user_message, status=errors.answer_status(exc),
            next_url=next_url,
        )
    entry = AuditEntry.objects.filter(pk=positive_int(request.POST.get("entry"), 0)).first()
    if reason := undo.refusal(entry, actor=actor, conversation_id=conversation_id):
        return card_problem(request, conversation_id=conversation_id, message=reason, status=409, next_url=next_url)
    reversal = undo.reversal_of(entry)
    result = undo.conversation_undo(
        actor=actor, entry=entry, force=request.POST.get("force") == "yes", shown_in=inbox_view_of(next_url)
    )
    return action_response(
        request, result, action=reversal.action, member=actor.member(reversal.member_id), powers=actor.powers,
        conversation_id=conversation_id, next_url=next_url, undoing=entry,
    )
