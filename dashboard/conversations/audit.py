"""The audit log's rules: who may read it, and how it is filtered (the same on its page and in the API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone

from dashboard.wapikit import errors

from .members import powers_for
from .models import AuditEntry
from .powers import Powers


class AuditFilter(forms.Form):
    user = forms.CharField(required=False, label="User email")
    conversation = forms.CharField(required=False, label="Conversation id")
    action = forms.ChoiceField(
        required=False, choices=[("", "any")] + [(a, a) for a in ("close", "reopen", "delete", "assign", "unassign")]
    )
    outcome = forms.ChoiceField(required=False, choices=[("", "any")] + list(AuditEntry.Outcome.choices))
    via = forms.ChoiceField(required=False, label="Via", choices=[("", "any")] + list(AuditEntry.Via.choices))
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def filter(self, entries):
        data = self.cleaned_data
        if data.get("user"):
            entries = entries.filter(user_email__icontains=data["user"].strip())
        if data.get("conversation"):
            entries = entries.filter(conversation_id=data["conversation"].strip().lower())
        if data.get("action"):
            entries = entries.filter(action=data["action"])
        if data.get("outcome"):
            entries = entries.filter(outcome=data["outcome"])
        if data.get("via"):
            entries = entries.filter(via=data["via"])
        # Days in the reader's zone. The calendar's first and last days bound nothing, and in a
        # zone away from UTC their ends fall outside the years Python can hold.
        zone = timezone.get_current_timezone()
        if data.get("since") and data["since"] > date.min:
            entries = entries.filter(started_at__gte=datetime.combine(data["since"], time.min, zone))
        if data.get("until") and data["until"] < date.max:
            entries = entries.filter(started_at__lte=datetime.combine(data["until"], time.max, zone))
        return entries


def may_read_audit(user, powers: Powers | None = None) -> bool:
    """The one rule for the audit trail (this page, and each conversation's history): Owners
    and staff. `powers` when the caller has them already, else read here."""
    if user.is_staff:
        return True
    if powers is None:
        try:
            powers = powers_for(user)
        except errors.WapiKitError:
            return False
    return powers.member is not None and powers.member.is_owner


def may_read_history(user, powers: Powers) -> bool:
    """Who reads one conversation's history on its page: those who read the whole log, and
    managers (a member whose roles allow Assign:Conversation), who may act on every
    conversation they may view and need to know what was done to it before they act. The
    whole log stays for Owners and staff."""
    return may_read_audit(user, powers) or (powers.can_view and powers.can_assign)


# A bulk action opens the rows of all its conversations before it acts on the first: they start
# within moments of each other, and a pause this long means another action.
BULK_PAUSE = timedelta(seconds=5)


@dataclass(slots=True)
class AuditGroup:
    """Rows of the log shown together: one action, or every row of one bulk action."""

    entries: list[AuditEntry] = field(default_factory=list)

    @property
    def first(self) -> AuditEntry:
        return self.entries[0]

    @property
    def bulk(self) -> bool:
        return len(self.entries) > 1

    @property
    def outcomes(self) -> list[tuple[str, int]]:
        """How many rows ended each way, in the order outcomes are listed."""
        counts: dict[str, int] = {}
        for entry in self.entries:
            label = entry.get_outcome_display()
            counts[label] = counts.get(label, 0) + 1
        return list(counts.items())

    def takes(self, entry: AuditEntry) -> bool:
        last = self.entries[-1]
        return (
            entry.via == AuditEntry.Via.BULK == last.via
            and (entry.user_id, entry.user_email, entry.action, entry.after_assignee_id)
            == (last.user_id, last.user_email, last.action, last.after_assignee_id)
            and abs(last.started_at - entry.started_at) <= BULK_PAUSE
        )


def audit_groups(entries) -> list[AuditGroup]:
    """The log's rows (newest first) with each bulk action's rows together, so that a bulk close of
    40 conversations reads as one action that can be opened, not 40 lines between the others."""
    groups: list[AuditGroup] = []
    for entry in entries:
        if groups and groups[-1].takes(entry):
            groups[-1].entries.append(entry)
        else:
            groups.append(AuditGroup([entry]))
    return groups
