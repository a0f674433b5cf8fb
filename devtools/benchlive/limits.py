"""`make bench-live`'s rate-limit row: what reaches WapiKit's conversations route between its 429
and its reset, while pages, polls and tab counts keep asking."""

from __future__ import annotations

import random
import time

import requests
from django.core.management.base import CommandError

from dashboard.wapikit.client import MAX_PAGE
from devtools.benchlive import deployment
from devtools.benchlive.deployment import Served
from devtools.benchmarks import benchkit


# The dashboard's default WAPIKIT_SCAN_CACHE_SECONDS, which the bench's deployment keeps.
SCAN_SECONDS = 30


def between_429_and_reset(api: benchkit.SandboxApi, served: Served, cookie: str, window: int) -> tuple[str, str]:
    """A small limit on the conversations route; another client of the same address spends
    what remains, so the dashboard's next fresh list read gets WapiKit's 429. Then pages,
    polls and tab counts until the reset: what reaches that route meanwhile."""
    browser = requests.Session()
    browser.headers["Cookie"] = cookie
    limit = 10
    # Pages nobody read yet, so each is a fresh list read; within the pages the dashboard
    # asks WapiKit for (it refuses a page past MAX_PAGE before sending anything).
    fresh = iter(range(random.randint(1_000, MAX_PAGE // 2), MAX_PAGE + 1))

    def page(status: str = "all") -> int:
        return browser.get(f"{served.url}/?status={status}&per_page=10&page={next(fresh)}", timeout=15).status_code

    def calls() -> dict[str, int]:
        return deployment.upstream_calls(served)

    api.control(rate_limits={"conversations": {"limit": limit, "window_seconds": window}})
    try:
        if page() != 200:
            raise CommandError("the dashboard did not serve a page under the small limit")
        url = api.base_url + "/conversations"
        # Where WapiKit's lists have no order (the server's), pages are drawn from the scan, which
        # serves every page and view of a status for WAPIKIT_SCAN_CACHE_SECONDS (30 by default):
        # the budget is spent again each time round, until a view whose scan expired reads the route.
        deadline = time.time() + 60
        while True:
            last_counted = time.time()
            for _ in range(limit):  # another client of WapiKit, from the same address
                answer = api.session.get(url, params={"page": 1, "per_page": 1, "status": "Active"}, timeout=10)
                if answer.status_code == 429:
                    break
                last_counted = time.time()
            reset_at = last_counted + window
            scanned_at = time.time()
            for status in ("active", "closed", "deleted", "all"):
                page(status)
            if calls().get("429"):
                break
            if time.time() > deadline:
                raise CommandError("the dashboard never got WapiKit's 429")
            time.sleep(1)
        at_429, started = sum(calls().values()), time.time()
        answered: dict[int, int] = {}
        asked = 0
        changes = "/inbox/changes/?status=all&per_page=10&v=&busy="
        while time.time() < reset_at - 0.5:
            for path in (None, changes, "/inbox/tabs/?status=all", "/"):
                status = page() if path is None else browser.get(served.url + path, timeout=15).status_code
                answered[status] = answered.get(status, 0) + 1
                asked += 1
            scanned_at = time.time()
            time.sleep(0.1)
        after = sum(calls().values()) - at_429
        held = time.time() - started
        # After the reset, and once the scans last read have expired (the pages of an unordered
        # WapiKit come from them), the next page reads the route again.
        scans_expire = scanned_at + SCAN_SECONDS + 1
        time.sleep(max(0.0, reset_at + 1.5 - time.time(), scans_expire - time.time()))
        resumed_from = sum(calls().values())
        resumed_status = page()
        resumed = sum(calls().values()) - resumed_from
    finally:
        api.control(reset=True)
    statuses = ", ".join(f"{n}× {s}" for s, n in sorted(answered.items()))
    return (
        f"upstream GET /conversations between WapiKit's 429 and its reset (limit {limit} per {window} s)",
        f"{after} in the {held:.1f} s after the 429 ({asked} pages, polls and tab counts asked: {statuses})"
        f" · after the reset {resumed} again, page {resumed_status}, target 0{benchkit.met(after == 0)}",
    )
