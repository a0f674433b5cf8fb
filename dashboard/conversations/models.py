"""Who changed what. The dashboard acts on WapiKit with one organisation key, so WapiKit cannot
tell which manager did something; this table is the only record.

A row is written before the upstream call and completed once after it. Completed rows are
never changed and no row is ever deleted by the application: an attempt whose process died
mid-call stays visible as unfinished."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AppendOnlyError(Exception):
    pass


class AuditQuerySet(models.QuerySet):
    def delete(self):
        raise AppendOnlyError("audit entries are never deleted")

    def update(self, **kwargs):
        raise AppendOnlyError("audit entries are completed with AuditEntry.complete(), never updated")

    def complete_pending(self, pk: int, **fields) -> int:
        """The one write allowed after creation: filling in an unfinished row, once."""
        return models.QuerySet.update(self.filter(pk=pk, outcome=AuditEntry.Outcome.PENDING), **fields)


class AppendOnlyQuerySet(models.QuerySet):
    """A log: rows are added, never changed nor deleted."""

    def update(self, **kwargs):
        raise AppendOnlyError("the timeline's log is never changed")

    def delete(self):
        raise AppendOnlyError("the timeline's log is never deleted")

    def expire(self, *, before) -> int:
        """Retention, the one deletion the log allows: what happened before `before`."""
        deleted, _ = models.QuerySet.delete(self.filter(at__lt=before))
        return deleted


class AuditEntry(models.Model):
    class Outcome(models.TextChoices):
        PENDING = "pending", "unfinished"
        SUCCEEDED = "succeeded"
        REJECTED = "rejected"
        FAILED = "failed"
        SKIPPED = "skipped"
        DENIED = "denied"
        # WapiKit answered with success but the conversation did not change (the server's
        # status update only logs).
        IGNORED = "ignored", "accepted, not applied"

    class Via(models.TextChoices):
        CARD = "card"
        PAGE = "page", "conversation page"
        BULK = "bulk"
        API = "api"
        # Routing's own assignments and take-backs (dashboard/routing/act.py): the detail names
        # the rule and why this member.
        ROUTING = "routing"

    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    user_email = models.EmailField()
    # Where the request came from (accounts/addresses.py: the client behind trusted proxies).
    client_address = models.CharField(max_length=64, blank=True)
    member_id = models.CharField(max_length=64, blank=True)
    member_name = models.CharField(max_length=300, blank=True)
    conversation_id = models.CharField(max_length=64, db_index=True)
    contact_name = models.CharField(max_length=300, blank=True)
    action = models.CharField(max_length=20, db_index=True)
    via = models.CharField(max_length=10, choices=Via.choices)
    # Through the API: the name of the token the call carried (its owner is `user`).
    token_name = models.CharField(max_length=100, blank=True)
    before_status = models.CharField(max_length=20, blank=True)
    before_assignee_id = models.CharField(max_length=64, blank=True)
    before_assignee_name = models.CharField(max_length=300, blank=True)
    after_status = models.CharField(max_length=20, blank=True)
    after_assignee_id = models.CharField(max_length=64, blank=True)
    after_assignee_name = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING, db_index=True)
    error_kind = models.CharField(max_length=40, blank=True)
    detail = models.TextField(blank=True)
    # An Undo from the card's confirmation: the entry whose action this one reverses.
    undoes = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="undone_by")

    objects = AuditQuerySet.as_manager()

    class Meta:
        # The table keeps the name it was created with, in the audit app.
        db_table = "audit_auditentry"
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["conversation_id", "-started_at"])]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("audit entries are written once; use complete()")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries are never deleted")

    def complete(self, *, outcome: str, **fields) -> None:
        fields.update(outcome=outcome, completed_at=timezone.now())
        if AuditEntry.objects.complete_pending(self.pk, **fields) != 1:
            raise AppendOnlyError(f"audit entry {self.pk} was already completed")
        for name, value in fields.items():
            setattr(self, name, value)

    @property
    def finished(self) -> bool:
        return self.outcome != self.Outcome.PENDING


# The timeline: what happened in each conversation's life, and the facts a manager's clocks need.


class Source(models.TextChoices):
    EVENT = "event", "WapiKit's event"
    LIST = "list", "a list answer"
    READ = "read", "a read of the conversation"
    ACTION = "action", "the dashboard's own action"


class LifeEvent(models.Model):
    """One thing that happened to a conversation, logged once (its `key` is unique, so the same
    event learned twice, from an event and then a read, is one row) and never changed."""

    class Kind(models.TextChoices):
        NEW = "new"
        INBOUND = "inbound"
        OUTBOUND = "outbound"
        ASSIGNED = "assigned"
        UNASSIGNED = "unassigned"
        CLOSED = "closed"
        REOPENED = "reopened"
        DELETED = "deleted"

    key = models.CharField(max_length=200, unique=True)
    conversation_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    at = models.DateTimeField()  # when it happened, as WapiKit (or the dashboard's clock, for its own actions) says
    message_id = models.CharField(max_length=64, blank=True)
    message_type = models.CharField(max_length=40, blank=True)
    member_id = models.CharField(max_length=64, blank=True)  # the assignee, for assigned
    source = models.CharField(max_length=10, choices=Source.choices)
    learned_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["conversation_id", "at"]), models.Index(fields=["kind", "at"])]


class ConversationLife(models.Model):
    """What the dashboard knows now of one conversation: each fact with where it came from and
    when it was learned. The message facts are derived from the log; status and assignee are
    the latest observed, by when they were true, so a late or replayed fact never wins."""

    conversation_id = models.CharField(max_length=64, unique=True)
    # The open cycle: the first inbound message since the team last wrote (None: nobody waiting).
    first_inbound_at = models.DateTimeField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_outbound_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_message_inbound = models.BooleanField(null=True, blank=True)
    last_message_type = models.CharField(max_length=40, blank=True)
    last_message_id = models.CharField(max_length=64, blank=True)
    # The last message as WapiKit described it (msgspec JSON), for the card's line; "" when only
    # its time and direction are known.
    last_message_body = models.TextField(blank=True)
    messages_source = models.CharField(max_length=10, choices=Source.choices, blank=True)
    messages_learned_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, blank=True)
    status_as_of = models.DateTimeField(null=True, blank=True)
    status_source = models.CharField(max_length=10, choices=Source.choices, blank=True)
    assignee_id = models.CharField(max_length=64, blank=True)  # "" for nobody
    assignee_known = models.BooleanField(default=False)
    assigned_since = models.DateTimeField(null=True, blank=True)
    assignee_as_of = models.DateTimeField(null=True, blank=True)
    assignee_source = models.CharField(max_length=10, choices=Source.choices, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "first_inbound_at"]),
            models.Index(fields=["status", "last_message_at"]),
            models.Index(fields=["assignee_id", "status"]),
        ]

    @property
    def waiting(self) -> bool:
        return self.first_inbound_at is not None


# The background reads (backfill.py): what the dashboard plans to read of each conversation, kept
# in the database so that a restarted worker resumes where the last one stopped.


class Reading(models.Model):
    """One conversation's background reads of its newest messages: when the next is due, why,
    and who is reading it now. A row is claimed by one worker (`claim`, until `claimed_until`)
    before it is read, so two workers never read it for the same due time."""

    class Why(models.IntegerChoices):
        # Higher first: what a user is looking at, then the Active list's, then the waiting's re-reads.
        WAITING = 0, "a waiting conversation's re-read"
        SWEPT = 1, "in the Active list, last message unknown"
        WANTED = 2, "on a user's screen, last message unknown"

    conversation_id = models.CharField(max_length=64, unique=True)
    why = models.PositiveSmallIntegerField(choices=Why.choices, default=Why.WAITING)
    wanted_at = models.DateTimeField(null=True, blank=True)  # when a user's page last asked for it
    next_read_at = models.DateTimeField(null=True, blank=True)  # None: no read planned
    last_read_at = models.DateTimeField(null=True, blank=True)
    # Re-reads since a new message: the backoff's exponent.
    attempts = models.PositiveIntegerField(default=0)
    # The timeline's `messages_learned_at` when the schedule was last set: a later one means a
    # message arrived meanwhile, and the backoff starts again.
    messages_as_of = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["next_read_at", "why"])]


class ReadingPlan(models.Model):
    """When the next run of the background reads is enqueued for, so that however many pages,
    sweeps and runs ask for one, one run is planned at a time."""

    name = models.CharField(max_length=40, unique=True)
    run_at = models.DateTimeField(null=True, blank=True)


# The team's response targets: what the response clocks (clocks.py) count against.


class ResponseTargets(models.Model):
    """One row, the team's (`TEAM`); until an Owner saves it the settings' defaults apply
    (targets.py). Who changed it last, and when, is kept beside the values; each change is logged."""

    TEAM = 1

    first_response_minutes = models.PositiveIntegerField()
    next_response_minutes = models.PositiveIntegerField()
    due_soon_minutes = models.PositiveIntegerField()
    window_warning_minutes = models.PositiveIntegerField()
    business_hours = models.BooleanField(default=False)
    time_zone = models.CharField(max_length=64)  # an IANA name, checked with zoneinfo
    working_days = models.CharField(max_length=7, default="01234")  # weekday digits, 0 is Monday
    day_starts = models.TimeField()
    day_ends = models.TimeField()
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.EmailField(blank=True)


# Alerts before a breach (alerts.py): raised once per kind and waiting cycle.


class Alert(models.Model):
    """A response clock about to run out: raised once for a conversation's waiting cycle and
    kind, at the moment the clock turned "due soon" (or the reply window "closing"), for the
    assignee as it was then, or for the managers when nobody was assigned."""

    class Kind(models.TextChoices):
        RESPONSE = "response", "response due"
        WINDOW = "window", "reply window closing"

    conversation_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The cycle: the contact's first waiting message (response) or last message (window).
    cycle_at = models.DateTimeField()
    due_at = models.DateTimeField()  # when the target is breached, or the window closes
    raised_at = models.DateTimeField(default=timezone.now)
    member_id = models.CharField(max_length=64, blank=True)  # "" for the managers

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(fields=["conversation_id", "kind", "cycle_at"], name="one_alert_per_cycle"),
        ]
        indexes = [models.Index(fields=["member_id", "-raised_at"])]
