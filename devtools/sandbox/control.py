"""Run-time knobs of the sandbox process: added latency and a fault mode, for tests and
benchmarks, and in the "server" and "legacy" profiles the knobs of WapiKit's server behaviour.

The sandbox is one process with threads, so module state is shared by all its requests.
A fault can be limited to some methods, to paths containing a string, and to a number of
requests, after which the sandbox answers normally again.

`POST /_sandbox/control` (the sandbox key in the auth header) takes any of:

    {"latency_ms": 150}
    {"fault": "status_500", "fault_methods": ["POST"], "fault_path": "/assign", "fault_times": 1,
     "fault_seconds": 5, "retry_after": 30}
    {"reset": true}   every knob back to its default; "server" also forgets rate-limit counters and
                      custom limits, and gives back the contact attributes `null_attributes` took
    {"reseed": true}  the demo data seeded again, as `manage.py seed_sandbox` does, in this process
                      (a test's changes undone without starting Django once more)

and in the "server" and "legacy" profiles also:

    {"rate_limits": {"members": 3}}   or {"members": {"limit": 3, "window_seconds": 60}}; buckets
                      conversations, conversation, assign, unassign, messages, members ("server")
    {"null_attributes": true}   NULL the contact attributes of the first conversation of the
                      default list (or {"null_attributes": "<conversation id>"}): WapiKit's list and
                      get then panic with 500 {"message": "Internal Server Error"}; false gives
                      them back
    {"event_keys": "go"}   event payload map keys as Go field names ("Conversation", "Message",
                      "ConversationId"); "json" (the default) sends the JSON tag names
    {"unassign_event": "assignee"}   deliver ChatUnAssignment to the assignee; by default it goes to
                      nobody, as in 055becef (see `server_api.unassign_conversation`)
    {"list_assignee": "oldest"}   which assignment a list shows when the history holds several:
                      "newest" (the default) or "oldest"

Each answer is the whole state ("server" and "legacy" add `profile`, `rate_limits`,
`null_attributes` and `event_subscribers`, the number of open event streams). In those profiles
a status fault answers in the profile's error format (a bare JSON string, or {"message"} for
"legacy"); 502 and 503 stay a gateway's {"message"}."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from . import ratelimit
from .models import Contact, Conversation
from .seed import seed
from .subscribers import subscriber_count

FAULTS = (
    "none",
    "status_500",
    "status_502",
    "status_503",  # with Retry-After
    "status_429",  # with {"message", "remaining", "reset"}
    "status_401",
    "status_404",
    "not_json",
    "wrong_shape",
    "slow_body",  # headers at once, then the body trickles for `fault_seconds`
    "hang",  # answers nothing for `fault_seconds` (a read timeout for the client)
)

# The choices of the server-behaviour knobs; the first is the default.
SERVER_CHOICES: dict[str, tuple[str, ...]] = {
    "event_keys": ("json", "go"),
    "unassign_event": ("nobody", "assignee"),
    "list_assignee": ("newest", "oldest"),
}

_lock = threading.Lock()
_state: dict[str, Any] = {}
# What `null_attributes` took: {"conversation", "contact", "attributes"}, to give it back on reset.
_nulled: dict[str, Any] = {}


def _defaults() -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "latency_ms": settings.SANDBOX_LATENCY_MS,
        "fault": "none",
        "fault_methods": [],
        "fault_path": "",
        "fault_times": None,
        "fault_seconds": 5.0,
        "retry_after": 30,
        "faulted": 0,
    }
    if _server_profile():
        defaults.update({name: choices[0] for name, choices in SERVER_CHOICES.items()})
    return defaults


def _server_profile() -> bool:
    return settings.SANDBOX_PROFILE != "spec"


def state() -> dict[str, Any]:
    with _lock:
        current = {**_defaults(), **_state}
        if _server_profile():
            current.update(
                profile=settings.SANDBOX_PROFILE,
                null_attributes=_nulled.get("conversation"),
                rate_limits=ratelimit.state(),
                event_subscribers=subscriber_count(),
            )
        return current


def option(name: str) -> str:
    """The current value of one of the SERVER_CHOICES knobs."""
    with _lock:
        return _state.get(name, SERVER_CHOICES[name][0])


def configure(values: dict[str, Any]) -> None:
    if values.get("reset"):
        ratelimit.reset()
        _restore_attributes()
        with _lock:
            _state.clear()
    if values.get("reseed"):
        with _lock:
            _nulled.clear()  # the rows it held are replaced
        seed(profile=settings.SANDBOX_PROFILE)
    if _server_profile():
        _configure_server(values)
    with _lock:
        if "latency_ms" in values:
            _state["latency_ms"] = max(0, int(values["latency_ms"]))
        if "fault" in values:
            if values["fault"] not in FAULTS:
                raise ValueError(f"unknown fault {values['fault']!r}; one of {', '.join(FAULTS)}")
            _state.update(fault=values["fault"], faulted=0)
            _state["fault_methods"] = [m.upper() for m in values.get("fault_methods", [])]
            _state["fault_path"] = str(values.get("fault_path", ""))
            _state["fault_times"] = values.get("fault_times")
            _state["fault_seconds"] = float(values.get("fault_seconds", 5.0))
            _state["retry_after"] = int(values.get("retry_after", 30))


def _configure_server(values: dict[str, Any]) -> None:
    for name, choices in SERVER_CHOICES.items():
        if name in values and values[name] not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}")
    if "rate_limits" in values:
        if not isinstance(values["rate_limits"], dict):
            raise ValueError("rate_limits must be an object of bucket: limit")
        ratelimit.configure(values["rate_limits"])
    if values.get("null_attributes"):
        _null_attributes(values["null_attributes"])
    elif values.get("null_attributes") is False:
        _restore_attributes()
    with _lock:
        _state.update({name: values[name] for name in SERVER_CHOICES if name in values})


def _null_attributes(target: Any) -> None:
    conversations = Conversation.objects.select_related("contact").order_by("id")
    if target is True:
        conversation = conversations.exclude(status__in=[Conversation.Status.CLOSED, Conversation.Status.DELETED]).first()
    else:
        conversation = conversations.filter(unique_id=uuid.UUID(str(target))).first()
    if conversation is None:
        raise ValueError("no such conversation to null the contact attributes of")
    _restore_attributes()
    contact = conversation.contact
    with _lock:
        _nulled.update(conversation=str(conversation.unique_id), contact=contact.unique_id, attributes=contact.attributes)
    Contact.objects.filter(pk=contact.pk).update(attributes=None)


def _restore_attributes() -> None:
    with _lock:
        taken = dict(_nulled)
        _nulled.clear()
    if taken:
        Contact.objects.filter(unique_id=taken["contact"]).update(attributes=taken["attributes"])


def _take_fault(request: Request | HttpRequest) -> tuple[str, dict[str, Any]]:
    with _lock:
        current = {**_defaults(), **_state}
        fault = current["fault"]
        if fault == "none":
            return "none", current
        if current["fault_methods"] and request.method not in current["fault_methods"]:
            return "none", current
        if current["fault_path"] and current["fault_path"] not in request.path:
            return "none", current
        if current["fault_times"] is not None:
            if current["faulted"] >= current["fault_times"]:
                return "none", current
        _state["faulted"] = current["faulted"] + 1
        return fault, current


def take_fault(request: Request | HttpRequest) -> tuple[str, dict[str, Any]]:
    """Wait out the added latency; then the fault this request gets ("none" mostly) and the
    knobs' state, for a profile that writes its own faulty answers."""
    fault, current = _take_fault(request)
    if current["latency_ms"]:
        time.sleep(current["latency_ms"] / 1000)
    return fault, current


def before_request(request: Request) -> HttpResponse | Response | None:
    """None to answer normally; otherwise the faulty answer to send instead."""
    fault, current = take_fault(request)
    if fault == "none":
        return None
    if fault.startswith("status_"):
        status = int(fault.removeprefix("status_"))
        body: dict[str, Any] = {"message": MESSAGES[status]}
        response = Response(body, status=status)
        if status == 429:
            body.update(remaining=0, reset=current["retry_after"])
        if status == 503:
            response["Retry-After"] = str(current["retry_after"])
        return response
    if fault == "wrong_shape":
        return Response(WRONG_SHAPE)
    return transport_fault(fault, current)


WRONG_SHAPE = {"conversations": "not a list", "conversation": {"status": 42}, "members": None}


def transport_fault(fault: str, current: dict[str, Any]) -> HttpResponse | None:
    """The faults that look the same whatever the profile: not JSON, too slow, no answer."""
    seconds = current["fault_seconds"]
    if fault == "not_json":
        return HttpResponse("<html><body><h1>Bad gateway</h1></body></html>", content_type="text/html")
    if fault == "hang":
        time.sleep(seconds)
        return None
    if fault == "slow_body":
        return StreamingHttpResponse(_trickle(seconds), content_type="application/json")
    raise AssertionError(fault)


def _trickle(seconds: float) -> Iterator[bytes]:
    for _ in range(10):
        yield b" "
        time.sleep(seconds / 10)
    yield b'{"message": "too slow"}'


MESSAGES = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    429: "Too many requests",
    401: "Unauthorized access",
    404: "Not found",
}
