"""Routing's state in a sentence's worth of facts, for the status page and the routing page:
how many rules are on, whether it is paused (and by whom), whether it waits for its share
of the assign route to return; and the preview of what it would do now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils import timezone

from . import act, engine, facts, rules
from .models import Rule, Switch


@dataclass(frozen=True, slots=True)
class RoutingState:
    enabled_rules: int
    paused: Switch | None
    waiting_until: datetime | None  # routing's share of the assign route is spent until then

    @property
    def running(self) -> bool:
        return self.enabled_rules > 0 and self.paused is None


def current() -> RoutingState:
    until = act.waiting_until()
    return RoutingState(
        enabled_rules=Rule.objects.filter(enabled=True).count(),
        paused=rules.paused(),
        waiting_until=datetime.fromtimestamp(until, tz=UTC) if until is not None else None,
    )


def preview() -> engine.Preview:
    """What the rules would do now with the unassigned backlog, without acting: reads the
    member list and the Active scan (shared, in the background budget), sends no write."""
    conversations = facts.active()
    enabled = [rule for rule in rules.rules() if rule.enabled]
    return engine.preview(enabled, conversations, facts.members(), facts.gather(conversations, now=timezone.now()))
