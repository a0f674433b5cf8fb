"""The API's routes. Thin: parse the request, check the token's scope and the API's share of
the budget, then call the selectors and services the web's views call (the same permissions,
conflict check and audit), and write out what they return.

Over 300 lines on purpose: one short view per API route, each a thin layer over the web's selectors and services, read beside routes.py."""

from __future__ import annotations

import math
import time

from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.utils.timesince import timesince
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboard.conversations import bulk, members, selectors, services
from dashboard.conversations.acting import ActionResult, Actor, Outcome, Seen
from dashboard.conversations.audit import AuditFilter, may_read_audit
from dashboard.conversations.models import AuditEntry
from dashboard.conversations.powers import Action, Powers
from dashboard.observability.addresses import client_address
from dashboard.wapikit import errors, validate_id

from . import serializers as s
from .authentication import BearerTokenAuthentication, SessionAuthentication
from .models import ApiToken
from .parsers import JSONParser
from .permissions import Authenticated, TokenScope, may_read, require_scope
from .problems import CONTENT_TYPE, exception_handler, problem
from .throttles import TokenRateThrottle, UserRateThrottle, ensure_budget

# The scope each action needs.
SCOPES = {
    Action.CLOSE: "close",
    Action.REOPEN: "close",
    Action.DELETE: "delete",
    Action.ASSIGN: "assign",
    Action.UNASSIGN: "unassign",
}
STATUS_ACTIONS = {"Closed": Action.CLOSE, "Active": Action.REOPEN, "Deleted": Action.DELETE}
AUDIT_PER_PAGE = 50

PROBLEMS = {
    (code, CONTENT_TYPE): OpenApiResponse(s.ProblemSerializer, description=text)
    for code, text in {
        400: "invalid request",
        401: "no token, or one unknown, expired or revoked",
        403: "the token lacks the scope, or the WapiKit member the permission",
        404: "no such conversation (or, for assign, member)",
        413: "the body is over the upload limit (DATA_UPLOAD_MAX_MEMORY_SIZE)",
        429: "too many calls for this token, or WapiKit's budget is down to the dashboard's share",
        502: "WapiKit failed",
        503: "WapiKit is unavailable",
        504: "WapiKit did not answer in time",
    }.items()
}


def _problems(*codes: int) -> dict:
    return {(code, CONTENT_TYPE): PROBLEMS[(code, CONTENT_TYPE)] for code in codes}


class ApiView(APIView):
    """Every API view: its own authentication, permissions, throttle, renderers and error
    answers (the project's REST_FRAMEWORK defaults are the sandbox's)."""

    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [Authenticated, TokenScope]
    throttle_classes = [TokenRateThrottle, UserRateThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    schema = AutoSchema()
    required_scope: str | None = None
    # A write whose scope depends on its body: the token must hold one of these before the body
    # is read (a token that may not write has its body refused unread); the exact one after.
    required_scopes: tuple[str, ...] = ()

    @classmethod
    def as_view(cls, **initkwargs):
        # The API authenticates itself: a script is not sent to the sign-in page.
        return login_not_required(super().as_view(**initkwargs))

    def get_exception_handler(self):
        return exception_handler

    # What the web's views read once per request.

    def members(self) -> list:
        if not hasattr(self, "_members"):
            self._members = members.members_list()
        return self._members

    def powers(self) -> Powers:
        if not hasattr(self, "_powers"):
            self._powers = members.powers_for(self.request.user, self.members())
        return self._powers

    def writer(self, action: Action) -> Powers:
        """Powers for a write, as WapiKit's member list says now (one members read a write, kept
        in the cache for everyone), so a role taken away within the cache's lifetime writes no
        more. A refusal by the cached list stands without asking: at worst a permission granted
        seconds ago waits for the cache."""
        cached = members.cached_members_list()
        if cached is not None and not members.powers_for(self.request.user, cached).allows(action):
            self._members = cached
        else:
            self._members = members.members_list(fresh=True)
        self._powers = members.powers_for(self.request.user, self._members)
        return self._powers

    def actor(self, action: Action) -> Actor:
        """Who acts in this call, with powers as WapiKit's member list says now (`writer`)."""
        powers = self.writer(action)
        return Actor(
            user=self.request.user,
            powers=powers,
            members=self.members(),
            via=AuditEntry.Via.API,
            client_address=client_address(self.request),
            token_name=self.token_name,
        )

    def viewer(self) -> Powers:
        """Powers of a member who may see conversations, or a 403."""
        powers = self.powers()
        if powers.member is None:
            raise exceptions.PermissionDenied(self._no_member(), code="no_member")
        if not powers.can_view:
            raise exceptions.PermissionDenied(
                "Your WapiKit role does not allow you to see conversations (no Get:Conversation).",
                code="not_permitted",
            )
        return powers

    def _no_member(self) -> str:
        return (
            f"No member of the WapiKit organisation has your email ({self.request.user.email}): "
            "the API acts as your WapiKit member."
        )

    @property
    def token_name(self) -> str:
        token = self.request.auth
        return token.name if isinstance(token, ApiToken) else ""

    def query(self, serializer_class):
        params = self.request.query_params
        fields = serializer_class().fields
        # DRF reads `?view=` as "not given"; the API says it is not a value.
        empty = {name: "This parameter may not be empty: give a value or leave it out."
                 for name, field in fields.items()
                 if params.get(name) == "" and not getattr(field, "allow_blank", False)}
        if empty:
            raise exceptions.ValidationError(empty)
        serializer = serializer_class(data=params)
        serializer.is_valid(raise_exception=True)
        return serializer

    def body(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


# --- Reads --------------------------------------------------------------------------------


class ConversationList(ApiView):
    required_scope = "read"

    @extend_schema(
        operation_id="conversations_list",
        parameters=[s.ConversationQuerySerializer],
        responses={200: s.ConversationPageSerializer, **_problems(400, 401, 403, 429, 502, 503, 504)},
        description="The inbox as its filters ask: WapiKit filters by status and campaign itself; other views "
        "(mine, unassigned, a member, a search, a sort) scan a window of recent conversations, and `scanned` "
        "says how far it looked.",
    )
    def get(self, request):
        query = self.query(s.ConversationQuerySerializer).query()
        ensure_budget({"/conversations": selectors.inbox_requests_needed(query)})
        powers = self.viewer()
        page, scanned = selectors.filtered_inbox(query, member_id=powers.member.unique_id, members=self.members())
        data = {
            "conversations": page.conversations, "page": page.page, "per_page": page.per_page, "total": page.total,
            "pages": page.pages, "more": page.more, "scanned": scanned,
        }
        return Response(s.ConversationPageSerializer(data).data)


class ConversationDetail(ApiView):
    required_scope = "read"

    @extend_schema(
        operation_id="conversations_retrieve",
        parameters=[OpenApiParameter("conversation_id", OpenApiTypes.UUID, OpenApiParameter.PATH),
                    s.MessagesQuerySerializer],
        responses={200: s.ThreadSerializer, **_problems(400, 401, 403, 404, 429, 502, 503, 504)},
        description="One conversation and a page of its messages (page 1 is the newest). The `ETag` header "
        "is its `version`, for `If-Match` on a write.",
    )
    def get(self, request, conversation_id: str):
        conversation_id = validate_id(conversation_id)
        paging = self.query(s.MessagesQuerySerializer).validated_data
        ensure_budget({"/conversation/:id": 1, "/conversation/:id/messages": 1})
        self.viewer()
        thread = selectors.conversation_with_messages(
            conversation_id, page=paging["page"], per_page=paging["per_page"], members=self.members()
        )
        response = Response(s.ThreadSerializer(thread).data)
        response["ETag"] = f'"{Seen.of(thread.conversation)}"'
        return response


class MemberList(ApiView):
    required_scope = "read"

    @extend_schema(
        operation_id="members_list",
        responses={200: s.MemberSerializer(many=True), **_problems(401, 403, 429, 502, 503, 504)},
        description="The organisation's members with their roles and permissions, for those who may assign "
        "conversations (Assign:Conversation), as the web's member picker and workload are; anyone else gets "
        "only their own member.",
    )
    def get(self, request):
        ensure_budget({"/organization/members": 1})
        powers = self.powers()
        if powers.member is None:
            raise exceptions.PermissionDenied(self._no_member(), code="no_member")
        # The web shows the team (the picker, the workload) only to those who may assign.
        members = self.members() if powers.can_assign else [powers.member]
        return Response(s.MemberSerializer(members, many=True).data)


class AuditList(ApiView):
    required_scope = "read"

    @extend_schema(
        operation_id="audit_list",
        parameters=[s.AuditQuerySerializer],
        responses={200: s.AuditPageSerializer, **_problems(400, 401, 403, 429)},
        description="Who changed what, newest first, with the audit page's filters: for Owners and staff.",
    )
    def get(self, request):
        params = self.query(s.AuditQuerySerializer).validated_data
        if not may_read_audit(request.user, None if request.user.is_staff else self.powers()):
            raise exceptions.PermissionDenied("The audit log is for Owners and staff.", code="not_permitted")
        form = AuditFilter({k: v for k, v in request.query_params.items() if k != "page"})
        if not form.is_valid():
            raise exceptions.ValidationError(form.errors)
        paginator = Paginator(form.filter(AuditEntry.objects.all()), AUDIT_PER_PAGE)
        page = paginator.get_page(params["page"])
        data = {"entries": page.object_list, "page": page.number, "pages": paginator.num_pages, "total": paginator.count}
        return Response(s.AuditPageSerializer(data).data)


# --- Writes -------------------------------------------------------------------------------


def _if_match(request) -> Seen | None:
    """`If-Match: "<version>"` (the conversation's ETag); `*` or none: no check."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    value = header.removeprefix("W/").strip().strip('"')
    seen = Seen.parse(value)
    if seen is None:
        raise exceptions.ValidationError({"If-Match": "Send the conversation's version (its ETag), e.g. \"Active:\"."})
    return seen


def _action_needs(action: Action) -> dict[str, int]:
    """The most requests one action may send per WapiKit route, as the bulk pre-flight counts
    them, and the member list read that checks the caller's role (`ApiView.writer`)."""
    return {**bulk.requests_needed(action=action, count=1), **_members_read()}


def _members_read() -> dict[str, int]:
    return {"/organization/members": members.members_read_cost()}


class ConversationAction(ApiView):
    """One action on one conversation, through `services.conversation_act` as on the web."""

    def act(self, request, conversation_id: str, action: Action, *, member_id=None, seen_text=None, force=False):
        require_scope(request, SCOPES[action])
        conversation_id = validate_id(conversation_id)
        seen = _if_match(request) or Seen.parse(seen_text)
        ensure_budget(_action_needs(action))
        actor = self.actor(action)
        member = None
        if action is Action.ASSIGN and actor.powers.allows(action):
            member = actor.member(str(member_id))
            if member is None:
                return problem(404, "That member is not in this WapiKit organisation.", kind="unknown_member")
        result = services.conversation_act(
            actor=actor, conversation_id=conversation_id, action=action, member=member, seen=seen, force=force
        )
        return _answer(result, readable=may_read(request, actor.powers))


def _answer(result: ActionResult, *, readable: bool) -> Response:
    if not readable:
        result = result.undisclosed()
    conversation = s.ConversationSerializer(result.conversation).data if result.conversation is not None else None
    if result.outcome is Outcome.CONFLICT and not readable:
        response = problem(409, result.message, kind="conflict")
    elif result.outcome is Outcome.CONFLICT:
        who = ""
        if result.changed_by is not None:
            entry = result.changed_by
            who = f" by {entry.member_name or entry.user_email} {timesince(entry.completed_at or entry.started_at)} ago"
        detail = f"Not applied: since you read it, {' and '.join(result.changes)}{who}."
        response = problem(409, detail, kind="conflict", changes=result.changes, conversation=conversation)
    elif result.outcome in (Outcome.SUCCEEDED, Outcome.SKIPPED, Outcome.IGNORED):
        response = Response({"outcome": result.outcome, "message": result.message, "conversation": conversation})
    elif result.outcome is Outcome.DENIED:
        response = problem(403, result.message, kind="not_permitted")
    else:
        error = result.error
        response = problem(
            errors.answer_status(error) if error else 502, result.message, kind=error.kind if error else "failed"
        )
    if result.conversation is not None:
        response["ETag"] = f'"{Seen.of(result.conversation)}"'
    return response


WRITE_PROBLEMS = _problems(400, 401, 403, 404, 413, 429, 502, 503, 504) | {
    (409, CONTENT_TYPE): OpenApiResponse(s.ProblemSerializer, description="it changed since `seen`/`If-Match`: nothing was sent"),
}
CONVERSATION_ID = OpenApiParameter("conversation_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
IF_MATCH = OpenApiParameter(
    "If-Match",
    {"type": "string", "pattern": rf'^(\*|(W/)?"[A-Za-z]{{1,20}}:({s.UUID}|\?)?")$'},
    OpenApiParameter.HEADER, required=False,
    description="the conversation's version (its ETag): a conflicting change answers 409",
)


class ConversationStatus(ConversationAction):
    required_scopes = ("close", "delete")

    @extend_schema(
        operation_id="conversations_status",
        request=s.StatusInputSerializer,
        parameters=[CONVERSATION_ID, IF_MATCH],
        responses={200: s.ActionResultSerializer, **WRITE_PROBLEMS},
        description="Close (`Closed`, scope close), reopen (`Active`, scope close) or delete (`Deleted`, scope delete).",
    )
    def post(self, request, conversation_id: str):
        data = self.body(s.StatusInputSerializer)
        return self.act(
            request, conversation_id, STATUS_ACTIONS[data["status"]], seen_text=data.get("seen"), force=data["force"]
        )


class ConversationAssign(ConversationAction):
    required_scope = "assign"

    @extend_schema(
        operation_id="conversations_assign",
        request=s.AssignInputSerializer,
        parameters=[CONVERSATION_ID, IF_MATCH],
        responses={200: s.ActionResultSerializer, **WRITE_PROBLEMS},
    )
    def post(self, request, conversation_id: str):
        data = self.body(s.AssignInputSerializer)
        return self.act(
            request, conversation_id, Action.ASSIGN, member_id=data["member_id"], seen_text=data.get("seen"),
            force=data["force"],
        )


class ConversationUnassign(ConversationAction):
    required_scope = "unassign"

    @extend_schema(
        operation_id="conversations_unassign",
        request=s.UnassignInputSerializer,
        parameters=[CONVERSATION_ID, IF_MATCH],
        responses={200: s.ActionResultSerializer, **WRITE_PROBLEMS},
    )
    def post(self, request, conversation_id: str):
        data = self.body(s.UnassignInputSerializer)
        return self.act(request, conversation_id, Action.UNASSIGN, seen_text=data.get("seen"), force=data["force"])


class Bulk(ApiView):
    required_scopes = tuple(dict.fromkeys(SCOPES.values()))

    @extend_schema(
        operation_id="conversations_bulk",
        request=s.BulkInputSerializer,
        responses={200: s.BulkReportSerializer, **_problems(400, 401, 403, 404, 413, 429, 502, 503, 504)},
        description="One action on many conversations, each checked, audited and reported on its own, as the "
        "web's bulk action: refused (429) when WapiKit's budget cannot carry it.",
    )
    def post(self, request):
        data = self.body(s.BulkInputSerializer)
        action = Action(data["action"])
        require_scope(request, SCOPES[action])
        # One bulk rate per person, web and API together (each id costs WapiKit requests and an audit row).
        if wait := bulk.seconds_until_allowed(user_id=request.user.pk):
            return problem(
                429, f"Too many bulk actions in a row (web and API together). Try again in {wait} seconds.",
                kind="throttled", headers={"Retry-After": str(wait)},
            )
        ids = [str(i) for i in dict.fromkeys(data["ids"])]
        seen = {}
        for conversation_id, text in data["seen"].items():
            if parsed := Seen.parse(text):
                seen[conversation_id.lower()] = parsed
        # The team's budget first (as the web's bulk refuses what it cannot carry), then the API's share.
        short = [need for need in bulk.budget_needs(action=action, count=len(ids)) if need.more_than_remains]
        if short:
            returns_at = short[0].returns_at
            wait = max(1, math.ceil(returns_at - time.time())) if returns_at else 60
            return problem(429, " ".join(n.refusal for n in short), kind="budget_exhausted", headers={"Retry-After": str(wait)})
        ensure_budget({**bulk.requests_needed(action=action, count=len(ids)), **_members_read()})
        actor = self.actor(action)
        if not actor.powers.allows(action):
            return problem(403, f"Your WapiKit role does not allow you to {action} conversations.", kind="not_permitted")
        member = None
        if action is Action.ASSIGN:
            member = actor.member(str(data["member_id"]))
            if member is None:
                return problem(404, "That member is not in this WapiKit organisation.", kind="unknown_member")
        report = bulk.bulk_apply(actor=actor, action=action, ids=ids, member=member, seen=seen)
        if not may_read(request, actor.powers):
            report = report.undisclosed()
        return Response(s.BulkReportSerializer(report).data)
