"""Test hook `GET /_sandbox/state/<conversation id>` (the sandbox key in the auth header, as for
`/_sandbox/control`): what the sandbox's database holds for one conversation, whatever its
profile's answers say. Tests need it because the server's answers cannot tell: a single
conversation never names its assignee, and a list names an ended assignment too.

    {"status": "Active", "assignee_ids": ["<member id>", ...], "ever_assigned_ids": [...]}

`assignee_ids` lists every assignment in force (the server does not end one before adding
another, so there may be several), newest last; `ever_assigned_ids` every member the
conversation was ever assigned to (the server refuses to assign one of them again)."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from .checks import check_key, parse_uuid
from .models import Conversation, ConversationAssignment


@api_view(["GET"])
def state_view(request: Request, conversation_id: str) -> Response:
    check_key(request)
    conversation = get_object_or_404(
        Conversation.objects.select_related("assigned_to"), unique_id=parse_uuid(conversation_id, "id")
    )
    if settings.SANDBOX_PROFILE == "spec":
        assignees = ever = [conversation.assigned_to] if conversation.assigned_to else []
    else:
        history = list(
            ConversationAssignment.objects.filter(conversation=conversation).select_related("member").order_by("id")
        )
        assignees = [a.member for a in history if a.status == ConversationAssignment.Status.ASSIGNED]
        ever = [a.member for a in history]
    return Response(
        {
            "status": conversation.status,
            "assignee_ids": [str(m.unique_id) for m in assignees],
            "ever_assigned_ids": [str(m.unique_id) for m in ever],
        }
    )
