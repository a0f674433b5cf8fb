"""Reading a request as WapiKit's server code binds it: query parameters as oapi-codegen's
runtime parses them, ids as google/uuid does, JSON bodies as echo's `Bind`, and paging as the SQL
it becomes. Each refusal is a `HandlerError` with the words of the Go error behind it."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from django.http import HttpRequest

from .server_chain import HandlerError


def int_param(request: HttpRequest, name: str) -> int:
    """A required int64 query parameter, bound by oapi-codegen's runtime (v1.1.1)."""
    raw = single_param(request, name)
    if raw is None:
        raise HandlerError(400, f"query parameter '{name}' is required")
    if not re.fullmatch(r"[+-]?[0-9]+", raw):
        raise HandlerError(400, f"strconv.ParseInt: parsing {go_quote(raw)}: invalid syntax")
    value = int(raw)
    if not -(2**63) <= value < 2**63:
        raise HandlerError(400, f"strconv.ParseInt: parsing {go_quote(raw)}: value out of range")
    return value


def single_param(request: HttpRequest, name: str) -> str | None:
    values = request.GET.getlist(name)
    if len(values) > 1:
        raise HandlerError(400, f"multiple values for single value parameter '{name}'")
    return values[0] if values else None


def go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def sql_window(page: int, per_page: int) -> slice:
    """LIMIT per_page OFFSET (page - 1) * per_page, with PostgreSQL's refusals of negatives.
    The offset is Go's int64 arithmetic: a product past its range wraps around."""
    offset = ((page - 1) * per_page + 2**63) % 2**64 - 2**63
    if offset < 0:
        raise HandlerError(500, "pq: OFFSET must not be negative")
    if per_page < 0:
        raise HandlerError(500, "pq: LIMIT must not be negative")
    return slice(offset, offset + per_page)


_DASHED_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def go_uuid(raw: str) -> uuid.UUID | None:
    """google/uuid's Parse: the dashed form, in braces, after "urn:uuid:", or 32 hex digits."""
    text = raw
    if len(text) == 45 and text[:9].lower() == "urn:uuid:":
        text = text[9:]
    elif len(text) == 38 and text[0] == "{" and text[-1] == "}":
        text = text[1:-1]
    if _DASHED_UUID.fullmatch(text) or re.fullmatch(r"[0-9a-fA-F]{32}", text):
        return uuid.UUID(text)
    return None


def conversation_uuid(raw: str) -> uuid.UUID:
    if not raw:
        raise HandlerError(400, "conversation id is required")
    parsed = go_uuid(raw)
    if parsed is None:
        raise HandlerError(400, "invalid conversation id")
    return parsed


def body_object(request: HttpRequest, schema: str, fields: tuple[str, ...]) -> dict[str, str]:
    """echo's `Bind` into a Go struct of string fields: no body binds nothing; a body that is not
    JSON, not an object, or has a non-string field is refused with echo's error text."""
    if not request.body:
        return {}
    if not (request.content_type or "").startswith("application/json"):
        raise HandlerError(400, "code=415, message=Unsupported Media Type")
    try:
        value = json.loads(request.body)
    except ValueError as error:
        detail = f"invalid character looking for beginning of value ({error.msg})"
        raise HandlerError(400, f"code=400, message=Syntax error: offset={error.pos + 1}, error={detail}, internal={detail}") from None
    if not isinstance(value, dict):
        raise HandlerError(400, _unmarshal_type_error(f"api_types.{schema}", _json_kind(value), "", len(request.body)))
    bound: dict[str, str] = {}
    for name in fields:
        item = value.get(name)
        if item is not None and not isinstance(item, str):
            raise HandlerError(400, _unmarshal_type_error("string", _json_kind(item), name, len(request.body)))
        bound[name] = item or ""
    return bound


def _unmarshal_type_error(expected: str, got: str, field: str, offset: int) -> str:
    internal = f"json: cannot unmarshal {got} into Go value of type {expected}"
    return f"code=400, message=Unmarshal type error: expected={expected}, got={got}, field={field}, offset={offset}, internal={internal}"


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string"}.get(type(value), "null")
