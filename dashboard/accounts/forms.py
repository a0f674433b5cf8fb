from __future__ import annotations

from django import forms

from .zones import time_zone_names


def _zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in time_zone_names()]


class TimeZoneForm(forms.Form):
    # A choice among the tz database's names: anything else is "not one of the available choices".
    time_zone = forms.ChoiceField(label="Time zone", choices=_zone_choices)
