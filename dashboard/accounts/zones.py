"""IANA time zones: which names the dashboard accepts (from a user's choice or a browser's
cookie), and the zone a request's times are shown in."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every zone this machine's tz database knows, sorted (read once: it scans the disk)."""
    return tuple(sorted(available_timezones()))


@cache
def _known() -> frozenset[str]:
    return frozenset(time_zone_names())


def is_time_zone(name: object) -> bool:
    """A name ZoneInfo can load and the tz database lists: never a path, a NUL or a guess."""
    return isinstance(name, str) and name in _known()


class ShownZone(ZoneInfo):
    """A zone that can show every time the dashboard holds. WapiKit may send Go's zero time
    (year 1, UTC), and shifting it west of UTC falls before the first day Python can hold: a
    plain ZoneInfo raises OverflowError inside a template (a 500). Such a time is shown as the
    calendar's first (or last) moment instead."""

    def fromutc(self, dt: datetime) -> datetime:
        try:
            return super().fromutc(dt)
        except OverflowError:
            edge = datetime.min if dt.year == datetime.min.year else datetime.max
            return edge.replace(tzinfo=self)


def shown_zone(name: str) -> ShownZone | None:
    """The zone named, or None when the name is not a known time zone."""
    return ShownZone(name) if is_time_zone(name) else None
