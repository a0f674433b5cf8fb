"""`make bench-live`'s first rows: the upstream list calls while 1, 10 and 50 inboxes stay open on
the same view, ten minutes compressed into `--window` seconds (cache lifetimes and polling
intervals scaled alike), on this code and on the code before issue 11."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from devtools.benchlive import deployment
from devtools.benchlive.browsers import SimulatedInbox
from devtools.benchlive.deployment import Served
from devtools.benchmarks import benchkit

REAL_WINDOW = 600  # the ten minutes
# The lifetimes and intervals row 1 scales, as settings has them.
SCALED = {
    "WAPIKIT_LIST_CACHE_SECONDS": 15,
    "WAPIKIT_CONVERSATION_CACHE_SECONDS": 15,
    "WAPIKIT_MEMBERS_CACHE_SECONDS": 60,
    "WAPIKIT_SCAN_CACHE_SECONDS": 30,
    "INBOX_REFRESH_SECONDS": 20,
    "INBOX_LIVE_REFRESH_SECONDS": 120,
}


def upstream_lists(
    directory: Path, api: benchkit.SandboxApi, base_url: str, redis_url: str | None, cookie: str,
    counts: list[int], code: Path | None, commit: str | None, window: float, window_events: int,
) -> list[tuple[str, str]]:
    """The row for this code, and with `code` the row for the code before, each inbox count's
    upstream list calls in the window against one per cache lifetime."""
    factor = REAL_WINDOW / window
    scaled = {name: max(1, round(seconds / factor)) for name, seconds in SCALED.items()}
    poll, live_poll = SCALED["INBOX_REFRESH_SECONDS"] / factor, SCALED["INBOX_LIVE_REFRESH_SECONDS"] / factor
    lifetime = scaled["WAPIKIT_LIST_CACHE_SECONDS"]
    bound = int(window // lifetime)
    env = deployment.dashboard_env(base_url=base_url, api_key=deployment.API_KEY, redis_url=redis_url,
                                   extra={k: str(v) for k, v in scaled.items()})
    ids = [c["uniqueId"] for c in api.conversations("Active")[:10]]
    # WapiKit's 600 an hour would cut the code before short; both run unlimited here.
    api.control(rate_limits={"conversations": {"limit": 1_000_000, "window_seconds": 3600}})
    try:
        now: dict[int, tuple[int, int, int]] = {}
        with deployment.live_dashboard(directory, "lists", env, workers=2 if redis_url else 1) as served:
            deployment.wait_live(api, served, cookie)
            for n in counts:
                now[n] = asyncio.run(open_inboxes(api, served, cookie, n, poll, live_poll, True, window,
                                                  window_events, ids))
        before: dict[int, tuple[int, int, int]] = {}
        if code is not None:
            with deployment.before_dashboard(code, directory, env, email=deployment.EMAIL) as old:
                old_cookie = f"{settings.SESSION_COOKIE_NAME}={old.session_key}"
                for n in counts:
                    before[n] = asyncio.run(open_inboxes(api, old, old_cookie, n, poll, live_poll, False,
                                                         window, window_events, ids))
    finally:
        api.control(reset=True)
    scope = (f"10 min as {window:g} s (×{factor:g}: list cache {lifetime} s, polls {poll:.2g} s,"
             f" {live_poll:.2g} s while live), {window_events} NewMessage events")
    met = all(calls <= bound for calls, _, _ in now.values())
    rows = [(
        f"upstream GET /conversations, inboxes open on one view, {scope}",
        " · ".join(f"{n} inbox{'es' if n > 1 else ''} {calls} ({asked} asked, {failed} failed)" for n, (calls, asked, failed) in now.items())
        + f", target ≤ {bound} each (one per cache lifetime, whatever the number){benchkit.met(met)}",
    )]
    if code is not None:
        rows.append((
            f"  the same before issue 11 ({commit}: polling every {poll:.2g} s, no stream)",
            " · ".join(f"{n} inbox{'es' if n > 1 else ''} {calls} ({asked} asked, {failed} failed)" for n, (calls, asked, failed) in before.items()),
        ))
    return rows


async def open_inboxes(
    api: benchkit.SandboxApi, served: Served, cookie: str, n: int, poll: float, live_poll: float,
    stream: bool, window: float, events: int, ids: list[str],
) -> tuple[int, int, int]:
    """`n` inboxes open on the default view; the upstream list calls they cost in `window`
    seconds (after every page and its tabs loaded), and the requests they made meanwhile."""
    rng = random.Random(n)
    inboxes = [SimulatedInbox(served.port, cookie, "", poll, live_poll, stream, rng) for _ in range(n)]
    tasks = [asyncio.create_task(inbox.run()) for inbox in inboxes]
    try:
        loaded = asyncio.gather(*(inbox.loaded.wait() for inbox in inboxes))
        done, _ = await asyncio.wait([loaded, *tasks], timeout=60, return_when=asyncio.FIRST_COMPLETED)
        if loaded not in done:
            failed = next((t for t in tasks if t.done()), None)
            raise CommandError(f"the inboxes did not load: {failed.exception() if failed else 'timed out'}")
        await asyncio.sleep(1)  # the tabs' scans answered
        start = sum((await asyncio.to_thread(deployment.upstream_calls, served)).values())
        asked = sum(inbox.requests for inbox in inboxes)
        for inbox in inboxes:
            inbox.failed = 0

        async def publish() -> None:
            for k in range(events):
                await asyncio.sleep(window / (events + 1))
                await asyncio.to_thread(deployment.publish_message, api, ids[k % len(ids)], f"window {n}-{k}")

        publisher = asyncio.create_task(publish())
        await asyncio.sleep(window)
        end = sum((await asyncio.to_thread(deployment.upstream_calls, served)).values())
        await publisher
        failed = sum(inbox.failed for inbox in inboxes)
        return end - start, sum(inbox.requests for inbox in inboxes) - asked, failed
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
