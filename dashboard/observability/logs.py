"""Log records carry the request id and the user id of the request they were written for.

`LOG_FORMAT=json` (production) writes each record as one JSON object (python-json-logger);
the default, plain text, is for a terminal running `make run`."""

from __future__ import annotations

import logging

from .context import current_request_id, current_user_id


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        if not hasattr(record, "user_id"):
            record.user_id = current_user_id.get()
        return True
