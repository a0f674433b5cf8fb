"""Typed shapes of WapiKit's answers, following the "update a conversation" page.

msgspec decodes JSON straight into these and rejects a missing required field or a wrong type,
so a malformed answer fails at the boundary instead of later in a template. Unknown fields are
ignored (msgspec's default), so WapiKit can add fields without breaking the dashboard."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

ConversationStatus = Literal["Active", "Closed", "Deleted"]
STATUSES: tuple[str, ...] = ("Active", "Closed", "Deleted")

# What each message type must carry; checked after decoding.
_REQUIRED_DATA = {
    "Text": ("text",),
    "Image": ("id",),
    "Video": ("id",),
    "Audio": ("id",),
    "Sticker": ("id",),
    "Document": ("id",),
    "Location": ("latitude", "longitude"),
    "Reaction": ("reaction",),
}


class Struct(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    pass


class Contact(Struct, kw_only=True):
    unique_id: str
    name: str
    phone: str
    attributes: dict[str, Any] = {}
    created_at: datetime
    status: str


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
    conversation_id: str
    direction: Literal["InBound", "OutBound"]
    status: str
    message_type: str
    created_at: datetime
    message_data: MessageData | None = None
    reply_to_message_id: str | None = None
    whats_app_message_id: str | None = None

    def __post_init__(self) -> None:
        required = _REQUIRED_DATA.get(self.message_type, ())
        if required and (
            self.message_data is None or any(getattr(self.message_data, f) is None for f in required)
        ):
            raise ValueError(f"a {self.message_type} message needs messageData.{'/'.join(required)}")

    @property
    def inbound(self) -> bool:
        return self.direction == "InBound"


class Role(Struct, kw_only=True):
    unique_id: str
    name: str
    description: str = ""
    permissions: list[str] = []


class Member(Struct, kw_only=True):
    unique_id: str
    created_at: datetime
    access_level: Literal["Owner", "Member"]
    name: str
    email: str
    roles: list[Role] = []

    @property
    def is_owner(self) -> bool:
        return self.access_level == "Owner"

    @property
    def permissions(self) -> frozenset[str]:
        return frozenset(p for role in self.roles for p in role.permissions)

    def can(self, permission: str) -> bool:
        return self.is_owner or permission in self.permissions


class Tag(Struct, kw_only=True):
    unique_id: str
    label: str


class Conversation(Struct, kw_only=True):
    unique_id: str
    contact_id: str
    campaign_id: str | None = None
    organization_id: str
    initiated_by: Literal["Contact", "Campaign"]
    contact: Contact
    messages: list[Message]
    created_at: datetime
    number_of_unread_messages: int
    total_messages: int | None = None
    status: ConversationStatus
    assigned_to: Member | None = None
    tags: list[Tag]

    @property
    def last_message(self) -> Message | None:
        return max(self.messages, key=lambda m: m.created_at) if self.messages else None

    @property
    def last_activity(self) -> datetime:
        last = self.last_message
        return last.created_at if last else self.created_at


class PaginationMeta(Struct, kw_only=True):
    page: int
    # WapiKit spells this one field in snake_case.
    per_page: int = msgspec.field(name="per_page")
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page)) if self.per_page else 1


class ConversationPage(Struct, kw_only=True):
    conversations: list[Conversation]
    pagination_meta: PaginationMeta


class ConversationEnvelope(Struct, kw_only=True):
    conversation: Conversation


class MessagePage(Struct, kw_only=True):
    messages: list[Message]
    pagination_meta: PaginationMeta


class MemberPage(Struct, kw_only=True):
    members: list[Member]
    pagination_meta: PaginationMeta


class DataFlag(Struct, kw_only=True):
    data: bool


class ErrorBody(Struct, kw_only=True):
    message: str = ""
    remaining: int | None = None
    reset: int | None = None
