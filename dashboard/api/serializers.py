"""The API's shapes: what it reads from requests, and how the typed objects the selectors and
services return are written out. Nothing here reads WapiKit."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dashboard.conversations import selectors
from dashboard.conversations.acting import Seen
from dashboard.conversations.bulk import BULK_ACTIONS
from dashboard.conversations.models import AuditEntry
from dashboard.wapikit.client import MAX_PAGE, MAX_PER_PAGE

# --- Requests ----------------------------------------------------------------------------


class UUIDField(serializers.UUIDField):
    """A UUID written as text: DRF's would also take a number (and so `false`, as UUID 0)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


# An id as WapiKit writes it (the assignee in a `version`): anything else is not an id it has.
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class SeenField(serializers.RegexField):
    """The state a write was based on, as a conversation's `version` says it:
    "<status>:<assignee id>" ("" for nobody, "?" when not known)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "The `version` of the conversation this write is based on; a mismatch answers 409.")
        super().__init__(rf"^[A-Za-z]{{1,20}}:({UUID}|\?)?$", max_length=60, **kwargs)


class ConversationQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=list(selectors.STATUS_FILTERS), default="active")
    view = serializers.ChoiceField(choices=list(selectors.VIEWS), default="all")
    member = UUIDField(required=False, help_text="the member whose conversations `view=member` shows")
    campaign = UUIDField(required=False)
    q = serializers.CharField(required=False, allow_blank=True, max_length=100, trim_whitespace=True, default="")
    sort = serializers.ChoiceField(choices=list(selectors.SORTS), default="recent")
    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=1)
    per_page = serializers.IntegerField(min_value=1, max_value=50, default=25)

    def to_internal_value(self, data):
        if hasattr(data, "get") and isinstance(data.get("status"), str):
            data = data.copy()
            data["status"] = data["status"].lower()  # `?status=Closed`, as the card shows it
        return super().to_internal_value(data)

    def validate(self, attrs):
        if attrs.get("member") and attrs["view"] == "all":
            attrs["view"] = "member"
        if attrs["view"] == "member" and not attrs.get("member"):
            attrs["view"] = "all"  # as the inbox reads `?view=member` without a member
        return attrs

    def query(self) -> selectors.InboxQuery:
        data = self.validated_data
        return selectors.InboxQuery(
            status=data["status"],
            view=data["view"],
            member=str(data["member"]) if data.get("member") else "",
            campaign=str(data["campaign"]) if data.get("campaign") else "",
            q=data.get("q", ""),
            sort=data["sort"],
            page=data["page"],
            per_page=data["per_page"],
        )


class MessagesQuerySerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=1, help_text="1 is the newest messages")
    # The conversation page's own paging: the client asks WapiKit for at most 50 messages a page
    # (the spec's sandbox refuses more; only the server's code takes 200).
    per_page = serializers.IntegerField(min_value=1, max_value=MAX_PER_PAGE, default=50)


class StatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["Active", "Closed", "Deleted"])
    seen = SeenField()
    force = serializers.BooleanField(default=False, help_text="apply even if it changed since `seen`")


class AssignInputSerializer(serializers.Serializer):
    member_id = UUIDField()
    seen = SeenField()
    force = serializers.BooleanField(default=False)


class UnassignInputSerializer(serializers.Serializer):
    seen = SeenField()
    force = serializers.BooleanField(default=False)


class BulkInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=[str(a) for a in BULK_ACTIONS])
    ids = serializers.ListField(child=UUIDField(), min_length=1, max_length=settings.BULK_MAX_IDS)
    member_id = UUIDField(required=False, help_text="for assign")
    seen = serializers.DictField(
        child=SeenField(), required=False, default=dict, help_text="conversation id -> the version it is based on"
    )

    def validate(self, attrs):
        if attrs["action"] == "assign" and not attrs.get("member_id"):
            raise serializers.ValidationError({"member_id": "assign needs the member to assign to."})
        return attrs


class AuditQuerySerializer(serializers.Serializer):
    """The audit page's filters (its form does the filtering), and a page."""

    user = serializers.CharField(required=False, allow_blank=True, max_length=254)
    conversation = serializers.CharField(required=False, allow_blank=True, max_length=64)
    action = serializers.ChoiceField(required=False, choices=["close", "reopen", "delete", "assign", "unassign"])
    outcome = serializers.ChoiceField(required=False, choices=AuditEntry.Outcome.values)
    via = serializers.ChoiceField(required=False, choices=AuditEntry.Via.values)
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)
    page = serializers.IntegerField(min_value=1, max_value=100000, default=1)

    def to_internal_value(self, data):
        # The page's form takes `?since=` as no date; the API says what it wants instead.
        blank = {name: "Give a date as YYYY-MM-DD, or leave the parameter out."
                 for name in ("since", "until") if data.get(name) == ""}
        if blank:
            raise serializers.ValidationError(blank)
        return super().to_internal_value(data)


# --- Answers ------------------------------------------------------------------------------


class ContactSerializer(serializers.Serializer):
    id = serializers.CharField(source="unique_id")
    name = serializers.CharField()
    phone = serializers.CharField()


class RoleSerializer(serializers.Serializer):
    id = serializers.CharField(source="unique_id")
    name = serializers.CharField()
    permissions = serializers.ListField(child=serializers.CharField())


class MemberSerializer(serializers.Serializer):
    id = serializers.CharField(source="unique_id")
    name = serializers.CharField()
    email = serializers.CharField()
    access_level = serializers.CharField()
    roles = RoleSerializer(many=True)
    permissions = serializers.SerializerMethodField(help_text="every permission its roles give (an Owner may do all)")

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_permissions(self, member) -> list[str]:
        return sorted(member.permissions)


class AssigneeSerializer(serializers.Serializer):
    id = serializers.CharField(source="unique_id")
    name = serializers.CharField()
    email = serializers.CharField()
    listed = serializers.SerializerMethodField(help_text="false when the member list does not hold them")

    def get_listed(self, member) -> bool:
        return not member.unlisted


class ConversationSerializer(serializers.Serializer):
    id = serializers.CharField(source="unique_id")
    status = serializers.CharField()
    contact = ContactSerializer()
    campaign_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    last_activity = serializers.DateTimeField()
    unread = serializers.IntegerField(source="number_of_unread_messages")
    total_messages = serializers.IntegerField(allow_null=True)
    assigned_to = AssigneeSerializer(allow_null=True)
    assignee_known = serializers.BooleanField(help_text="false when WapiKit's answer could not say who is assigned")
    tags = serializers.SerializerMethodField()
    version = serializers.SerializerMethodField(
        help_text="send it back as `If-Match` or `seen` with a write: a conflicting change answers 409"
    )

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, conversation) -> list[str]:
        return [t.text for t in conversation.tags]

    def get_version(self, conversation) -> str:
        return str(Seen.of(conversation))


class MessageSerializer(serializers.Serializer):
    id = serializers.CharField(source="unique_id")
    direction = serializers.CharField()
    type = serializers.CharField(source="message_type")
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    text = serializers.SerializerMethodField()

    def get_text(self, message) -> str | None:
        data = message.message_data
        if data is None:
            return None
        return data.text or data.caption or data.file_name or data.address or data.reaction


class ConversationPageSerializer(serializers.Serializer):
    conversations = ConversationSerializer(many=True)
    page = serializers.IntegerField()
    per_page = serializers.IntegerField()
    total = serializers.IntegerField(allow_null=True, help_text="null when WapiKit does not say")
    pages = serializers.IntegerField(allow_null=True)
    more = serializers.BooleanField(help_text="a next page exists, or may")
    scanned = serializers.CharField(
        allow_null=True, help_text="how far the scan looked, for views WapiKit cannot filter itself; else null"
    )


class ThreadSerializer(serializers.Serializer):
    conversation = ConversationSerializer()
    messages = MessageSerializer(many=True, help_text="oldest first within the page")
    undescribed = serializers.IntegerField(help_text="messages WapiKit sent as null (types it cannot describe)")
    page = serializers.IntegerField()
    pages = serializers.IntegerField(allow_null=True)
    more = serializers.BooleanField(help_text="older messages exist, or may")
    total = serializers.IntegerField(allow_null=True)


class ActionResultSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=["succeeded", "skipped", "ignored"],
        help_text="skipped: nothing to do; ignored: WapiKit accepted the change without applying it",
    )
    message = serializers.CharField(allow_blank=True)
    conversation = ConversationSerializer(allow_null=True)


class BulkItemSerializer(serializers.Serializer):
    conversation_id = serializers.CharField()
    group = serializers.ChoiceField(choices=["succeeded", "skipped", "ignored", "failed"])
    outcome = serializers.CharField(source="result.outcome")
    message = serializers.CharField(source="result.message", allow_blank=True)
    conversation = ConversationSerializer(source="result.conversation", allow_null=True)


class BulkReportSerializer(serializers.Serializer):
    action = serializers.CharField()
    items = BulkItemSerializer(many=True)
    counts = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_counts(self, report) -> dict[str, int]:
        return {group: len(report.of(group)) for group in ("succeeded", "skipped", "ignored", "failed")}


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "id", "started_at", "completed_at", "user_email", "member_name", "conversation_id", "contact_name",
            "action", "via", "token_name", "before_status", "before_assignee_id", "before_assignee_name",
            "after_status", "after_assignee_id", "after_assignee_name", "outcome", "error_kind", "detail", "undoes",
        ]


class AuditPageSerializer(serializers.Serializer):
    entries = AuditEntrySerializer(many=True)
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    total = serializers.IntegerField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    kind = serializers.CharField(required=False, help_text="what went wrong, for scripts: e.g. missing_scope, not_found")
    errors = serializers.DictField(required=False, help_text="per field, for invalid requests")
    # Only for a caller who may read the conversation (Get:Conversation, and the token's `read` scope).
    changes = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="409, to a caller who may read it: what changed"
    )
    conversation = ConversationSerializer(
        required=False, help_text="409, to a caller who may read it: the conversation as it is now"
    )
