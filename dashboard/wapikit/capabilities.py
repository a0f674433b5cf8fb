"""What this WapiKit does, as opposed to what its spec promises, learned from its answers and
kept in Django's cache (shared by every dashboard process when it is Redis), per upstream URL.

WapiKit deployments differ: the hosted service may follow the doc page, a self-hosted server
runs whatever its code does (shared/wapikit/REAL-SERVER.md). Rather than a setting an
administrator must get right, the dashboard notes each difference the first time it meets it
and keeps the note for a day, so a server that is upgraded is relearned without a restart."""

from __future__ import annotations

import hashlib

from django.core.cache import cache

# Does `GET /conversation/{id}` say who is assigned? (The server's query selects no member.)
SINGLE_ANSWER_HAS_ASSIGNEE = "single-answer-has-assignee"
# Does `POST /conversation/{id}` change the status? (The server's handler only logs.)
STATUS_UPDATES_APPLY = "status-updates-apply"
# Are assign and unassign registered as GET? (The older server's router.)
ASSIGN_BY_GET = "assign-by-get"

# Do list answers carry messages, and so an order by last activity? (The server's carry neither.)
LISTS_CARRY_MESSAGES = "lists-carry-messages"

NAMES = (SINGLE_ANSWER_HAS_ASSIGNEE, STATUS_UPDATES_APPLY, ASSIGN_BY_GET, LISTS_CARRY_MESSAGES)


class Capabilities:
    def __init__(self, base_url: str, *, lifetime: int = 86400) -> None:
        digest = hashlib.blake2b(base_url.encode(), digest_size=8).hexdigest()
        self._prefix = f"wapikit:capability:v1:{digest}:"
        self.lifetime = lifetime

    def get(self, name: str) -> bool | None:
        """True or False once learned; None while nothing has shown it either way."""
        return cache.get(self._prefix + name)

    def learn(self, name: str, value: bool) -> None:
        if cache.get(self._prefix + name) is not value:
            cache.set(self._prefix + name, value, self.lifetime)

    def all(self) -> dict[str, bool | None]:
        found = cache.get_many([self._prefix + name for name in NAMES])
        return {name: found.get(self._prefix + name) for name in NAMES}

    def forget(self) -> None:
        cache.delete_many([self._prefix + name for name in NAMES])
