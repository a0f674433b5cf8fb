"""WapiKit-compatible endpoints, answering as `shared/wapikit/` describes: the key check,
paging rules, the default list without Closed and Deleted, whole conversations from updates,
`{"data": true}` from assign and unassign, and `{"message"}` error bodies (`checks`), with the
answers' shapes in `spec_shapes`.

These are the "spec" profile's routes; the "server" and "legacy" profiles answer from
`server_api` (see `urls`). `control_view` serves every profile."""

from __future__ import annotations

import threading

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from rest_framework.decorators import api_view
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from . import control
from .checks import SandboxError, check_key, parse_uuid
from .models import Conversation, Member, Message
from .spec_shapes import (
    campaign_json,
    campaigns_by_name,
    conversation_json,
    conversations,
    member_json,
    message_json,
    one_conversation,
)

MAX_CONVERSATIONS_PER_PAGE = 50

_answers: dict[str, bytes] = {}
_answers_lock = threading.Lock()


def sandbox_endpoint(*methods: str):
    """A DRF view that checks the key and lets the control module add latency or faults.

    With SANDBOX_CACHE_GETS (for benchmarks only: a write from another process would not be
    seen) GET answers are kept until this process changes something."""

    def decorate(func):
        def view(request: Request, *args, **kwargs) -> Response | HttpResponse:
            check_key(request)
            fault = control.before_request(request)
            if fault is not None:
                return fault
            if not settings.SANDBOX_CACHE_GETS:
                return func(request, *args, **kwargs)
            key = request.get_full_path()
            if request.method == "GET" and key in _answers:
                return HttpResponse(_answers[key], content_type="application/json")
            response = func(request, *args, **kwargs)
            if request.method != "GET":
                with _answers_lock:
                    _answers.clear()
            elif response.status_code == 200:
                body = JSONRenderer().render(response.data)
                with _answers_lock:
                    _answers[key] = body
            return response

        view.__name__ = func.__name__
        return api_view(methods)(view)

    return decorate


INT64_MAX = 2**63 - 1


def positive_int(request: Request, name: str, *, required: bool = True, default: int = 1) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        if required:
            raise SandboxError(400, f"{name} is required")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SandboxError(400, f"{name} must be an integer") from None
    if value < 1:
        raise SandboxError(400, f"{name} must be at least 1")
    if value > INT64_MAX:
        raise SandboxError(400, f"{name} must be at most {INT64_MAX}")  # the spec's format: int64
    return value


def page_window(page: int, per_page: int) -> slice:
    """The rows of one page; a page past the end, however far, is empty (the offset is held
    to what the database can bind)."""
    start = min((page - 1) * per_page, INT64_MAX)
    return slice(start, start + per_page)


def order_param(request: Request) -> str:
    order = request.query_params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise SandboxError(400, "order must be asc or desc")
    return order


def pagination_meta(page: int, per_page: int, total: int) -> dict:
    return {"page": page, "per_page": per_page, "total": total}


# Endpoints


@sandbox_endpoint("GET")
def list_conversations(request: Request) -> Response:
    page = positive_int(request, "page")
    per_page = positive_int(request, "per_page")
    if per_page > MAX_CONVERSATIONS_PER_PAGE:
        raise SandboxError(400, f"per_page cannot be more than {MAX_CONVERSATIONS_PER_PAGE}")
    query = Conversation.objects.all()
    status = request.query_params.get("status")
    if status:
        if status not in Conversation.Status.values:
            raise SandboxError(400, "invalid status")
        query = query.filter(status=status)
    else:
        query = query.exclude(status__in=[Conversation.Status.CLOSED, Conversation.Status.DELETED])
    for param, field in (("campaign_id", "campaign__unique_id"), ("contact_id", "contact__unique_id")):
        if value := request.query_params.get(param):
            query = query.filter(**{field: parse_uuid(value, param)})
    if value := request.query_params.get("list_id"):
        query = query.filter(contact__lists__unique_id=parse_uuid(value, "list_id"))
    ordering = "-last_activity_at" if order_param(request) == "desc" else "last_activity_at"
    total = query.count()
    window = page_window(page, per_page)
    ids = list(query.order_by(ordering, "-id").values_list("id", flat=True)[window])
    by_id = {c.id: c for c in conversations().filter(id__in=ids)}
    return Response(
        {
            "conversations": [conversation_json(by_id[i]) for i in ids],
            "paginationMeta": pagination_meta(page, per_page, total),
        }
    )


@sandbox_endpoint("GET", "POST")
def conversation_detail(request: Request, conversation_id: str) -> Response:
    if request.method == "POST":
        status = request.data.get("status") if isinstance(request.data, dict) else None
        if status not in Conversation.Status.values:
            raise SandboxError(400, "status must be one of Active, Closed, Deleted")
        # One UPDATE, then one read for the answer.
        if not Conversation.objects.filter(unique_id=parse_uuid(conversation_id, "id")).update(status=status):
            raise Http404
    return Response({"conversation": conversation_json(one_conversation(conversation_id))})


def body_field(request: Request, name: str) -> str:
    value = request.data.get(name) if isinstance(request.data, dict) else None
    if not isinstance(value, str) or not value:
        raise SandboxError(400, f"{name} is required")
    return value


@sandbox_endpoint("POST")
def assign_conversation(request: Request, conversation_id: str) -> Response:
    conversation = one_conversation(conversation_id)
    member_id = parse_uuid(body_field(request, "organizationMemberId"), "organizationMemberId")
    member = Member.objects.filter(unique_id=member_id).first()
    if member is None:
        raise SandboxError(400, "organization member not found")
    Conversation.objects.filter(pk=conversation.pk).update(assigned_to=member)
    return Response({"data": True})


@sandbox_endpoint("POST")
def unassign_conversation(request: Request, conversation_id: str) -> Response:
    conversation = one_conversation(conversation_id)
    member_id = parse_uuid(body_field(request, "userId"), "userId")
    if conversation.assigned_to is None or conversation.assigned_to.unique_id != member_id:
        raise SandboxError(400, "conversation is not assigned to this member")
    Conversation.objects.filter(pk=conversation.pk).update(assigned_to=None)
    return Response({"data": True})


@sandbox_endpoint("GET")
def list_messages(request: Request, conversation_id: str) -> Response:
    conversation = get_object_or_404(Conversation, unique_id=parse_uuid(conversation_id, "id"))
    page = positive_int(request, "page")
    per_page = positive_int(request, "per_page")
    if per_page > MAX_CONVERSATIONS_PER_PAGE:
        raise SandboxError(400, f"per_page cannot be more than {MAX_CONVERSATIONS_PER_PAGE}")
    ordering = ("created_at", "id") if order_param(request) == "asc" else ("-created_at", "-id")
    query = Message.objects.filter(conversation=conversation)
    window = page_window(page, per_page)
    page_messages = query.order_by(*ordering)[window]
    return Response(
        {
            "messages": [message_json(m, conversation.unique_id) for m in page_messages],
            "paginationMeta": pagination_meta(page, per_page, query.count()),
        }
    )


@sandbox_endpoint("GET")
def list_members(request: Request) -> Response:
    page = positive_int(request, "page")
    per_page = min(positive_int(request, "per_page"), 100)
    query = Member.objects.prefetch_related("roles")
    window = page_window(page, per_page)
    return Response(
        {
            "members": [member_json(m) for m in query[window]],
            "paginationMeta": pagination_meta(page, per_page, query.count()),
        }
    )


@sandbox_endpoint("GET")
def list_campaigns(request: Request) -> Response:
    page = positive_int(request, "page")
    per_page = min(positive_int(request, "per_page"), 100)
    query = campaigns_by_name()
    if order_param(request) == "desc":
        query = query.reverse()
    window = page_window(page, per_page)
    return Response(
        {
            "campaigns": [campaign_json(c) for c in query[window]],
            "paginationMeta": pagination_meta(page, per_page, query.count()),
        }
    )


@api_view(["GET", "POST"])
def control_view(request: Request) -> Response:
    """Test hook: read or change the sandbox's latency and fault mode (key required)."""
    check_key(request)
    if request.method == "POST":
        try:
            control.configure(request.data if isinstance(request.data, dict) else {})
        except (ValueError, TypeError) as exc:
            raise SandboxError(400, str(exc)) from None
    return Response(control.state())
