"""The report's question: from which day to which (both included), by day or week."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django import forms

from dashboard.reporting import figures
from dashboard.reporting.periods import DAY, LONGEST, WEEK, Span

DEFAULT_DAYS = 7


class ReportForm(forms.Form):
    since = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    by = forms.ChoiceField(label="By", choices=[(DAY, "day"), (WEEK, "week")], initial=DAY)

    @classmethod
    def for_request(cls, data, today: date) -> ReportForm:
        """The query's span, else the last seven days to today (in the team's time zone)."""
        values = {"since": today - timedelta(days=DEFAULT_DAYS - 1), "until": today, "by": DAY}
        values.update({k: v for k, v in data.items() if k in ("since", "until", "by") and v})
        return cls(values)

    def clean(self) -> dict:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until:
            if until < since:
                self.add_error("until", "The last day comes before the first: swap them.")
            elif until - since > LONGEST:
                self.add_error("since", f"A report covers at most {LONGEST.days} days (the timeline keeps no more).")
            elif since.year < 2000 or until.year > 9000:
                self.add_error("since", "Choose days between the year 2000 and 9000.")
        return data

    def span(self, zone: ZoneInfo) -> Span:
        data = self.cleaned_data
        return Span(first=data["since"], last=data["until"], by=data["by"], zone=zone)

    def query(self) -> dict[str, str]:
        data = self.cleaned_data
        return {"since": data["since"].isoformat(), "until": data["until"].isoformat(), "by": data["by"]}


class ListForm(ReportForm):
    """A number's conversations: the report's span, one figure, and optionally one day or week
    (its first day), one member or one role."""

    figure = forms.ChoiceField(choices=[(key, key) for key in figures.FIGURES])
    bucket = forms.DateField(required=False)
    member = forms.CharField(required=False, max_length=64)
    role = forms.CharField(required=False, max_length=200)

    @classmethod
    def for_request(cls, data, today: date) -> ListForm:
        return cls({k: v for k, v in data.items()})


def local_today(zone: ZoneInfo, now: datetime) -> date:
    return now.astimezone(zone).date()
