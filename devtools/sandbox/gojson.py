"""JSON as WapiKit's Go server writes it (echo's `context.JSON`, that is Go's `encoding/json`):
compact, `<`, `>` and `&` escaped as `\\u003c`, `\\u003e` and `\\u0026`, a newline at the end, and
times in RFC 3339 with the fraction's trailing zeros cut. Clients parse it the same either way;
the sandbox writes it byte for byte so that nothing in the dashboard comes to depend on Python's
way of writing JSON."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from django.http import HttpResponse

# Characters Go escapes even inside strings; none of them can appear outside one.
_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def dumps(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.translate(_GO_ESCAPES) + "\n").encode()


def go_time(value: datetime) -> str:
    """`time.Time` as Go marshals it (RFC3339Nano): "2026-03-01T12:00:00.5Z", no ".000000"."""
    utc = value.astimezone(timezone.utc)
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def json_response(status: int, value: Any) -> HttpResponse:
    return HttpResponse(dumps(value), status=status, content_type="application/json")


def empty_response(status: int = 200) -> HttpResponse:
    """What a Go handler that writes nothing sends: the status, no body, no Content-Type."""
    response = HttpResponse(b"", status=status)
    del response["Content-Type"]
    return response
