"""Who listens to the sandbox's live events (`GET /api/events`, "server" profile): one subscriber
per open stream, with the queue its frames wait in.

Below both `events` (which writes the frames and reads `control`'s knobs) and `control` (whose
state counts the open streams), so neither imports the other. It imports nothing of Django:
gunicorn's master loads it through `gunicorn_hooks` before Django is set up.

Every stream holds one gunicorn thread, so a worker keeps at most `capacity` open: one more
closes the oldest, and clients that never hang up cannot starve the sandbox of threads."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(eq=False)
class Subscriber:
    organization_id: str
    user_id: str
    frames: queue.SimpleQueue[bytes] = field(default_factory=queue.SimpleQueue)
    closed: threading.Event = field(default_factory=threading.Event)

    def wants(self, organization_id: str, user_id: str | None) -> bool:
        return organization_id == self.organization_id and user_id in (None, self.user_id)


_lock = threading.Lock()
_subscribers: list[Subscriber] = []
_capacity = 16
_stopping: Callable[[], bool] = lambda: False


def configure_worker(*, capacity: int, stopping: Callable[[], bool]) -> None:
    """Called once per gunicorn worker: how many streams may be open, and how to tell that the
    worker is shutting down."""
    global _capacity, _stopping
    _capacity, _stopping = max(1, capacity), stopping


def stopping() -> bool:
    """Whether this worker is shutting down (then every stream ends)."""
    return _stopping()


def subscribe(organization_id: str, user_id: str) -> Subscriber:
    subscriber = Subscriber(organization_id, user_id)
    with _lock:
        while len(_subscribers) >= _capacity:
            _subscribers.pop(0).closed.set()
        _subscribers.append(subscriber)
    return subscriber


def unsubscribe(subscriber: Subscriber) -> None:
    subscriber.closed.set()
    with _lock:
        if subscriber in _subscribers:
            _subscribers.remove(subscriber)


def subscriber_count() -> int:
    with _lock:
        return len(_subscribers)


def addressed(organization_id: str, user_id: str | None) -> list[Subscriber]:
    """The subscribers an event for this organisation (and user, if any) goes to."""
    with _lock:
        return [s for s in _subscribers if s.wants(organization_id, user_id)]
