"""What can go wrong talking to WapiKit. Callers catch `WapiKitError`; each subclass carries
a sentence a manager can act on, so the web layer never has to invent one."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from django.utils import timezone


class WapiKitError(Exception):
    """Base of every upstream failure. `user_message` is safe to show in a page (templates
    escape it: it may quote WapiKit's own words, which are upstream text).

    `detail` is WapiKit's own message when it sent one (as a bare JSON string, `{"message"}`
    or `{"error"}`), else what the client saw."""

    kind = "error"
    default_message = "WapiKit could not complete the request."

    def __init__(self, detail: str = "", *, status: int | None = None) -> None:
        super().__init__(detail or self.default_message)
        self.detail = detail
        self.status = status

    @property
    def wapikit_said(self) -> str:
        """WapiKit's words, quoted for a sentence, or "" when it said nothing useful."""
        detail = " ".join(self.detail.split())[:200]
        return f" WapiKit said: “{detail}”." if detail else ""

    @property
    def user_message(self) -> str:
        return self.default_message


class InvalidId(WapiKitError, ValueError):
    """An id that is not a UUID never reaches an upstream path."""

    kind = "invalid_id"
    default_message = "That conversation or member id is not valid."


class Unreachable(WapiKitError):
    kind = "unreachable"
    default_message = "WapiKit is unreachable. Check the connection and try again."


class TimedOut(WapiKitError):
    kind = "timed_out"
    default_message = "WapiKit did not answer in time. Try again in a moment."


class RateLimited(WapiKitError):
    kind = "rate_limited"

    def __init__(
        self,
        detail: str = "",
        *,
        status: int | None = 429,
        retry_after: int | None = None,
        reset_at: float | None = None,
    ) -> None:
        super().__init__(detail, status=status)
        self.retry_after = retry_after
        # When WapiKit said its budget returns (Unix seconds), if it said.
        self.reset_at = reset_at

    @property
    def user_message(self) -> str:
        if self.retry_after is not None:
            return f"WapiKit is rate-limiting requests. Try again in {_seconds(self.retry_after)}."
        return "WapiKit is rate-limiting requests. Try again in a minute."


class BudgetExhausted(RateLimited):
    """Not sent: the team's shared budget for this route is spent (WapiKit said 0 remain, or
    answered 429) until `reset_at`. Nothing reached WapiKit, so `status` is None."""

    kind = "budget_exhausted"

    def __init__(self, detail: str = "", *, bucket: str, what: str, reset_at: float) -> None:
        super().__init__(
            detail or f"request budget for {bucket} used up",
            status=None,
            retry_after=max(math.ceil(reset_at - time.time()), 1),
            reset_at=reset_at,
        )
        self.bucket = bucket
        self.what = what

    @property
    def until(self) -> str:
        """The reset as the dashboard's clock shows it: "14:05"."""
        return timezone.localtime(datetime.fromtimestamp(self.reset_at, tz=UTC)).strftime("%H:%M")

    @property
    def user_message(self) -> str:
        return f"WapiKit's request budget for {self.what} is used up until {self.until}."


class BudgetReserved(BudgetExhausted):
    """Not sent: a background read, and the budget is down to the reserve kept for what users
    open and do."""

    kind = "budget_reserved"

    def __init__(
        self, detail: str = "", *, bucket: str, what: str, reset_at: float, remaining: int, reserve: int
    ) -> None:
        super().__init__(
            detail or f"request budget for {bucket} down to its reserve", bucket=bucket, what=what, reset_at=reset_at
        )
        self.remaining = remaining
        self.reserve = reserve

    @property
    def user_message(self) -> str:
        return (
            f"WapiKit's request budget for {self.what} is down to its reserve until {self.until} "
            f"({self.remaining} left, {self.reserve} kept): it is saved for what users open and do, "
            "so background refreshes wait."
        )


class ServerError(WapiKitError):
    """WapiKit answered 5xx. A 503 may say when to come back."""

    kind = "server_error"

    def __init__(self, detail: str = "", *, status: int | None = 500, retry_after: int | None = None) -> None:
        super().__init__(detail, status=status)
        self.retry_after = retry_after

    @property
    def user_message(self) -> str:
        if self.status == 503:
            when = f"in {_seconds(self.retry_after)}" if self.retry_after is not None else "in a minute"
            return f"WapiKit is temporarily unavailable. Try again {when}."
        return (
            f"WapiKit had an internal error ({self.status}).{self.wapikit_said} "
            "Try again; if it persists, tell your WapiKit administrator."
        )


class Unauthorized(WapiKitError):
    """A 401 or 403. The server gives one of two sentences; `for_answer` picks the subclass."""

    kind = "unauthorized"
    default_message = "WapiKit refused the dashboard's API key. An administrator must update WAPIKIT_API_KEY."

    @classmethod
    def for_answer(cls, detail: str, *, status: int) -> Unauthorized:
        if "not authorized to access this resource" in detail.lower():
            return KeyNotOwner(detail, status=status)
        return cls(detail, status=status)


class KeyNotOwner(Unauthorized):
    """The key is valid but WapiKit found no permission for it: the server only lets an Owner's
    key through (its permission check never reads a role's permissions)."""

    kind = "key_not_owner"
    default_message = (
        "WapiKit accepted the dashboard's API key but refused it this route: WapiKit only lets an "
        "Owner's key use the conversation and member routes. An administrator must set "
        "WAPIKIT_API_KEY to the key of an Owner of the organisation."
    )


class NotFound(WapiKitError):
    kind = "not_found"
    default_message = "WapiKit has no such conversation: it may have been removed."


class MemberNotFound(NotFound):
    """A 404 to an assignment whose words name the member, not the conversation."""

    kind = "member_not_found"
    default_message = (
        "WapiKit has no such member in this organisation: they may have been removed. "
        "Reload to see the current members."
    )


class Rejected(WapiKitError):
    """A 400: WapiKit's own message says why, but it is upstream text, so templates escape it."""

    kind = "rejected"

    @property
    def user_message(self) -> str:
        return f"WapiKit rejected the change: {self.detail}" if self.detail else "WapiKit rejected the change."


class BadResponse(WapiKitError):
    kind = "bad_response"
    default_message = "WapiKit answered with something the dashboard could not read. Try again later."


def _seconds(value: int) -> str:
    value = max(int(value), 1)
    if value < 90:
        return f"{value} second{'s' if value != 1 else ''}"
    minutes = round(value / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def worth_retrying(exc: WapiKitError) -> bool:
    """Whether the same request may succeed later: not for an invalid id, a missing
    conversation, a refused key or a rejected change, where a page offers no "Try again"."""
    return isinstance(exc, (Unreachable, TimedOut, RateLimited, ServerError, BadResponse))


def answer_status(exc: WapiKitError) -> int:
    """The HTTP status the dashboard answers with when WapiKit failed this way, on pages and in the API."""
    if isinstance(exc, InvalidId):
        return 400
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Rejected):
        return 409
    if isinstance(exc, RateLimited):
        return 429
    if isinstance(exc, TimedOut):
        return 504
    if isinstance(exc, ServerError) and exc.status == 503:
        return 503
    return 502
