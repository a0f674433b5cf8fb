"""WapiKit's event frames as typed events: `event: <type>` / `data: <base64 of a MessagePack map>`.

The map's keys are the JSON tag names (`uniqueId`) after the event's trip through Redis as JSON,
or the Go field names (`UniqueId`) when a struct is written straight to MessagePack; numbers may
be floats (`3.0`) for the same reason. Both are read into the types REST answers use
(`dashboard.wapikit.types`), with the same tolerance."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import msgpack
import msgspec

from .events import Frame
from .types import Conversation, Message


class NewMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A contact wrote: the message, and its conversation as WapiKit's webhook fetched it."""

    conversation: Conversation
    message: Message


class NewConversation(msgspec.Struct, frozen=True, kw_only=True):
    conversation: Conversation


class AssignmentChanged(msgspec.Struct, frozen=True, kw_only=True):
    """ChatAssignment (assigned) or ChatUnAssignment: WapiKit names only the conversation."""

    conversation_id: str
    assigned: bool


Event = NewMessage | NewConversation | AssignmentChanged


class Undecodable(Exception):
    """A frame that is not what its event type promises. The reason never quotes the payload:
    it holds customers' words."""


class _Assignment(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    conversation_id: str


_SHAPES: dict[str, type[msgspec.Struct]] = {
    "NewMessage": NewMessage,
    "NewConversation": NewConversation,
    "ChatAssignment": _Assignment,
    "ChatUnAssignment": _Assignment,
}
# A Go map inside the payload: its keys are data (a contact's attribute names), not field names.
_GO_MAPS = frozenset({"attributes"})
# A Go field name's leading capitals: `UniqueId` -> `uniqueId`, `ID` -> `id`, `URLPath` -> `urlPath`.
_LEADING_CAPITALS = re.compile(r"^[A-Z]+(?=[A-Z][a-z0-9]|$)|^[A-Z]")


def decode_frame(frame: Frame) -> Event | None:
    """The event a frame carries; None for `connected` and for types the dashboard does not use.
    Raises `Undecodable` when the frame is not base64 of a MessagePack map of its type's shape."""
    shape = _SHAPES.get(frame.event)
    if shape is None:
        return None
    try:
        raw = base64.b64decode(frame.data, validate=True)
    except (binascii.Error, ValueError):
        raise Undecodable(f"{frame.event}: the data is not base64") from None
    try:
        payload = msgpack.unpackb(raw, raw=False, timestamp=3)
    except (ValueError, TypeError, msgpack.UnpackException):
        raise Undecodable(f"{frame.event}: the data is not MessagePack") from None
    if not isinstance(payload, dict):
        raise Undecodable(f"{frame.event}: the data is a {type(payload).__name__}, not a map")
    try:
        normalised = _json_names(payload)
    except RecursionError:
        raise Undecodable(f"{frame.event}: the data is nested too deeply") from None
    try:
        # Not strict: a float with no fraction reads as an int, as JSON numbers through Go do.
        event = msgspec.convert(normalised, shape, strict=False)
    except msgspec.ValidationError as exc:
        # msgspec names the expected type and the path, never the value.
        raise Undecodable(f"{frame.event}: {exc}") from None
    if isinstance(event, _Assignment):
        return AssignmentChanged(conversation_id=event.conversation_id, assigned=frame.event == "ChatAssignment")
    return event


def _json_names(value: Any) -> Any:
    """Every map key as its JSON tag name, at every depth, except inside Go maps."""
    if isinstance(value, dict):
        renamed = {}
        for key, item in value.items():
            name = _json_name(key) if isinstance(key, str) else key
            renamed[name] = item if name in _GO_MAPS else _json_names(item)
        return renamed
    if isinstance(value, list):
        return [_json_names(item) for item in value]
    return value


def _json_name(key: str) -> str:
    return _LEADING_CAPITALS.sub(lambda match: match.group().lower(), key, count=1)
