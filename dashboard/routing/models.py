"""Routing's rules and what it keeps while it runs: who had the dashboard open when, which
conversation is claimed by which trigger, and what was taken back."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Method(models.TextChoices):
    BALANCED = "balanced", "balanced: fewest open conversations first"
    ROUND_ROBIN = "round_robin", "round robin"


class Presence(models.TextChoices):
    ONLINE = "online", "only members with the dashboard open"
    ANYONE = "anyone", "anyone"


class TakeBackTo(models.TextChoices):
    RULE = "rule", "reassign by the same rule"
    UNASSIGNED = "unassigned", "return it to unassigned"


class Switch(models.Model):
    """One row (`TEAM`): the pause switch, and who last turned it."""

    TEAM = 1

    paused = models.BooleanField(default=False)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.EmailField(blank=True)


class Rule(models.Model):
    """Which conversations, to whom, how, within what capacity and presence, and when to take
    one back. Rules are tried in `position` order; the first whose filter matches routes."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    # Which: Active and unassigned, optionally of one campaign (its id) or carrying one tag.
    campaign_id = models.CharField(max_length=64, blank=True)
    tag = models.CharField(max_length=100, blank=True)
    # To whom: members holding any of these roles, or named (ids), or both.
    roles = models.JSONField(default=list, blank=True)
    member_ids = models.JSONField(default=list, blank=True)
    method = models.CharField(max_length=12, choices=Method.choices, default=Method.BALANCED)
    capacity = models.PositiveIntegerField(default=10)
    presence = models.CharField(max_length=8, choices=Presence.choices, default=Presence.ONLINE)
    online_minutes = models.PositiveIntegerField(default=5)
    grace_minutes = models.PositiveIntegerField(default=2)
    # Take-back: None for "never".
    unanswered_minutes = models.PositiveIntegerField(null=True, blank=True)
    window_minutes = models.PositiveIntegerField(null=True, blank=True)
    take_back_to = models.CharField(max_length=10, choices=TakeBackTo.choices, default=TakeBackTo.RULE)
    # Whether the take-back also applies to conversations a person assigned by hand.
    takes_manual = models.BooleanField(default=False)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.EmailField(blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Seen(models.Model):
    """When a member last had the dashboard open (a live stream checked, every minute or so)
    and when their last stream ended."""

    member_id = models.CharField(max_length=64, unique=True)
    seen_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)


class Claim(models.Model):
    """One routing of one conversation: written before the upstream call, so that two triggers,
    two processes or a restarted worker never assign it twice. At most one claim per
    conversation is `current` (a unique partial index): a later routing of the same
    conversation (after a take-back) starts only once the earlier claim was let go."""

    class State(models.TextChoices):
        CLAIMED = "claimed"  # chosen, the upstream call under way (or its worker died)
        ASSIGNED = "assigned"
        FAILED = "failed"
        RELEASED = "released"  # taken back, or found assigned by someone else

    conversation_id = models.CharField(max_length=64)
    current = models.BooleanField(default=True)
    trigger = models.CharField(max_length=40)
    rule_name = models.CharField(max_length=100)
    member_id = models.CharField(max_length=64)
    member_name = models.CharField(max_length=300, blank=True)
    why = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.CLAIMED)
    claimed_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField()
    assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation_id"], condition=Q(current=True), name="one_current_claim"),
        ]
        indexes = [models.Index(fields=["member_id", "state"]), models.Index(fields=["state", "lease_until"])]


class TakeBack(models.Model):
    """A conversation taken back from a silent assignee: what the managers are told."""

    conversation_id = models.CharField(max_length=64)
    from_member_id = models.CharField(max_length=64)
    from_member_name = models.CharField(max_length=300, blank=True)
    to_member_name = models.CharField(max_length=300, blank=True)  # "" when returned to unassigned
    rule_name = models.CharField(max_length=100)
    reason = models.CharField(max_length=200)
    deadline = models.DateTimeField()
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-taken_at"]
        constraints = [
            models.UniqueConstraint(fields=["conversation_id", "deadline"], name="one_take_back_per_deadline"),
        ]
