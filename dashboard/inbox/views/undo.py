"""Undo, from a card's confirmation: the reverse of the user's own close, reopen, reassign or
unassign, a moment after it (the domain's undo.py decides what reverses what, and whether it
may still run)."""

from __future__ import annotations

from django.http import HttpResponse
from django.views.decorators.http import require_POST

from dashboard.conversations import undo
from dashboard.conversations.models import AuditEntry

from .actions import action_response, inbox_view_of, opening
from .answers import HtmxHttpRequest, card_problem, positive_int, return_to


@require_POST
def conversation_undo(request: HtmxHttpRequest, conversation_id: str) -> HttpResponse:
    next_url = return_to(request)
    opened = opening(request, conversation_id, next_url)
    if isinstance(opened, HttpResponse):
        return opened
    conversation_id, actor = opened
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
