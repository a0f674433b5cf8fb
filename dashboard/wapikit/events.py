"""WapiKit's live events: `GET /events?token=<key>`, a Server-Sent Events stream.

The server's first frame is `event: connected` / `data: OK`; a bad token gets a 401 whose body
is one frame, `event: error` / `data: Authorization failed` (shared/wapikit/REAL-SERVER.md).
Later frames carry `data: <base64 of a MessagePack map>`, which a consumer decodes itself:
this module only turns the stream into frames."""

from __future__ import annotations

import codecs
import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import requests
from urllib3.exceptions import HTTPError as TransportError
from urllib3.exceptions import ReadTimeoutError

from . import errors
from .client import WapiKitClient

EVENTS_PATH = "/events"
_LINE_END = re.compile(r"\r\n|\r|\n")
_CHUNK = 16 * 1024
# A line longer than this is no event WapiKit sends: the stream is not what it should be.
MAX_LINE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Frame:
    event: str
    data: str
    # The stream's last event id when this frame was dispatched (WapiKit sends none).
    id: str = ""


class FrameParser:
    """Bytes of an event stream in, frames out, as the HTML standard interprets a stream:
    lines end in CRLF, LF or CR (a chunk may split any of them), `:` starts a comment, one
    space after the field's colon is dropped, `data` lines are joined with newlines, a blank
    line dispatches the frame (none when it has no data), an event type defaults to
    "message", and the last event id carries over from frame to frame."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        # The unfinished line, in pieces: a long line arriving in many chunks is joined once.
        self._pending: list[str] = []
        self._pending_length = 0
        # A CR that ended the last chunk may be the first half of a CRLF.
        self._held_cr = False
        self._event = ""
        self._data: list[str] = []
        self.last_id = ""
        # Milliseconds the server asks a client to wait before reconnecting, if it said.
        self.retry: int | None = None

    def feed(self, chunk: bytes) -> list[Frame]:
        text = ("\r" if self._held_cr else "") + self._decoder.decode(chunk)
        self._held_cr = text.endswith("\r")
        if self._held_cr:
            text = text[:-1]
        *lines, rest = _LINE_END.split(text)
        if lines:
            lines[0] = "".join(self._pending) + lines[0]
            self._pending, self._pending_length = [], 0
        self._pending.append(rest)
        self._pending_length += len(rest)
        if self._pending_length > MAX_LINE:
            raise errors.BadResponse(f"an event stream line longer than {MAX_LINE} characters")
        frames = []
        for line in lines:
            frame = self._line(line)
            if frame is not None:
                frames.append(frame)
        return frames

    def _line(self, line: str) -> Frame | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        elif field == "id" and "\0" not in value:
            self.last_id = value
        elif field == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)
        return None

    def _dispatch(self) -> Frame | None:
        event, data = self._event or "message", self._data
        self._event, self._data = "", []
        if not data:
            return None
        return Frame(event=event, data="\n".join(data), id=self.last_id)


@contextlib.contextmanager
def subscription(client: WapiKitClient, *, timeout: tuple[float, float] = (3.0, 5.0)) -> Iterator[Iterator[Frame]]:
    """The stream's frames as they arrive; the connection closes when the block ends. The
    read timeout bounds each wait for more bytes: a quiet stream raises `TimedOut`."""
    response = _open(client, timeout)
    try:
        yield _frames(response)
    finally:
        response.close()


def first_frame(client: WapiKitClient, *, timeout: tuple[float, float] = (3.0, 5.0)) -> Frame:
    """Open the stream, read its first frame, close it."""
    with subscription(client, timeout=timeout) as frames:
        frame = next(frames, None)
    if frame is None:
        raise errors.BadResponse("the event stream ended before its first frame", status=200)
    return frame


def _open(client: WapiKitClient, timeout: tuple[float, float]) -> requests.Response:
    # The URL carries the key, and requests puts URLs in its exceptions' messages: only the
    # exception's type goes on, with no chained cause.
    started = time.perf_counter()
    try:
        response = client.session.get(
            client.base_url + EVENTS_PATH,
            params={"token": client.api_key},
            headers={"Accept": "text/event-stream", "Accept-Encoding": "identity", "Cache-Control": "no-cache"},
            timeout=timeout,
            stream=True,
            allow_redirects=False,
        )
    except requests.ConnectTimeout:
        client._notify("GET", EVENTS_PATH, None, started, "timeout")
        raise errors.TimedOut("connect timeout") from None
    except requests.ReadTimeout:
        client._notify("GET", EVENTS_PATH, None, started, "timeout")
        raise errors.TimedOut("no answer to the event stream request within the read timeout") from None
    except requests.RequestException as exc:
        client._notify("GET", EVENTS_PATH, None, started, "unreachable")
        raise errors.Unreachable(type(exc).__name__) from None
    client._notify("GET", EVENTS_PATH, response.status_code, started)
    content_type = response.headers.get("Content-Type", "")
    if response.status_code == 200 and content_type.split(";")[0].strip().lower() == "text/event-stream":
        return response
    with response:
        raise _refusal(client, response, content_type)


def _refusal(client: WapiKitClient, response: requests.Response, content_type: str) -> errors.WapiKitError:
    status = response.status_code
    if 200 <= status < 300:
        answered = content_type or "without a content type"
        return errors.BadResponse(f"answered {answered}, not an event stream", status=status)
    # The server refuses a token with one `event: error` frame; anything else (a router's
    # 404, a proxy's page) is read as every other WapiKit error is.
    said = next((f.data for f in FrameParser().feed(response.content + b"\n\n") if f.event == "error"), None)
    if said is None:
        try:
            client._decode(response, object)
        except errors.WapiKitError as exc:
            return exc
        raise AssertionError("an answer outside 2xx always raises")
    if status in (401, 403):
        return errors.Unauthorized.for_answer(said, status=status)
    if status == 404:
        return errors.NotFound(said, status=status)
    if status >= 500:
        return errors.ServerError(said, status=status)
    return errors.BadResponse(said, status=status)


def _frames(response: requests.Response) -> Iterator[Frame]:
    parser = FrameParser()
    while True:
        try:
            chunk = response.raw.read1(_CHUNK, decode_content=True)
        except ReadTimeoutError:
            raise errors.TimedOut("no event within the read timeout") from None
        except (TransportError, OSError) as exc:
            raise errors.Unreachable(type(exc).__name__) from None
        if not chunk:
            return
        yield from parser.feed(chunk)
