"""The two WapiKit server versions the sandbox can answer as, besides the spec: what differs
between RemotiQ/wapikit 055becef ("server") and the older wapikit/wapikit d0a3506 ("legacy")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class Dialect:
    profile: str
    rate_limited: bool
    has_events: bool
    # d0a3506 registers assign and unassign as GET routes that still read a JSON body.
    assignment_method: str
    message_type_key: str
    tag_label_key: str
    # 055becef turns messages into a union its parser fills only for the types it knows; the
    # others marshal as null. d0a3506 writes every message as a plain struct.
    unknown_messages_are_null: bool
    # 055becef answers handler errors with `context.JSON(code, "text")`; d0a3506 with
    # `echo.NewHTTPError(code, "text")`, which echo writes as {"message": "text"}.
    bare_string_errors: bool

    def error_body(self, text: str) -> Any:
        return text if self.bare_string_errors else {"message": text}


SERVER = Dialect(
    profile="server",
    rate_limited=True,
    has_events=True,
    assignment_method="POST",
    message_type_key="messageType",
    tag_label_key="label",
    unknown_messages_are_null=True,
    bare_string_errors=True,
)
LEGACY = Dialect(
    profile="legacy",
    rate_limited=False,
    has_events=False,
    assignment_method="GET",
    message_type_key="message_type",
    tag_label_key="name",
    unknown_messages_are_null=False,
    bare_string_errors=False,
)


def current() -> Dialect:
    """The dialect of this process's profile; only "server" and "legacy" have one."""
    return {"server": SERVER, "legacy": LEGACY}[settings.SANDBOX_PROFILE]
