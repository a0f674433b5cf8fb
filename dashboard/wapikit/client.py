"""The only code that talks HTTP to WapiKit.

One `requests.Session` per client: a pooled adapter, the auth header set once, and every call
sent through `_request`, which applies timeouts, retries safe calls, and turns every failure
into one of the exceptions in `errors`."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import msgspec
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError

from . import errors
from .types import (
    STATUSES,
    Conversation,
    ConversationEnvelope,
    ConversationPage,
    DataFlag,
    ErrorBody,
    Member,
    MemberPage,
    MessagePage,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")


class CircuitBreakerLike(Protocol):
    def before_request(self) -> None: ...
    def record_success(self) -> None: ...
    def record_failure(self) -> None: ...

MAX_PER_PAGE = 50
_RETRY_STATUSES = frozenset({502, 503, 504})

# Observers of every upstream request (method, path, status or None): tests and the
# benchmark count calls with it.
request_listeners: list[Callable[[str, str, int | None], None]] = []


def validate_id(value: str) -> str:
    """WapiKit ids are UUIDs. Anything else could steer a request to another upstream path."""
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, AttributeError, TypeError):
        raise errors.InvalidId(f"not a UUID: {value!r:.60}") from None


def parse_timeout(value: str | float | tuple[float, float]) -> tuple[float, float]:
    if isinstance(value, tuple):
        return value
    parts = [float(p) for p in str(value).split(",") if p.strip()]
    if len(parts) == 1:
        return (parts[0], parts[0])
    if len(parts) == 2:
        return (parts[0], parts[1])
    raise ValueError(f"timeout must be 'seconds' or 'connect,read', got {value!r}")


class WapiKitClient:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        auth_header: str = "x-access-token",
        timeout: str | float | tuple[float, float] = (3.0, 10.0),
        get_retries: int = 2,
        max_retry_wait: float = 2.0,
        backoff: float = 0.2,
        pool_size: int = 32,
        breaker: CircuitBreakerLike | None = None,
    ) -> None:
        self.breaker = breaker
        self.base_url = base_url.rstrip("/")
        self.timeout = parse_timeout(timeout)
        self.get_retries = get_retries
        self.max_retry_wait = max_retry_wait
        self.backoff = backoff
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(
            {auth_header: api_key, "Accept": "application/json", "User-Agent": "wapikit-dashboard/1"}
        )

    # Conversations

    def list_conversations(
        self,
        *,
        page: int = 1,
        per_page: int = 25,
        status: str | None = None,
        order: str = "desc",
        campaign_id: str | None = None,
        contact_id: str | None = None,
        list_id: str | None = None,
    ) -> ConversationPage:
        if page < 1:
            raise ValueError("page starts at 1")
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        if order not in ("asc", "desc"):
            raise ValueError("order is 'asc' or 'desc'")
        params: dict[str, Any] = {"page": page, "per_page": per_page, "order": order}
        if status:
            params["status"] = status
        for name, value in (("campaign_id", campaign_id), ("contact_id", contact_id), ("list_id", list_id)):
            if value:
                params[name] = validate_id(value)
        return self._request("GET", "/conversations", ConversationPage, params=params)

    def get_conversation(self, conversation_id: str) -> Conversation:
        path = f"/conversation/{validate_id(conversation_id)}"
        return self._request("GET", path, ConversationEnvelope).conversation

    def update_conversation_status(self, conversation_id: str, *, status: str) -> Conversation:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        path = f"/conversation/{validate_id(conversation_id)}"
        return self._request("POST", path, ConversationEnvelope, json={"status": status}).conversation

    def assign_conversation(self, conversation_id: str, *, member_id: str) -> None:
        path = f"/conversation/{validate_id(conversation_id)}/assign"
        answer = self._request("POST", path, DataFlag, json={"organizationMemberId": validate_id(member_id)})
        if not answer.data:
            raise errors.Rejected("WapiKit did not assign the conversation.")

    def unassign_conversation(self, conversation_id: str, *, member_id: str) -> None:
        path = f"/conversation/{validate_id(conversation_id)}/unassign"
        answer = self._request("POST", path, DataFlag, json={"userId": validate_id(member_id)})
        if not answer.data:
            raise errors.Rejected("WapiKit did not unassign the conversation.")

    def list_messages(
        self, conversation_id: str, *, page: int = 1, per_page: int = 50, order: str = "asc"
    ) -> MessagePage:
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE or order not in ("asc", "desc"):
            raise ValueError("invalid paging")
        path = f"/conversation/{validate_id(conversation_id)}/messages"
        return self._request(
            "GET", path, MessagePage, params={"page": page, "per_page": per_page, "order": order}
        )

    # Members

    def list_members(self, *, per_page: int = MAX_PER_PAGE) -> list[Member]:
        members: list[Member] = []
        page = 1
        while True:
            answer = self._request(
                "GET", "/organization/members", MemberPage, params={"page": page, "per_page": per_page}
            )
            members.extend(answer.members)
            if not answer.members or len(members) >= answer.pagination_meta.total:
                return members
            page += 1

    # Transport

    def _request(self, method: str, path: str, shape: type[T], **kwargs: Any) -> T:
        if self.breaker is None:
            return self._send(method, path, shape, **kwargs)
        self.breaker.before_request()
        try:
            answer = self._send(method, path, shape, **kwargs)
        except (errors.Unreachable, errors.TimedOut, errors.ServerError):
            self.breaker.record_failure()
            raise
        except errors.WapiKitError:
            # WapiKit answered (4xx, or a body we could not read): it is up.
            self.breaker.record_success()
            raise
        self.breaker.record_success()
        return answer

    def _send(self, method: str, path: str, shape: type[T], **kwargs: Any) -> T:
        url = self.base_url + path
        attempts = 1 + (self.get_retries if method == "GET" else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                # No redirects: requests would carry the key header to whatever host one names.
                response = self.session.request(
                    method, url, timeout=self.timeout, allow_redirects=False, **kwargs
                )
            except requests.ConnectTimeout as exc:
                self._notify(method, path, None)
                if last:
                    raise errors.TimedOut("connect timeout") from exc
                self._sleep(None, attempt)
                continue
            except requests.ReadTimeout as exc:
                # The request may have reached WapiKit; never repeated, even for a GET, because
                # a slow upstream only gets slower when asked twice.
                self._notify(method, path, None)
                raise errors.TimedOut("read timeout") from exc
            except requests.ConnectionError as exc:
                self._notify(method, path, None)
                if any(isinstance(arg, ReadTimeoutError) for arg in exc.args):
                    # A body that stalls past the read timeout: a timeout, never retried.
                    raise errors.TimedOut("read timeout while reading the body") from exc
                if last:
                    raise errors.Unreachable(type(exc).__name__) from exc
                self._sleep(None, attempt)
                continue
            except requests.RequestException as exc:
                self._notify(method, path, None)
                raise errors.Unreachable(type(exc).__name__) from exc

            self._notify(method, path, response.status_code)
            if response.status_code in _RETRY_STATUSES and not last:
                retry_after = _retry_after(response)
                if retry_after is None or retry_after <= self.max_retry_wait:
                    self._sleep(retry_after, attempt)
                    continue
            return self._decode(response, shape)
        raise AssertionError("unreachable: the last attempt always returns or raises")

    def _sleep(self, retry_after: float | None, attempt: int) -> None:
        time.sleep(retry_after if retry_after is not None else self.backoff * (2**attempt))

    @staticmethod
    def _notify(method: str, path: str, status: int | None) -> None:
        for listener in request_listeners:
            listener(method, path, status)

    def _decode(self, response: requests.Response, shape: type[T]) -> T:
        status = response.status_code
        if 200 <= status < 300:
            try:
                return msgspec.json.decode(response.content, type=shape)
            except msgspec.DecodeError as exc:
                logger.warning("WapiKit answered %s %s with an unreadable body: %s", status, shape.__name__, exc)
                raise errors.BadResponse(str(exc), status=status) from exc
        body = _error_body(response)
        message = body.message if body else ""
        if status == 400:
            raise errors.Rejected(message, status=status)
        if status in (401, 403):
            raise errors.Unauthorized(message, status=status)
        if status == 404:
            raise errors.NotFound(message, status=status)
        if status == 429:
            retry_after = _retry_after(response)
            if retry_after is None and body and body.reset is not None:
                retry_after = _reset_to_seconds(body.reset)
            raise errors.RateLimited(message, status=status, retry_after=retry_after)
        if status >= 500:
            raise errors.ServerError(message, status=status, retry_after=_retry_after(response))
        raise errors.BadResponse(f"unexpected status {status}", status=status)


def _error_body(response: requests.Response) -> ErrorBody | None:
    try:
        return msgspec.json.decode(response.content, type=ErrorBody)
    except msgspec.DecodeError:
        return None


def _retry_after(response: requests.Response) -> int | None:
    value = response.headers.get("Retry-After", "").strip()
    if value.isascii() and value.isdigit():
        return int(value)
    return None


def _reset_to_seconds(reset: int) -> int:
    # WapiKit's `reset` is either seconds to wait or a Unix time; a value past 2001 is the latter.
    if reset > 1_000_000_000:
        return max(int(reset - time.time()), 1)
    return max(reset, 1)
