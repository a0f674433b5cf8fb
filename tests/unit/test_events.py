"""The live-events stream (dashboard/wapikit/events.py): the frame parser on its own, and the
first frame read over real HTTP from a small local server that answers as WapiKit's events
controller does, or as the things in front of it might."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard.wapikit import errors, events
from dashboard.wapikit.client import WapiKitClient
from dashboard.wapikit.events import Frame, FrameParser
from devtools.benchmarks.benchkit import free_port

KEY = "events-key-5d1e"


def frames_of(*chunks: bytes) -> list[Frame]:
    parser = FrameParser()
    return [frame for chunk in chunks for frame in parser.feed(chunk)]


# The parser


def test_wapikit_s_first_frame_is_connected_ok():
    assert frames_of(b"event: connected\ndata: OK\n\n") == [Frame("connected", "OK")]


def test_a_frame_is_only_dispatched_by_its_blank_line():
    parser = FrameParser()
    assert parser.feed(b"event: NewMessage\ndata: gqd") == []
    assert parser.feed(b"jb252\n") == []
    assert parser.feed(b"\n") == [Frame("NewMessage", "gqdjb252")]


def test_every_line_ending_is_one_and_a_crlf_split_between_chunks_is_one_too():
    frames = frames_of(b"data: a\r\n\r\ndata: b\r\rdata: c\n\ndata: d\r", b"\n\r", b"\n")
    assert [f.data for f in frames] == ["a", "b", "c", "d"]


def test_data_lines_join_with_newlines_and_only_one_space_after_the_colon_goes():
    frames = frames_of(b"data:  two spaces\ndata\ndata:none\n\n")
    assert frames == [Frame("message", " two spaces\n\nnone")]


def test_comments_unknown_fields_and_frames_without_data_dispatch_nothing():
    frames = frames_of(b": keep-alive\nfoo: bar\n\nevent: Lonely\n\ndata: x\n\n")
    # The event type of a frame without data does not leak into the next one.
    assert frames == [Frame("message", "x")]


def test_the_last_event_id_carries_over_and_retry_is_kept():
    parser = FrameParser()
    frames = parser.feed(b"id: 7\ndata: a\n\ndata: b\n\nretry: 2500\nid: 8\0\ndata: c\n\n")
    assert [f.id for f in frames] == ["7", "7", "7"]  # an id with a NUL is ignored
    assert parser.retry == 2500


def test_text_is_utf8_even_split_mid_character_and_a_leading_bom_goes():
    text = "data: Tomás 👋\n\n".encode()
    cut = text.index("👋".encode()) + 2
    assert frames_of(b"\xef\xbb\xbf" + text[:cut], text[cut:]) == [Frame("message", "Tomás 👋")]


def test_an_endless_line_is_a_bad_response_not_a_memory_leak():
    parser = FrameParser()
    with pytest.raises(errors.BadResponse):
        for _ in range(events.MAX_LINE // 1024 + 2):
            parser.feed(b"x" * 1024)


# The first frame over HTTP


class Upstream(BaseHTTPRequestHandler):
    """Answers `GET /api/events` as `mode` says; remembers the token it was given."""

    protocol_version = "HTTP/1.1"
    mode = "connected"
    tokens: list[str] = []
    released = threading.Event()

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        Upstream.tokens.extend(parse_qs(urlsplit(self.path).query).get("token", []))
        if self.mode == "connected":
            self.stream(b"event: connected\ndata: OK\n\n")
        elif self.mode == "close_delimited":
            # No chunked encoding and no length: the body ends when the connection does.
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b": hello\n\nevent: connected\ndata: OK\n\n")
            self.wfile.flush()
            self.released.wait(10)
        elif self.mode == "silent":
            self.stream(b"")
        elif self.mode == "refused":
            self.answer(401, "text/plain; charset=utf-8", b"event: error\ndata: Authorization failed\n\n")
        elif self.mode == "not_found":
            self.answer(404, "application/json", b'{"message":"Not Found"}')
        elif self.mode == "html":
            self.answer(200, "text/html", b"<html>a login page</html>")
        elif self.mode == "ended":
            self.answer(200, "text/event-stream", b": nothing\n\n")

    def stream(self, first: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if first:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(first), first))
            self.wfile.flush()
        # The stream stays open, as WapiKit's does: the reader must not wait for its end.
        self.released.wait(10)

    def answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def upstream() -> Iterator[WapiKitClient]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    server.daemon_threads = True
    Upstream.tokens = []
    Upstream.released.clear()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    client = WapiKitClient(base_url=f"http://127.0.0.1:{server.server_port}/api", api_key=KEY, timeout=(1, 1))
    try:
        yield client
    finally:
        Upstream.released.set()
        server.shutdown()
        server.server_close()


def first_frame(client: WapiKitClient, mode: str) -> Frame:
    Upstream.mode = mode
    return events.first_frame(client, timeout=(1, 1))


@pytest.mark.parametrize("mode", ["connected", "close_delimited"])
def test_the_first_frame_comes_back_while_the_stream_stays_open(upstream, mode):
    # A read timeout of 1 s against a stream held open for 10: waiting for more would time out.
    assert first_frame(upstream, mode) == Frame("connected", "OK")
    assert Upstream.tokens == [KEY]


def test_a_refused_token_raises_unauthorized_with_wapikit_s_words(upstream):
    with pytest.raises(errors.Unauthorized) as refused:
        first_frame(upstream, "refused")
    assert refused.value.status == 401 and refused.value.detail == "Authorization failed"


def test_a_server_without_events_raises_not_found(upstream):
    with pytest.raises(errors.NotFound) as missing:
        first_frame(upstream, "not_found")
    assert missing.value.detail == "Not Found"


@pytest.mark.parametrize("mode", ["html", "ended"])
def test_an_answer_that_is_no_event_stream_is_a_bad_response(upstream, mode):
    with pytest.raises(errors.BadResponse):
        first_frame(upstream, mode)


def test_a_stream_that_sends_nothing_times_out(upstream):
    with pytest.raises(errors.TimedOut):
        first_frame(upstream, "silent")


def test_an_unreachable_stream_never_shows_the_key_that_its_url_carries():
    client = WapiKitClient(base_url=f"http://127.0.0.1:{free_port()}/api", api_key=KEY, timeout=(1, 1))
    with pytest.raises(errors.Unreachable) as unreachable:
        events.first_frame(client)
    assert KEY not in "".join(traceback.format_exception(unreachable.value))
