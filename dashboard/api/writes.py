"""The API's writes: one action on one conversation, and bulk. Through the services the web's
views call (the same permissions, conflict check and audit), after the token's scope and the
API's share of the budget are checked."""

from __future__ import annotations

import math
import time

from django.utils.timesince import timesince
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from dashboard.conversations import bulk, members, services
from dashboard.conversations.acting import ActionResult, Outcome, Seen
from dashboard.conversations.powers import Action
from dashboard.wapikit import errors, validate_id

from . import serializers as s
from .base import ApiView, problems_for
from .permissions import may_read, require_scope
from .problems import CONTENT_TYPE, problem
from .throttles import ensure_budget

# The scope each action needs.
SCOPES = {
    Action.CLOSE: "close",
    Action.REOPEN: "close",
    Action.DELETE: "delete",
    Action.ASSIGN: "assign",
    Action.UNASSIGN: "unassign",
}
STATUS_ACTIONS = {"Closed": Action.CLOSE, "Active": Action.REOPEN, "Deleted": Action.DELETE}

def _if_match(request) -> Seen | None:
    """`If-Match: "<version>"` (the conversation's ETag); `*` or none: no check. An empty one is
    a mistake the caller should hear of, not a write without a check."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    header = header.strip()
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


WRITE_PROBLEMS = problems_for(400, 401, 403, 404, 413, 429, 502, 503, 504) | {
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
        responses={200: s.BulkReportSerializer, **problems_for(400, 401, 403, 404, 413, 429, 502, 503, 504)},
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
