"""The WapiKit endpoints as WapiKit's server code answers them: the "server" profile (RemotiQ/wapikit
055becef) and, through its dialect, the "legacy" one (wapikit/wapikit d0a3506). The differences
from the spec, row by row, are in shared/wapikit/REAL-SERVER.md; a comment naming 055becef points
at a detail read in that commit's source.

Every route runs WapiKit's middleware chain in its order: echo's router (404 and 405 as
{"message"}), the rate limiter (server only; it counts before the key is checked), the key, the
permission check, then the control module's latency and faults, then the handler. A handler fails
with `HandlerError` (a bare JSON string; {"message"} in legacy) or `Panic` (what echo's Recover
middleware makes of a Go panic: 500 {"message": "Internal Server Error"}).

Over 300 lines on purpose: WapiKit's server-code answers for every route, side by side as REAL-SERVER.md lists them."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, re_path
from django.utils import timezone

from . import control, dialects, events, ratelimit
from .gojson import empty_response, json_response
from .keys import key_holder
from .models import Conversation, ConversationAssignment, Member, Message, Role
from .seed import ORGANIZATION_ID
from .server_shapes import conversation_json, member_json, message_json
from .spec_shapes import campaign_json, campaigns_by_name

# WapiKit's database enum; "Resolved" is in no spec.
STATUSES = ("Active", "Closed", "Deleted", "Resolved")
MAX_CONVERSATIONS_PER_PAGE = 50
MAX_MESSAGES_PER_PAGE = 200
NOT_AUTHENTICATED = "Unauthorized access"
NOT_PERMITTED = "You are not authorized to access this resource."
DUPLICATE_ASSIGNMENT = 'pq: duplicate key value violates unique constraint "ConversationAssignment_pkey"'


class HandlerError(Exception):
    """`context.JSON(status, text)` in a WapiKit handler; `text=None` writes JSON null."""

    def __init__(self, status: int, text: str | None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


class Panic(Exception):
    """A nil dereference or a failed `uuid.MustParse` in a WapiKit handler."""


@dataclass(frozen=True)
class Method:
    permission: str
    handler: Callable[..., HttpResponse]


# The middleware chain


def endpoint(bucket: str, methods: dict[str, Method]) -> Callable[..., HttpResponse]:
    """One route pattern: its methods share the pattern's rate-limit bucket, as in WapiKit."""

    def view(request: HttpRequest, **params: str) -> HttpResponse:
        method = methods.get(request.method or "")
        if method is None:
            return method_not_allowed(methods)
        verdict = ratelimit.take(bucket, ratelimit.client_ip(request)) if dialects.current().rate_limited else None
        response = _answer(request, method, params, verdict)
        for name, value in verdict.headers().items() if verdict else ():
            if name not in response:
                response[name] = value
        return response

    return view


def _answer(request: HttpRequest, method: Method, params: dict[str, str], verdict: ratelimit.Verdict | None) -> HttpResponse:
    if verdict is not None and not verdict.allowed:
        return json_response(429, verdict.refusal())
    dialect = dialects.current()
    try:
        caller = key_holder(request.headers.get("x-access-token", ""))
        if caller is None:
            raise HandlerError(401, NOT_AUTHENTICATED)
        # 055becef reads a role's permissions into an unexported field that stays empty: only
        # an Owner passes a route that needs a permission, and every route here needs one.
        if caller.access_level != Member.AccessLevel.OWNER and method.permission:
            raise HandlerError(401, NOT_PERMITTED)
        return _fault(request) or method.handler(request, **params)
    except HandlerError as error:
        return json_response(error.status, None if error.text is None else dialect.error_body(error.text))
    except Panic:
        return json_response(500, {"message": "Internal Server Error"})


def _fault(request: HttpRequest) -> HttpResponse | None:
    fault, current = control.take_fault(request)
    if fault == "none":
        return None
    if fault == "wrong_shape":
        return json_response(200, control.WRONG_SHAPE)
    if not fault.startswith("status_"):
        return control.transport_fault(fault, current)
    status = int(fault.removeprefix("status_"))
    if status == 429 and dialects.current().rate_limited:
        reset = int(time.time()) + current["retry_after"]
        response = json_response(429, ratelimit.Verdict(False, 0, 0, reset).refusal())
        response["X-RateLimit-Remaining"], response["X-RateLimit-Reset"] = "0", str(reset)
        return response
    if status in (502, 503):  # a gateway's answer, whatever runs behind it
        response = json_response(status, {"message": control.MESSAGES[status]})
        if status == 503:
            response["Retry-After"] = str(current["retry_after"])
        return response
    return json_response(status, dialects.current().error_body(control.MESSAGES[status]))


def method_not_allowed(methods: dict[str, Method]) -> HttpResponse:
    response = json_response(405, {"message": "Method Not Allowed"})
    response["Allow"] = ", ".join(methods)
    return response


def not_found(request: HttpRequest, **params: str) -> HttpResponse:
    return json_response(404, {"message": "Not Found"})


# Reading the request as WapiKit's binders do


def int_param(request: HttpRequest, name: str) -> int:
    """A required int64 query parameter, bound by oapi-codegen's runtime (v1.1.1)."""
    raw = _single_param(request, name)
    if raw is None:
        raise HandlerError(400, f"query parameter '{name}' is required")
    if not re.fullmatch(r"[+-]?[0-9]+", raw):
        raise HandlerError(400, f"strconv.ParseInt: parsing {_go_quote(raw)}: invalid syntax")
    value = int(raw)
    if not -(2**63) <= value < 2**63:
        raise HandlerError(400, f"strconv.ParseInt: parsing {_go_quote(raw)}: value out of range")
    return value


def _single_param(request: HttpRequest, name: str) -> str | None:
    values = request.GET.getlist(name)
    if len(values) > 1:
        raise HandlerError(400, f"multiple values for single value parameter '{name}'")
    return values[0] if values else None


def _go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def sql_window(page: int, per_page: int) -> slice:
    """LIMIT per_page OFFSET (page - 1) * per_page, with PostgreSQL's refusals of negatives.
    The offset is Go's int64 arithmetic: a product past its range wraps around."""
    offset = ((page - 1) * per_page + 2**63) % 2**64 - 2**63
    if offset < 0:
        raise HandlerError(500, "pq: OFFSET must not be negative")
    if per_page < 0:
        raise HandlerError(500, "pq: LIMIT must not be negative")
    return slice(offset, offset + per_page)


_DASHED_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def go_uuid(raw: str) -> uuid.UUID | None:
    """google/uuid's Parse: the dashed form, in braces, after "urn:uuid:", or 32 hex digits."""
    text = raw
    if len(text) == 45 and text[:9].lower() == "urn:uuid:":
        text = text[9:]
    elif len(text) == 38 and text[0] == "{" and text[-1] == "}":
        text = text[1:-1]
    if _DASHED_UUID.fullmatch(text) or re.fullmatch(r"[0-9a-fA-F]{32}", text):
        return uuid.UUID(text)
    return None


def conversation_uuid(raw: str) -> uuid.UUID:
    if not raw:
        raise HandlerError(400, "conversation id is required")
    parsed = go_uuid(raw)
    if parsed is None:
        raise HandlerError(400, "invalid conversation id")
    return parsed


def body_object(request: HttpRequest, schema: str, fields: tuple[str, ...]) -> dict[str, str]:
    """echo's `Bind` into a Go struct of string fields: no body binds nothing; a body that is not
    JSON, not an object, or has a non-string field is refused with echo's error text."""
    if not request.body:
        return {}
    if not (request.content_type or "").startswith("application/json"):
        raise HandlerError(400, "code=415, message=Unsupported Media Type")
    try:
        value = json.loads(request.body)
    except ValueError as error:
        detail = f"invalid character looking for beginning of value ({error.msg})"
        raise HandlerError(400, f"code=400, message=Syntax error: offset={error.pos + 1}, error={detail}, internal={detail}") from None
    if not isinstance(value, dict):
        raise HandlerError(400, _unmarshal_type_error(f"api_types.{schema}", _json_kind(value), "", len(request.body)))
    bound: dict[str, str] = {}
    for name in fields:
        item = value.get(name)
        if item is not None and not isinstance(item, str):
            raise HandlerError(400, _unmarshal_type_error("string", _json_kind(item), name, len(request.body)))
        bound[name] = item or ""
    return bound


def _unmarshal_type_error(expected: str, got: str, field: str, offset: int) -> str:
    internal = f"json: cannot unmarshal {got} into Go value of type {expected}"
    return f"code=400, message=Unmarshal type error: expected={expected}, got={got}, field={field}, offset={offset}, internal={internal}"


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string"}.get(type(value), "null")


# Conversations


def list_conversations(request: HttpRequest) -> HttpResponse:
    """055becef: no ORDER BY, `total` never set, no messages, `roles: []`, and only status and
    campaign_id filter (order, contact_id and list_id are bound and then ignored)."""
    page, per_page = int_param(request, "page"), int_param(request, "per_page")
    if page == 0 or per_page > MAX_CONVERSATIONS_PER_PAGE:
        raise HandlerError(400, "Invalid page or perPage value")
    query = _filtered(status=_single_param(request, "status"), campaign=_single_param(request, "campaign_id"))
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
        raise HandlerError(500, f'pq: invalid input value for enum "ConversationStatusEnum": {_go_quote(status)}')
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
