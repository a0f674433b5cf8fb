"""The team's response targets: who may set them, the form that checks them, the one write, and
the read (at most one query a request) that every clock counts with."""

from __future__ import annotations

import contextvars
import logging
from datetime import time
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.conf import settings
from django.utils import timezone

from dashboard.observability.context import current_request_id

from .audit import may_read_audit
from .clocks import WEEKDAYS, BusinessHours, Targets
from .models import ResponseTargets
from .powers import Powers

logger = logging.getLogger("dashboard.conversations")

# A week: longer than any target a team would keep, short enough to catch a typo.
MOST_MINUTES = 7 * 24 * 60
DAY_STARTS, DAY_ENDS = time(9), time(17)
# The team's row's fields that an Owner sets (the form has one of each).
STORED = (
    "first_response_minutes", "next_response_minutes", "due_soon_minutes", "window_warning_minutes",
    "business_hours", "time_zone", "working_days", "day_starts", "day_ends",
)

# The targets read in this request, beside its id: a page of 50 clocks reads them once.
_read: contextvars.ContextVar[tuple[str, Targets] | None] = contextvars.ContextVar("targets", default=None)


def may_change_targets(user, powers: Powers | None = None) -> bool:
    """The audit trail's rule: Owners and staff, who answer for the whole team."""
    return may_read_audit(user, powers)


def defaults() -> Targets:
    """The settings' targets, without business hours: what applies until an Owner saves some."""
    return Targets(
        first_response=settings.FIRST_RESPONSE_TARGET_MINUTES,
        next_response=settings.NEXT_RESPONSE_TARGET_MINUTES,
        due_soon=settings.DUE_SOON_WARNING_MINUTES,
        window_warning=settings.REPLY_WINDOW_WARNING_MINUTES,
    )


def _as_targets(row: ResponseTargets) -> Targets:
    hours = None
    if row.business_hours:
        hours = BusinessHours(
            zone=ZoneInfo(row.time_zone),
            days=frozenset(int(day) for day in row.working_days),
            opens=row.day_starts,
            closes=row.day_ends,
        )
    return Targets(
        first_response=row.first_response_minutes,
        next_response=row.next_response_minutes,
        due_soon=row.due_soon_minutes,
        window_warning=row.window_warning_minutes,
        hours=hours,
    )


def current() -> Targets:
    """The team's targets: read once in a request (outside one, on each call)."""
    request_id = current_request_id.get()
    remembered = _read.get()
    if request_id is not None and remembered is not None and remembered[0] == request_id:
        return remembered[1]
    row = ResponseTargets.objects.filter(pk=ResponseTargets.TEAM).first()
    found = _as_targets(row) if row is not None else defaults()
    if request_id is not None:
        _read.set((request_id, found))
    return found


def saved() -> ResponseTargets | None:
    """The team's row as an Owner last saved it (None: the settings' defaults apply)."""
    return ResponseTargets.objects.filter(pk=ResponseTargets.TEAM).first()


def applying() -> dict:
    """What applies now, field by field as the team's row keeps it: the row, else the defaults."""
    row = saved()
    if row is not None:
        return {name: getattr(row, name) for name in STORED}
    found = defaults()
    return {
        "first_response_minutes": found.first_response, "next_response_minutes": found.next_response,
        "due_soon_minutes": found.due_soon, "window_warning_minutes": found.window_warning,
        "business_hours": False, "time_zone": settings.TIME_ZONE, "working_days": "01234",
        "day_starts": DAY_STARTS, "day_ends": DAY_ENDS,
    }


@cache
def time_zone_names() -> list[str]:
    return sorted(available_timezones())


class TargetsForm(forms.Form):
    first_response_minutes = forms.IntegerField(
        label="First response (minutes)", min_value=1, max_value=MOST_MINUTES,
        help_text="How long a customer who never heard from the team may wait for a first answer.",
    )
    next_response_minutes = forms.IntegerField(
        label="Next response (minutes)", min_value=1, max_value=MOST_MINUTES,
        help_text="How long a customer may wait for each answer after the first.",
    )
    due_soon_minutes = forms.IntegerField(
        label="Due soon warning (minutes before)", min_value=0, max_value=MOST_MINUTES,
        help_text="A clock says “due soon” this long before its target.",
    )
    window_warning_minutes = forms.IntegerField(
        label="Reply window warning (minutes before it closes)", min_value=0, max_value=24 * 60,
        help_text="WhatsApp allows free-form replies for 24 hours after the customer's last message.",
    )
    business_hours = forms.BooleanField(
        label="Count only business hours", required=False,
        help_text="Clocks stop outside the working days and hours below (the reply window never stops).",
    )
    time_zone = forms.CharField(
        label="Time zone", max_length=64, help_text="An IANA name, such as Europe/Berlin or America/Sao_Paulo."
    )
    working_days = forms.TypedMultipleChoiceField(
        label="Working days", required=False, coerce=int, widget=forms.CheckboxSelectMultiple,
        choices=list(enumerate(WEEKDAYS)),
    )
    day_starts = forms.TimeField(label="Day starts", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    day_ends = forms.TimeField(label="Day ends", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("first_response_minutes", "next_response_minutes"):
            self.fields[name].error_messages["min_value"] = "A target is at least 1 minute."
        for name in ("due_soon_minutes", "window_warning_minutes"):
            self.fields[name].error_messages["min_value"] = "Minutes cannot be negative."
        self.fields["time_zone"].widget.attrs.update(list="time-zones", autocomplete="off", spellcheck="false")

    @classmethod
    def for_current(cls) -> TargetsForm:
        """The form filled with what applies now: the team's row, else the settings' defaults."""
        initial = applying()
        return cls(initial={**initial, "working_days": [int(day) for day in initial["working_days"]]})

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"].strip()
        # Only the names zoneinfo lists: ZoneInfo() would also open "localtime" or a path.
        if name not in time_zone_names():
            raise forms.ValidationError("Unknown time zone: give an IANA name, such as Europe/Berlin.")
        return name

    def clean(self) -> dict:
        data = super().clean()
        starts, ends = data.get("day_starts"), data.get("day_ends")
        if starts is not None and ends is not None and ends <= starts:
            self.add_error("day_ends", "The working day must end after it starts (on the same day).")
        if data.get("business_hours") and not data.get("working_days"):
            self.add_error("working_days", "Business hours need at least one working day.")
        return data


def targets_save(*, form: TargetsForm, user) -> Targets:
    """The one write: the team's row from a valid form, logged with what changed and by whom."""
    data = form.cleaned_data
    values = {name: data[name] for name in STORED if name != "working_days"}
    values["working_days"] = "".join(str(day) for day in sorted(set(data["working_days"])))
    before = applying()
    changes = {name: (before[name], value) for name, value in values.items() if before[name] != value}
    row, _ = ResponseTargets.objects.update_or_create(
        pk=ResponseTargets.TEAM, defaults={**values, "changed_at": timezone.now(), "changed_by": user.email}
    )
    logger.info(
        "response targets changed by %s: %s", user.email,
        ", ".join(f"{name} {old} -> {new}" for name, (old, new) in changes.items()) or "nothing",
        extra={"user_id": user.pk},
    )
    found = _as_targets(row)
    if (request_id := current_request_id.get()) is not None:
        _read.set((request_id, found))
    return found
