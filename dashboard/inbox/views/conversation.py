"""A conversation's own page: its thread, its actions and, for those who may read it, its audit trail."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.conversations import selectors, services
from dashboard.conversations.audit import audit_groups, may_read_history
from dashboard.conversations.models import AuditEntry
from dashboard.wapikit import errors, validate_id

from .answers import (
    HtmxHttpRequest,
    current_members,
    current_powers,
    no_such_page,
    page_beyond_reach,
    positive_int,
)


@require_GET
def conversation_detail(request: HtmxHttpRequest, conversation_id: str) -> HttpResponse:
    context: dict = {"next": request.get_full_path()}
    if page_beyond_reach(request.GET.get("page")):
        return no_such_page(request, request.GET["page"], back=request.path)
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
        context["retry"] = errors.worth_retrying(exc)
        return render(request, "inbox/conversation.html", context, status=errors.answer_status(exc))
    context.update(
        conversation=thread.conversation,
        thread=thread,
        status_ignored=services.status_updates_ignored(),
        # Owners and staff, who read the whole log on /audit/, and managers read it here.
        history=(
            audit_groups(AuditEntry.objects.filter(conversation_id=conversation_id)[:50])
            if may_read_history(request.user, powers)
            else None
        ),
    )
    return render(request, "inbox/conversation.html", context)
