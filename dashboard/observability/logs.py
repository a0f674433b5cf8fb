"""Log records carry the request id and the user id of the request they were written for.

`LOG_FORMAT=json` (production) writes each record as one JSON object (python-json-logger);
the default, plain text, is for a terminal running `make run`. A condition that lasts across
requests is logged when it changes (`ChangeLog`), not on each request."""

from __future__ import annotations

import logging
import threading

from .context import current_request_id, current_user_id


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        if not hasattr(record, "user_id"):
            record.user_id = current_user_id.get()
        return True


class ChangeLog:
    """A condition that lasts for many requests in a row (WapiKit refusing or failing a read),
    logged when it begins and when it ends instead of once per request: while WapiKit is down a
    busy inbox would otherwise write the same line thousands of times a minute. Each process
    keeps its own state, so each logs the change it sees once."""

    def __init__(self, logger: logging.Logger, *, began: str, ended: str, level: int = logging.INFO) -> None:
        self.logger, self.began, self.ended, self.level = logger, began, ended, level
        self.lasting = False
        self._lock = threading.Lock()

    def failed(self, reason: object) -> None:
        """The condition holds: logged with its reason only when it was not holding already."""
        if self._flip(True):
            self.logger.log(self.level, self.began, reason)

    def succeeded(self) -> None:
        """The condition is over: logged only when it was holding."""
        if self.lasting and self._flip(False):
            self.logger.log(self.level, self.ended)

    def _flip(self, lasting: bool) -> bool:
        with self._lock:  # concurrent requests: one of them logs the change
            changed, self.lasting = self.lasting != lasting, lasting
        return changed
