"""A circuit breaker around WapiKit, its state in Django's cache so that every dashboard process
sharing a cache (Redis in production) sees the same circuit.

Closed: requests flow, and consecutive failures are counted. After `threshold` of them the
circuit opens for `cooldown` seconds: requests fail at once instead of each waiting out a
timeout. Then one request at a time is let through as a probe; its success closes the
circuit, its failure opens it again."""

from __future__ import annotations

import logging
import time

from django.core.cache import cache

from . import errors

logger = logging.getLogger(__name__)


class CircuitOpen(errors.Unreachable):
    kind = "circuit_open"
    default_message = "WapiKit is unreachable. The dashboard will retry on its own in a few seconds."


class CircuitBreaker:
    def __init__(
        self, *, name: str = "wapikit", threshold: int = 5, cooldown: float = 10.0, probe_wait: float = 5.0
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.probe_wait = probe_wait
        self._failures = f"breaker:{name}:failures"
        self._open_until = f"breaker:{name}:open-until"
        self._probe = f"breaker:{name}:probe"
        # When the run of failures began: pages say "WapiKit unreachable since 16:26".
        self._down_since = f"breaker:{name}:down-since"

    def before_request(self) -> None:
        open_until = cache.get(self._open_until)
        if open_until is None:
            return
        if time.time() < open_until:
            raise CircuitOpen("circuit open")
        # Cooldown over: exactly one caller across all processes gets to probe; the others
        # (often the probe's own siblings, fetched in parallel for one page) wait for its outcome.
        if cache.add(self._probe, 1, timeout=max(int(self.probe_wait) + 1, 1)):
            # A probe that just failed reopens the circuit and frees this slot: re-read, or a
            # caller that saw the old, expired circuit would go through as a second probe.
            reopened = cache.get(self._open_until)
            if reopened is not None and time.time() < reopened:
                cache.delete(self._probe)
                raise CircuitOpen("circuit open: the probe failed")
            return
        deadline = time.monotonic() + self.probe_wait
        while time.monotonic() < deadline:
            time.sleep(0.05)
            open_until = cache.get(self._open_until)
            if open_until is None:
                return
            if time.time() < open_until:
                raise CircuitOpen("circuit open: the probe failed")
        raise CircuitOpen("circuit open; a probe is under way")

    def record_success(self) -> None:
        if cache.get(self._open_until) is not None:
            logger.info("WapiKit answered again: circuit closed")
        cache.delete_many([self._failures, self._open_until, self._probe, self._down_since])

    def record_failure(self) -> None:
        cache.add(self._down_since, time.time(), timeout=None)
        try:
            failures = cache.incr(self._failures)
        except ValueError:
            cache.set(self._failures, 1, timeout=300)
            failures = 1
        probing = cache.get(self._open_until) is not None
        if probing or failures >= self.threshold:
            cache.set(self._open_until, time.time() + self.cooldown, timeout=int(self.cooldown) + 300)
            cache.delete(self._probe)
            logger.warning("WapiKit failed %d times in a row: circuit open for %.0f s", failures, self.cooldown)

    @property
    def is_open(self) -> bool:
        open_until = cache.get(self._open_until)
        return open_until is not None and time.time() < open_until

    @property
    def down_since(self) -> float | None:
        """When WapiKit began failing (Unix time), or None while it answers."""
        return cache.get(self._down_since)

    def reset(self) -> None:
        cache.delete_many([self._failures, self._open_until, self._probe, self._down_since])
