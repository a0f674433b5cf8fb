"""One subscription to WapiKit's event stream, read on a thread of its own onto the listener's
queue, and the backoff between subscriptions. A stream read cannot be interrupted from another
thread, so a reader the listener has given up on (stopped, lead lost) drops what it reads and
closes its connection at its next frame or read timeout."""

from __future__ import annotations

import queue
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from dashboard.wapikit import errors
from dashboard.wapikit.events import Frame

Subscribe = Callable[[], AbstractContextManager[Iterator[Frame]]]


class Backoff:
    """Capped exponential backoff with full jitter: the n-th wait (from 0) is drawn uniformly
    from [0, min(cap, base * 2**n)], so listeners that failed together retry apart."""

    def __init__(self, *, base: float, cap: float, uniform: Callable[[float, float], float] = random.uniform) -> None:
        self.base, self.cap, self._uniform = base, cap, uniform
        self.failures = 0

    def next_delay(self) -> float:
        # The exponent stops growing long after the cap is reached: 2**n would overflow a float.
        ceiling = min(self.cap, self.base * 2 ** min(self.failures, 64))
        self.failures += 1
        return self._uniform(0.0, ceiling)

    def reset(self) -> None:
        self.failures = 0


class Ended:
    """The stream's end: WapiKit (or something in between) closed it."""


@dataclass(frozen=True, slots=True)
class Failed:
    error: Exception


class Wake:
    """Put on the queue by `stop`, so a waiting loop notices at once."""


@dataclass(frozen=True, slots=True)
class Session:
    """How one subscription ended."""

    stopped: bool = False
    lost: bool = False
    # None when the stream ended; the error otherwise.
    error: Exception | None = None
    connected: bool = False
    delivered: int = 0
    seconds: float = 0.0

    @property
    def idle(self) -> bool:
        """A healthy stream that only stayed silent past its read timeout."""
        return self.connected and isinstance(self.error, errors.TimedOut)


class Reader(threading.Thread):
    """Reads one subscription onto the loop's queue, each item tagged with its session."""

    def __init__(self, *, subscribe: Subscribe, items: queue.SimpleQueue[tuple[int, Any]], session: int) -> None:
        super().__init__(name=f"live-events-reader-{session}", daemon=True)
        self._subscribe, self._items, self._session = subscribe, items, session
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    def run(self) -> None:
        try:
            with self._subscribe() as frames:
                for frame in frames:
                    if self._cancelled.is_set():
                        return
                    self._items.put((self._session, frame))
        except Exception as exc:  # noqa: BLE001 - every failure is the loop's to judge
            self._items.put((self._session, Failed(exc)))
        else:
            self._items.put((self._session, Ended()))
