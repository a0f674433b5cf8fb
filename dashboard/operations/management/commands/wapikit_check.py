"""`manage.py wapikit_check`: can this dashboard work with the WapiKit that settings point at?
The checks (`dashboard.operations.checkup`) as a table or JSON; any FAIL exits non-zero."""

from __future__ import annotations

import json
from dataclasses import asdict

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dashboard.operations.checkup import FAIL, OK, WARN, Checkup, Row, doctor_client, shown_url


class Command(BaseCommand):
    help = (
        "Check the connection to WapiKit (WAPIKIT_BASE_URL, WAPIKIT_API_KEY): reachability, the key, "
        "members, dashboard users, answer shapes, rate limits and live events. Reads only; exits "
        "non-zero when a check fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the rows as JSON")

    def handle(self, *args, as_json: bool = False, **options):
        rows = Checkup(doctor_client()).rows()
        if as_json:
            self.stdout.write(
                json.dumps(
                    {"base_url": shown_url(settings.WAPIKIT_BASE_URL), "rows": [asdict(row) for row in rows]},
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            self.table(rows)
        failed = [row.check for row in rows if row.status == FAIL]
        if failed:
            raise CommandError(f"{len(failed)} of {len(rows)} checks failed: {', '.join(failed)}")

    def table(self, rows: list[Row]) -> None:
        styles = {OK: self.style.SUCCESS, WARN: self.style.WARNING, FAIL: self.style.ERROR}
        colour = self.stdout.isatty()
        width = max(len(row.check) for row in rows)
        self.stdout.write(f"WapiKit check of {shown_url(settings.WAPIKIT_BASE_URL)}\n\n")
        self.stdout.write(f"   {'check':<{width}}  status  reason")
        for number, row in enumerate(rows, 1):
            padding = " " * (len("status") - len(row.status))
            status = (styles[row.status](row.status) if colour else row.status) + padding
            self.stdout.write(f"{number:>2} {row.check:<{width}}  {status}  {row.reason}")
        counts = {status: sum(1 for row in rows if row.status == status) for status in (OK, WARN, FAIL)}
        skipped = sum(1 for row in rows if not row.checked)
        summary = f"{counts[OK]} OK, {counts[WARN]} WARN, {counts[FAIL]} FAIL"
        self.stdout.write(f"\n{summary} ({skipped} not checked)" if skipped else f"\n{summary}")
