"""`make bench-reports`: the reports page and its CSV on 90 days of a 50-member team (about
200,000 logged facts) on PostgreSQL (reports_pg.py: a copy of a seeded template database, made
once per version). `make bench` prints the same rows.

Its two steps run in a process of their own on the database in use: `--seed` (an empty database:
the history seeded and rolled up; prints what it made, as JSON) and `--time` (that history, timed
as of the moment it was seeded; prints the rows, as JSON)."""

from __future__ import annotations

import json
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dashboard.conversations.models import LifeEvent
from devtools.benchmarks import benchkit, reports, reports_pg


class Command(BaseCommand):
    help = "Time the reports page (30 and 90 days) and its CSV on 90 days of a 50-member team, on PostgreSQL."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=7, help="repetitions behind each median")
        parser.add_argument("--per-day", type=int, default=230, help="conversations a day (230: about 200,000 facts)")
        parser.add_argument("--days", type=int, default=90)
        parser.add_argument("--copy", default="", help="the name of the template's copy that is timed")
        parser.add_argument("--seed", action="store_true", help="seed the empty database in use (a step)")
        parser.add_argument("--time", action="store_true", help="time the seeded database in use (a step)")
        parser.add_argument("--as-of", default="", help="with --time: when the history was seeded (ISO 8601)")
        parser.add_argument("--facts", type=int, default=0, help="with --time: how many facts were seeded")
        parser.add_argument("--rolled", default="0,0", help="with --time: days rolled up, seconds it took")

    def handle(self, *args, runs: int, per_day: int, days: int, copy: str, seed: bool, time: bool, as_of: str,
               facts: int, rolled: str, **options):
        if seed:
            if LifeEvent.objects.exists():
                raise CommandError("bench_reports --seed seeds its own history: give it an empty database.")
            now = timezone.now()
            facts = reports.seed(days=days, per_day=per_day, now=now, say=self.stderr.write)
            rolled_days, seconds = reports.roll_up(now=now, say=self.stderr.write)
            made = {"seeded_at": now.isoformat(), "facts": facts, "days": rolled_days, "rolled_s": round(seconds, 1)}
            self.stdout.write(json.dumps(made))
        elif time:
            done, seconds = rolled.split(",")
            found = reports.rows(runs=runs, facts=facts, now=datetime.fromisoformat(as_of),
                                 rolled=(int(done), float(seconds)))
            self.stdout.write(json.dumps(found))
        else:
            found = reports_pg.rows(runs=runs, days=days, per_day=per_day, copy=copy, say=self.stderr.write)
            for line in benchkit.table_lines(found):
                self.stdout.write(line)
