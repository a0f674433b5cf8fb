"""The id of the request being served, for log lines and the `X-Request-ID` sent upstream.

A context variable, so each thread serving a request sees its own. Pages fetch from WapiKit on
worker threads too: `ContextPool` runs each task in a copy of the submitting thread's context,
so those calls carry the page's id as well."""

from __future__ import annotations

import contextvars
import re
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
current_user_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("user_id", default=None)

# An id a proxy already gave the request is kept if it could not smuggle anything into a log line.
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_id_for(incoming: str | None) -> str:
    if incoming and _ACCEPTABLE.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class ContextPool(ThreadPoolExecutor):
    def submit(self, fn, /, *args, **kwargs) -> Future:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)
