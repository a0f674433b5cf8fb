"""WapiKit's live events (`GET /api/events?token=<key>`, Server-Sent Events), "server" profile only.

Frames as 055becef's `api/controllers/event_controller/controller.go` writes them: first
`event: connected` / `data: OK`, then per event `event: <type>` / `data: <base64 of a MessagePack
map>`, with no `id:`, no `retry:` and no heartbeats. A bad token gets 401 and one frame,
`event: error` / `data: Authorization failed`.

Each event is addressed to an organisation and optionally to one user; a subscriber gets it when
both match (NewMessage and NewConversation go to the whole organisation, ChatAssignment to the
assignee). The payload is what WapiKit's subscriber gets after the event's trip through Redis as
JSON: a map with the JSON tag names as keys and every number a float. The `event_keys: "go"`
control option writes the Go field names instead.

Every stream holds one gunicorn thread, so a stream ends as soon as its client goes (checked
every POLL_SECONDS on the socket, since no heartbeat would reveal it), when the worker shuts down
(`gunicorn_hooks`), and when the worker has more open than it may hold (`subscribers` then
closes the oldest)."""

from __future__ import annotations

import base64
import queue
import select
import socket
from collections.abc import Iterator
from typing import Any

import msgspec
from django.db import connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from . import control, subscribers
from .keys import key_holder
from .seed import ORGANIZATION_ID
from .subscribers import Subscriber

POLL_SECONDS = 0.2
CONNECTED = b"event: connected\ndata: OK\n\n"
AUTHORIZATION_FAILED = b"event: error\ndata: Authorization failed\n\n"
# Where 055becef addresses ChatUnAssignment: uuid.Nil, a user nobody is.
NOBODY = "00000000-0000-0000-0000-000000000000"


def publish(event_type: str, data: dict[str, Any], *, organization_id: str, user_id: str | None = None) -> int:
    """Send an event to every subscriber it is addressed to; answer how many got it."""
    frame = encode_frame(event_type, data, go_field_names=control.option("event_keys") == "go")
    recipients = subscribers.addressed(organization_id, user_id)
    for subscriber in recipients:
        subscriber.frames.put(frame)
    return len(recipients)


def encode_frame(event_type: str, data: dict[str, Any], *, go_field_names: bool) -> bytes:
    payload = _go_field_names(data) if go_field_names else _as_after_json(data)
    encoded = base64.b64encode(msgspec.msgpack.encode(payload)).decode()
    return f"event: {event_type}\ndata: {encoded}\n\n".encode()


def _as_after_json(value: Any) -> Any:
    """What Go's json.Unmarshal into interface{} gives back: numbers become float64."""
    if isinstance(value, dict):
        return {key: _as_after_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_after_json(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _go_field_names(value: Any) -> Any:
    """Keys as msgpack writes a Go struct: the field names, which here are the JSON tags with a
    capital first letter. A contact's attributes are a Go map: their keys stay as they are."""
    if isinstance(value, dict):
        return {
            key[:1].upper() + key[1:]: item if key == "attributes" else _go_field_names(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_go_field_names(item) for item in value]
    return value


# The stream


def events_view(request: HttpRequest) -> HttpResponse:
    member = key_holder(request.GET.get("token", ""))
    # Nothing below needs the database, and a stream may last: give the connection back now.
    connections.close_all()
    if member is None:
        return HttpResponse(AUTHORIZATION_FAILED, status=401, content_type="text/plain; charset=utf-8")
    subscriber = subscribers.subscribe(str(ORGANIZATION_ID), str(member.unique_id))
    response = StreamingHttpResponse(_stream(subscriber, request.META.get("gunicorn.socket")), content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    return response


def _stream(subscriber: Subscriber, sock: socket.socket | None) -> Iterator[bytes]:
    try:
        yield CONNECTED
        while not (subscriber.closed.is_set() or subscribers.stopping() or _client_gone(sock)):
            try:
                yield subscriber.frames.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
        if subscribers.stopping():
            _end_keepalive(sock)
    finally:
        subscribers.unsubscribe(subscriber)


def _end_keepalive(sock: socket.socket | None) -> None:
    """Make gunicorn close the connection once the stream's last chunk is out: it reads the next
    request from it and finds the end. Otherwise a client that keeps the connection for another
    request (as connection pools do) holds a stopping worker for the whole keep-alive time."""
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass


def _client_gone(sock: socket.socket | None) -> bool:
    """True once the client has closed its end: its socket reads as end-of-file. Whatever else
    it sent (a pipelined request) is left unread."""
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True
