"""What the dashboard costs WapiKit and the browser, measured in `make bench`'s own process
through the whole Django stack: upstream calls per page, action, scan, bulk action and API call
(counted at the client), the bytes of a page and of a card fragment, and the inbox's time against
a direct upstream call."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.test.utils import override_settings

from dashboard.api.tokens import token_create, token_revoke
from dashboard.conversations import assignees
from dashboard.wapikit import WapiKitClient
from devtools.benchmarks import benchkit


def calls_and_bytes(add: Callable[[str, str], None], bulk: int) -> None:
    """The upstream calls of each kind of page, action and API call, and what a page and a card
    fragment weigh, each added as a row."""
    manager = benchkit.login("manager@example.com")
    cache.clear()
    with benchkit.counting_calls() as calls:
        manager.get("/")
    add("upstream calls, one inbox view (cold cache)", f"{len(calls)} ({_paths(calls)})")
    with benchkit.counting_calls() as calls:
        manager.get("/")
    add("upstream calls, one inbox view (warm cache)", f"{len(calls)} ({_paths(calls)})")
    with override_settings(WAPIKIT_LIST_CACHE_SECONDS=15):
        manager.get("/")
        owner = benchkit.login("owner@example.com")
        with benchkit.counting_calls() as calls:
            owner.get("/")
    add("upstream calls, the same inbox by a 2nd user (shared reads)", f"{len(calls)}")
    for name, value in api_rows(runs=5):
        add(name, value)
    page = benchkit.raw_body(manager.get("/?per_page=50"))
    first = re.search(rb'id="c-([0-9a-f-]{36})"', page).group(1).decode()
    seen = re.search(rb'name="seen" value="([^"]*)"', page).group(1).decode()
    # What the dashboard learns of a WapiKit once a day (does a single answer name the
    # assignee?), so that the action below is counted as every later one is.
    with benchkit.counting_calls() as calls:
        assignees.probe_single_answer_has_assignee()
    add("upstream calls, learning this WapiKit (once a day)", f"{len(calls)} ({_paths(calls)})")
    with benchkit.counting_calls() as calls:
        fragment = manager.post(
            f"/conversations/{first}/close/", {"next": "/", "seen": seen}, headers={"HX-Request": "true"}
        )
    add("upstream calls, one action (close)", f"{len(calls)} ({_paths(calls)})")
    cache.clear()
    manager.get("/")  # members cached, as on any second page
    with benchkit.counting_calls() as calls:
        manager.get("/?view=mine")
    add("upstream calls, one scanned view (cold)", f"{len(calls)} ({_paths(calls)})")
    with benchkit.counting_calls() as calls:
        manager.get("/?view=unassigned")
        manager.get("/inbox/tabs/?view=unassigned")
    add("upstream calls, scanned view + its tabs (warm)", f"{len(calls)}")
    ids = re.findall(rb'name="ids" value="([0-9a-f-]{36})', benchkit.raw_body(manager.get("/?per_page=50")))[:bulk]
    with benchkit.counting_calls() as calls:
        manager.post("/bulk/", {"action": "close", "ids": [i.decode() for i in ids], "next": "/", "confirm": "yes"})
    add(f"upstream calls, bulk close of {len(ids)}", f"{len(calls)} ({_paths(calls)})")

    page = manager.get("/?status=closed&per_page=50")
    raw = benchkit.raw_body(page)
    add("inbox page, 50 cards (manager)", f"{len(raw):,} B raw · {len(gzip.compress(raw)):,} B gzip")
    add("card fragment after an action", f"{len(benchkit.raw_body(fragment)):,} B raw")


def api_rows(*, runs: int) -> list[tuple[str, str]]:
    """One API list call and one API action (a script's Close), as scripts send them: a
    Bearer token, members cached as on any later call (a write reads its role afresh)."""
    user, _ = get_user_model().objects.get_or_create(email="manager@example.com")
    # The bench's database outlives a run: revoke the token an earlier run (or one stopped
    # half-way) left, as a person replaces a token, since a name is held by one live token.
    for earlier in user.api_tokens.usable().filter(name="bench"):
        token_revoke(user=user, token_id=earlier.pk)
    token, secret = token_create(user=user, name="bench", scopes="read,close", lifetime="1d")
    script = Client(headers={"authorization": f"Bearer {secret}"})
    script.get("/api/v1/conversations?per_page=25")  # members cached
    with benchkit.counting_calls() as calls:
        listed = script.get("/api/v1/conversations?per_page=25")
    list_ms = benchkit.median_ms(lambda: script.get("/api/v1/conversations?per_page=25"), runs)
    ids = [c["id"] for c in listed.json()["conversations"] if c["status"] == "Active"]
    rows = [(
        "API: one list call (GET /api/v1/conversations, 25)",
        f"{len(calls)} upstream ({_paths(calls)}) · {list_ms:.1f} ms median of {runs}",
    )]
    timings: list[float] = []
    counted = None
    for conversation_id in ids[: runs + 1]:
        with benchkit.counting_calls() as calls:
            seconds, _ = benchkit.seconds(
                lambda: script.post(
                    f"/api/v1/conversations/{conversation_id}/status", {"status": "Closed"},
                    content_type="application/json",
                )
            )
        # The last one, as every action after the first contact with a WapiKit costs.
        counted = list(calls)
        timings.append(seconds * 1000)
    token_revoke(user=user, token_id=token.pk)
    timings.sort()
    rows.append((
        "API: one action (POST …/status Closed)",
        f"{len(counted or [])} upstream ({_paths(counted or [])}) · {timings[len(timings) // 2]:.1f} ms median of {len(timings)}",
    ))
    return rows


def ratio(sandbox: WapiKitClient, runs: int) -> str:
    manager = benchkit.login("manager@example.com")
    manager.get("/")
    dashboard = benchkit.median_ms(lambda: manager.get("/"), runs)
    direct = benchkit.median_ms(
        lambda: sandbox.list_conversations(page=1, per_page=25, status="Active"), runs
    )
    return f"{dashboard / direct:.2f} ({dashboard:.1f} ms vs {direct:.1f} ms, medians of {runs})"


def _paths(calls: list[tuple[str, str]]) -> str:
    counts: dict[str, int] = {}
    for method, path in calls:
        name = f"{method} {re.sub(r'[0-9a-f-]{36}', '{id}', path)}"
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{n}× {name}" if n > 1 else name for name, n in counts.items()) or "none"
