"""The one request this package sends that is not to WapiKit: without Redis, the events listener
relays what WapiKit's event stream said to the dashboard's own process over loopback HTTP
(`dashboard.live.delivery`). Here so that every outgoing request leaves from this package."""

from __future__ import annotations

import logging

import requests

logger = logging.getLogger("dashboard.live")

_session = requests.Session()


def post_signed(url: str, body: bytes, *, signature: str) -> None:
    """POST a signed JSON body to the dashboard; failures are logged, never raised (the next
    event or state report goes through on its own)."""
    try:
        answer = _session.post(
            url,
            data=body,
            headers={"Content-Type": "application/json", "X-Live-Signature": signature},
            timeout=(2, 5),
        )
    except requests.RequestException as exc:
        logger.warning("the dashboard did not take a live event: %s", type(exc).__name__)
        return
    if answer.status_code != 204:
        logger.warning("the dashboard refused a live event: %s", answer.status_code)
