"""The API's reads: conversations, one conversation with its messages, members and the audit
log. Thin: parse the request, check the token's scope and the API's share of the budget, then
call the selectors the web's views call, and write out what they return."""

from __future__ import annotations

from django.core.paginator import Paginator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from dashboard.conversations import selectors
from dashboard.conversations.acting import Seen
from dashboard.conversations.audit import AuditFilter, may_read_audit
from dashboard.conversations.models import AuditEntry
from dashboard.wapikit import validate_id

from . import serializers as s
from .base import ApiView, problems_for
from .throttles import ensure_budget

AUDIT_PER_PAGE = 50


class ConversationList(ApiView):
    required_scope = "read"

    @extend_schema(
        operation_id="conversations_list",
        parameters=[s.ConversationQuerySerializer],
        responses={200: s.ConversationPageSerializer, **problems_for(400, 401, 403, 429, 502, 503, 504)},
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
        responses={200: s.ThreadSerializer, **problems_for(400, 401, 403, 404, 429, 502, 503, 504)},
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
        responses={200: s.MemberSerializer(many=True), **problems_for(401, 403, 429, 502, 503, 504)},
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
        responses={200: s.AuditPageSerializer, **problems_for(400, 401, 403, 429)},
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
