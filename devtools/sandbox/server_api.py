"""The WapiKit endpoints as WapiKit's server code answers them: the "server" profile (RemotiQ/wapikit
055becef) and, through its dialect, the "legacy" one (wapikit/wapikit d0a3506). The differences
from the spec, row by row, are in shared/wapikit/REAL-SERVER.md; a comment naming 055becef points
at a detail read in that commit's source.

Every route runs WapiKit's middleware chain (`server_chain`) before its handler here, and the
handlers read their requests as WapiKit's binders do (`server_binding`)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, re_path
from django.utils import timezone

from . import control, dialects, events
from .gojson import empty_response, json_response
from .models import Conversation, ConversationAssignment, Member, Message, Role
from .seed import ORGANIZATION_ID
from .server_binding import body_object, conversation_uuid, go_quote, go_uuid, int_param, single_param, sql_window
from .server_chain import HandlerError, Method, Panic, endpoint
from .server_shapes import conversation_json, member_json, message_json
from .spec_shapes import campaign_json, campaigns_by_name

# WapiKit's database enum; "Resolved" is in no spec.
STATUSES = ("Active", "Closed", "Deleted", "Resolved")
MAX_CONVERSATIONS_PER_PAGE = 50
MAX_MESSAGES_PER_PAGE = 200
DUPLICATE_ASSIGNMENT = 'pq: duplicate key value violates unique constraint "ConversationAssignment_pkey"'


# Conversations


def list_conversations(request: HttpRequest) -> HttpResponse:
    """055becef: no ORDER BY, `total` never set, no messages, `roles: []`, and only status and
    campaign_id filter (order, contact_id and list_id are bound and then ignored)."""
    page, per_page = int_param(request, "page"), int_param(request, "per_page")
    if page == 0 or per_page > MAX_CONVERSATIONS_PER_PAGE:
        raise HandlerError(400, "Invalid page or perPage value")
    query = _filtered(status=single_param(request, "status"), campaign=single_param(request, "campaign_id"))
    rows = list(_with_counts(query).order_by("id")[sql_window(page, per_page)])
    assignees = listed_assignees([row.pk for row in rows])
    dialect = dialects.current()
    answers = []
    for row in rows:
        _require_attributes(row)
        answers.append(
            conversation_json(
                row, dialect, assignee=assignees.get(row.pk), messages=[], tags=True, unread=row.unread, total=row.total
            )
        )
    return json_response(200, {"conversations": answers, "paginationMeta": {"page": page, "per_page": per_page, "total": 0}})


def _filtered(*, status: str | None, campaign: str | None) -> QuerySet[Conversation]:
    query = Conversation.objects.all()
    if status is None:
        query = query.exclude(status__in=[Conversation.Status.CLOSED, Conversation.Status.DELETED])
    elif status in STATUSES:
        query = query.filter(status=status)
    else:
        raise HandlerError(500, f'pq: invalid input value for enum "ConversationStatusEnum": {go_quote(status)}')
    if campaign is not None:
        campaign_id = go_uuid(campaign)
        if campaign_id is None:
            raise Panic("uuid.MustParse")
        query = query.filter(campaign__unique_id=campaign_id)
    return query


def _with_counts(query: QuerySet[Conversation]) -> QuerySet[Conversation]:
    # WapiKit has no Unread status: it counts inbound messages still Sent.
    return (
        query.select_related("contact", "campaign")
        .prefetch_related("tags")
        .annotate(
            unread=Count("messages", filter=Q(messages__direction="InBound", messages__status="Sent"), distinct=True),
            total=Count("messages", distinct=True),
        )
    )


def listed_assignees(conversation_pks: list[int]) -> dict[int, Member]:
    """Whom a list shows as assignee. 055becef joins every assignment the conversation ever had,
    ended ones too, and its row mapper keeps the last joined row: with no ORDER BY, the newest
    one in practice (or the oldest, with the `list_assignee` control option)."""
    history = ConversationAssignment.objects.filter(conversation_id__in=conversation_pks).select_related("member")
    keep_first = control.option("list_assignee") == "oldest"
    shown: dict[int, Member] = {}
    for assignment in history.order_by("id"):
        if keep_first:
            shown.setdefault(assignment.conversation_id, assignment.member)
        else:
            shown[assignment.conversation_id] = assignment.member
    return shown


def _require_attributes(conversation: Conversation) -> None:
    """055becef dereferences the attributes column without a nil check."""
    if conversation.contact.attributes is None:
        raise Panic("nil pointer dereference")


def get_conversation(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """055becef selects no member columns, so `assignedTo` never appears, and no count, so
    `numberOfUnreadMessages` is 0; the messages are all of them, oldest first."""
    conversation = (
        Conversation.objects.select_related("contact", "campaign")
        .prefetch_related("tags")
        .filter(unique_id=conversation_uuid(conversation_id))
        .first()
    )
    if conversation is None:
        raise HandlerError(404, "conversation not found")
    _require_attributes(conversation)
    dialect = dialects.current()
    messages = [
        message_json(message, str(conversation.unique_id), dialect)
        for message in conversation.messages.order_by("created_at", "id")
    ]
    answer = conversation_json(conversation, dialect, assignee=None, messages=messages, tags=True, unread=0, total=None)
    return json_response(200, {"conversation": answer})


def update_conversation(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """055becef's handler logs the id and returns without writing: 200, empty, nothing changed."""
    conversation_uuid(conversation_id)
    return empty_response(200)


def delete_conversation(request: HttpRequest, conversation_id: str) -> HttpResponse:
    conversation_uuid(conversation_id)
    raise HandlerError(400, None)


def assign_conversation(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """A new history row, Assigned. Only when no assignment is active are the old ones ended
    first; the same member twice in one conversation's history is a duplicate key."""
    conversation_key = conversation_uuid(conversation_id)
    body = body_object(request, "AssignConversationSchema", ("organizationMemberId",))
    member_id = go_uuid(body.get("organizationMemberId", ""))
    if member_id is None:
        raise HandlerError(400, "invalid organization member id")
    member = Member.objects.filter(unique_id=member_id).first()
    if member is None:
        raise HandlerError(404, "organization member not found")
    conversation = Conversation.objects.filter(unique_id=conversation_key).first()
    if conversation is None:
        raise HandlerError(404, "conversation not found")
    try:
        with transaction.atomic():
            history = ConversationAssignment.objects.filter(conversation=conversation)
            if not history.filter(status=ConversationAssignment.Status.ASSIGNED).exists():
                history.update(status=ConversationAssignment.Status.UNASSIGNED)
            ConversationAssignment.objects.create(
                conversation=conversation, member=member, status=ConversationAssignment.Status.ASSIGNED, created_at=timezone.now()
            )
    except IntegrityError:
        raise HandlerError(500, DUPLICATE_ASSIGNMENT) from None
    _publish_assignment("ChatAssignment", conversation_id, str(member.unique_id))
    return json_response(200, {"data": True})


def unassign_conversation(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """Never reads the body: ends every assignment of the conversation. With none to end, 055becef's
    UPDATE ... RETURNING into a struct fails with qrm.ErrNoRows. Its ChatUnAssignment goes to
    the user of a struct that the UPDATE has just overwritten with zeros: uuid.Nil, nobody."""
    conversation = Conversation.objects.filter(unique_id=conversation_uuid(conversation_id)).first()
    if conversation is None:
        raise HandlerError(404, "conversation not found")
    history = ConversationAssignment.objects.filter(conversation=conversation)
    active = history.filter(status=ConversationAssignment.Status.ASSIGNED).select_related("member").order_by("id").first()
    if not history.update(status=ConversationAssignment.Status.UNASSIGNED):
        raise HandlerError(500, "qrm: no rows in result set")
    to_assignee = active is not None and control.option("unassign_event") == "assignee"
    _publish_assignment("ChatUnAssignment", conversation_id, str(active.member.unique_id) if to_assignee else events.NOBODY)
    return json_response(200, {"data": True})


def _publish_assignment(event_type: str, conversation_id: str, user_id: str) -> None:
    if dialects.current().has_events:
        events.publish(event_type, {"conversationId": conversation_id}, organization_id=str(ORGANIZATION_ID), user_id=user_id)


def list_messages(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """055becef: the newest `per_page` messages, then sorted oldest first; `total` counts the
    conversation's messages, or is 0 on an empty page. An unknown conversation is an empty page."""
    conversation_key = conversation_uuid(conversation_id)
    page, per_page = int_param(request, "page"), int_param(request, "per_page")
    if page == 0 or per_page > MAX_MESSAGES_PER_PAGE:
        raise HandlerError(400, "Invalid page or perPage value")
    messages = Message.objects.filter(conversation__unique_id=conversation_key)
    newest_first = list(messages.order_by("-created_at", "-id")[sql_window(page, per_page)])
    dialect = dialects.current()
    return json_response(
        200,
        {
            "messages": [message_json(m, str(conversation_key), dialect) for m in reversed(newest_first)],
            "paginationMeta": {"page": page, "per_page": per_page, "total": messages.count() if newest_first else 0},
        },
    )


# Members


def list_members(request: HttpRequest) -> HttpResponse:
    """055becef pages member x role rows, not members: a member with two roles can be split over
    two pages, `total` counts rows (0 on an empty page), and nil slices marshal as null."""
    page, per_page = int_param(request, "page"), int_param(request, "per_page")
    every_row = _member_role_rows()
    rows = every_row[sql_window(page, per_page)]
    meta = {"page": page, "per_page": per_page, "total": len(every_row) if rows else 0}
    grouped: dict[int, tuple[Member, list[Role]]] = {}
    for member, role in rows:
        roles = grouped.setdefault(member.pk, (member, []))[1]
        if role is not None:
            roles.append(role)
    members = [member_json(member, roles or None) for member, roles in grouped.values()]
    return json_response(200, {"members": members or None, "paginationMeta": meta})


def _member_role_rows() -> list[tuple[Member, Role | None]]:
    members = Member.objects.order_by("id").prefetch_related(Prefetch("roles", queryset=Role.objects.order_by("id")))
    return [(member, role) for member in members for role in (list(member.roles.all()) or [None])]


# Campaigns


def list_campaigns(request: HttpRequest) -> HttpResponse:
    """Not read in 055becef for REAL-SERVER.md: the spec's page of campaigns with the server's
    habits elsewhere, nil slices (`lists`, `tags`, an empty page) as null and `total` stated
    only beside a non-empty page, as in the members list."""
    page, per_page = int_param(request, "page"), int_param(request, "per_page")
    every = list(campaigns_by_name())
    rows = every[sql_window(page, per_page)]
    campaigns = [{**campaign_json(c), "lists": None, "tags": None} for c in rows]
    meta = {"page": page, "per_page": per_page, "total": len(every) if rows else 0}
    return json_response(200, {"campaigns": campaigns or None, "paginationMeta": meta})


# Routes


def urlpatterns() -> list[URLPattern]:
    dialect = dialects.current()
    conversation = r"^api/conversation/(?P<conversation_id>[^/]*)"
    patterns = [
        re_path(r"^api/conversations$", endpoint("conversations", {"GET": Method("Get:Conversation", list_conversations)})),
        re_path(
            conversation + "$",
            endpoint(
                "conversation",
                {
                    "GET": Method("Get:Conversation", get_conversation),
                    "POST": Method("Update:Conversation", update_conversation),
                    "DELETE": Method("Delete:Conversation", delete_conversation),
                },
            ),
        ),
        re_path(
            conversation + "/assign$",
            endpoint("assign", {dialect.assignment_method: Method("Assign:Conversation", assign_conversation)}),
        ),
        re_path(
            conversation + "/unassign$",
            endpoint("unassign", {dialect.assignment_method: Method("Unassign:Conversation", unassign_conversation)}),
        ),
        re_path(conversation + "/messages$", endpoint("messages", {"GET": Method("Get:Conversation", list_messages)})),
        re_path(r"^api/organization/members$", endpoint("members", {"GET": Method("Get:OrganizationMember", list_members)})),
        re_path(r"^api/campaigns$", endpoint("campaigns", {"GET": Method("Get:Campaign", list_campaigns)})),
    ]
    if dialect.has_events:
        patterns.append(re_path(r"^api/events$", events_route))
    return patterns


def events_route(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        response = json_response(405, {"message": "Method Not Allowed"})
        response["Allow"] = "GET"
        return response
    return events.events_view(request)
