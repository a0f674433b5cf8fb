"""Typed shapes of WapiKit's answers, following the "update a conversation" page, and tolerant
of what WapiKit's server code actually sends (shared/wapikit/REAL-SERVER.md).

msgspec decodes JSON straight into these and rejects a missing required field or a wrong type,
so a malformed answer fails at the boundary instead of later in a template. Unknown fields are
ignored (msgspec's default), so WapiKit can add fields without breaking the dashboard.

Tolerance, where the server differs from its spec: Go's nil slices arrive as `null` (read as
empty), messages it cannot describe arrive as `null` entries (skipped, and counted), statuses,
access levels and message types outside the spec are kept by name, and the older server's
spellings (`message_type`, a tag's `name`) are read too. Each such list is stored under a
private name and read through a property, so callers never see a `None`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

# The statuses the spec knows. The server's database also has "Resolved"; any other status
# is shown by its name.
STATUSES: tuple[str, ...] = ("Active", "Closed", "Deleted")

# An RFC 3339 time, offset included: one without could not be compared with the dashboard's
# aware times, so an answer carrying one is unreadable rather than a crash in a template.
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
# The times the dashboard can compute with: from Go's zero time (year 1, UTC) to a year short
# of Python's last, so converting one to UTC or adding a reply window to it cannot overflow.
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


class Struct(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    def __post_init__(self) -> None:
        moment = getattr(self, "created_at", None)
        if moment is not None and not EARLIEST <= moment < LATEST:
            # msgspec turns this into a ValidationError: the answer is unreadable.
            raise ValueError(f"a time the dashboard cannot compute with: {moment.isoformat()}")


class Contact(Struct, kw_only=True):
    unique_id: str
    name: str = ""
    phone: str = ""
    attributes: dict[str, Any] | None = None
    created_at: Timestamp | None = None
    status: str = ""


class MessageData(Struct, kw_only=True):
    text: str | None = None
    id: str | None = None
    link: str | None = None
    caption: str | None = None
    file_name: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None
    name: str | None = None
    reaction: str | None = None
    message_id: str | None = None


class Message(Struct, kw_only=True):
    unique_id: str
    conversation_id: str = ""
    direction: str
    status: str = ""
    created_at: Timestamp
    message_data: MessageData | None = None
    reply_to_message_id: str | None = None
    whats_app_message_id: str | None = None
    # The spec's `messageType`, or the older server's `message_type`.
    type_camel: str | None = msgspec.field(default=None, name="messageType")
    type_snake: str | None = msgspec.field(default=None, name="message_type")

    @property
    def message_type(self) -> str:
        return self.type_camel or self.type_snake or "Unknown"

    @property
    def inbound(self) -> bool:
        return self.direction == "InBound"


class Role(Struct, kw_only=True):
    unique_id: str
    name: str
    description: str | None = ""
    permission_list: list[str] | None = msgspec.field(default=None, name="permissions")

    @property
    def permissions(self) -> list[str]:
        return self.permission_list or []


class Member(Struct, kw_only=True):
    unique_id: str
    created_at: Timestamp | None = None
    access_level: str
    name: str = ""
    email: str = ""
    role_list: list[Role] | None = msgspec.field(default=None, name="roles")
    # Set by the dashboard, never by WapiKit: an assignee that the member list does not hold.
    unlisted: bool = False

    @property
    def roles(self) -> list[Role]:
        return self.role_list or []

    @property
    def is_owner(self) -> bool:
        return self.access_level == "Owner"

    @property
    def permissions(self) -> frozenset[str]:
        return frozenset(p for role in self.roles for p in role.permissions)

    def can(self, permission: str) -> bool:
        return self.is_owner or permission in self.permissions


class Tag(Struct, kw_only=True):
    unique_id: str = ""
    label: str | None = None
    # The older server's spelling of `label`.
    name: str | None = None

    @property
    def text(self) -> str:
        return self.label or self.name or ""


class Life(Struct, kw_only=True):
    """What the dashboard's timeline knows of a conversation beyond WapiKit's answer: set by the
    dashboard, never by WapiKit (the server's list answers carry no messages)."""

    waiting_since: Timestamp | None = None  # the first message of the contact's open cycle
    last_inbound_at: Timestamp | None = None
    last_outbound_at: Timestamp | None = None
    last_message_at: Timestamp | None = None  # None: the last message is not known yet
    last_message: Message | None = None  # None also when only its time and direction are known
    last_message_inbound: bool | None = None

    @property
    def messages_known(self) -> bool:
        return self.last_message_at is not None

    @property
    def first_inbound_at(self) -> datetime | None:
        """The timeline's name for `waiting_since`, as the response clocks read it."""
        return self.waiting_since


class Conversation(Struct, kw_only=True):
    unique_id: str
    contact_id: str = ""
    campaign_id: str | None = None
    organization_id: str = ""
    initiated_by: str = ""
    contact: Contact
    created_at: Timestamp
    number_of_unread_messages: int = 0
    total_messages: int | None = None
    status: str
    assigned_to: Member | None = None
    # Set by the dashboard, never by WapiKit: False when the answer could not say who is
    # assigned (the server's single-conversation answer never carries `assignedTo`) and the
    # dashboard knows no better.
    assignee_known: bool = True
    message_list: list[Message | None] | None = msgspec.field(default=None, name="messages")
    tag_list: list[Tag | None] | None = msgspec.field(default=None, name="tags")
    # Set by the dashboard's domain from its timeline; a name no WapiKit answer uses.
    life: Life | None = msgspec.field(default=None, name="dashboard:life")

    @property
    def messages(self) -> list[Message]:
        return [m for m in self.message_list or () if m is not None]

    @property
    def undescribed_messages(self) -> int:
        """Entries WapiKit sent as `null`: messages of a type its server cannot describe."""
        return sum(1 for m in self.message_list or () if m is None)

    @property
    def tags(self) -> list[Tag]:
        return [t for t in self.tag_list or () if t is not None and t.text]

    @property
    def last_message(self) -> Message | None:
        """The latest message the answer carries or the timeline knows."""
        known = [*self.messages, *([self.life.last_message] if self.life and self.life.last_message else ())]
        return max(known, key=lambda m: m.created_at) if known else None

    @property
    def last_activity(self) -> datetime:
        last = self.last_message
        return last.created_at if last else self.created_at


class PaginationMeta(Struct, kw_only=True):
    page: int = 1
    # WapiKit spells this one field in snake_case.
    per_page: int = msgspec.field(default=0, name="per_page")
    # The server never sets it for conversations (always 0), and counts member×role rows for
    # members: a total of 0 with a non-empty page means "not said".
    total: int = 0

    def stated_total(self, entries: int) -> int | None:
        """The total, or None when WapiKit did not say: 0 beside `entries` on the page."""
        return self.total if self.total or not entries else None


class ConversationPage(Struct, kw_only=True):
    conversation_list: list[Conversation] | None = msgspec.field(default=None, name="conversations")
    pagination_meta: PaginationMeta = PaginationMeta()

    @property
    def conversations(self) -> list[Conversation]:
        return self.conversation_list or []

    @property
    def stated_total(self) -> int | None:
        return self.pagination_meta.stated_total(len(self.conversations))


class ConversationEnvelope(Struct, kw_only=True):
    conversation: Conversation


class MessagePage(Struct, kw_only=True):
    message_list: list[Message | None] | None = msgspec.field(default=None, name="messages")
    pagination_meta: PaginationMeta = PaginationMeta()

    @property
    def messages(self) -> list[Message]:
        return [m for m in self.message_list or () if m is not None]

    @property
    def undescribed(self) -> int:
        return sum(1 for m in self.message_list or () if m is None)

    @property
    def entries(self) -> int:
        """Messages on the page, those WapiKit could not describe included."""
        return len(self.message_list or ())

    @property
    def stated_total(self) -> int | None:
        return self.pagination_meta.stated_total(self.entries)


class MemberPage(Struct, kw_only=True):
    member_list: list[Member] | None = msgspec.field(default=None, name="members")
    pagination_meta: PaginationMeta = PaginationMeta()

    @property
    def members(self) -> list[Member]:
        return self.member_list or []


class Campaign(Struct, kw_only=True):
    """What the dashboard needs of a campaign: its id and its name (the filter offers them).
    The spec requires more (status, lists, tags, ...); none of it is read, so none is required,
    and a status outside the spec's enum is kept by name."""

    unique_id: str
    name: str = ""
    status: str = ""
    description: str | None = None
    created_at: Timestamp | None = None


class CampaignPage(Struct, kw_only=True):
    campaign_list: list[Campaign] | None = msgspec.field(default=None, name="campaigns")
    pagination_meta: PaginationMeta = PaginationMeta()

    @property
    def campaigns(self) -> list[Campaign]:
        return self.campaign_list or []


class DataFlag(Struct, kw_only=True):
    data: bool
