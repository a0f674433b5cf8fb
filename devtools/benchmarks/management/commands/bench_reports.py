"""`make bench-reports`: the reports page and its CSV on 90 days of a 50-member team (about
200,000 logged facts), in the database in use (the Makefile makes a throwaway PostgreSQL one)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dashboard.conversations.models import LifeEvent
from devtools.benchmarks import benchkit, reports


class Command(BaseCommand):
    help = "Seed 90 days of a 50-member team and time the reports page (30 and 90 days) and its CSV."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=7, help="repetitions behind each median")
        parser.add_argument("--per-day", type=int, default=230, help="conversations a day (230: about 200,000 facts)")
        parser.add_argument("--days", type=int, default=90)
        parser.add_argument("--reuse", action="store_true", help="time the history seeded by an earlier run again")

    def handle(self, *args, runs: int, per_day: int, days: int, reuse: bool, **options):
        now = timezone.now()
        if reuse:
            facts, rolled = LifeEvent.objects.count(), reports.roll_up(now=now, say=self.stdout.write)
        elif LifeEvent.objects.exists():
            raise CommandError("bench_reports seeds its own history: give it an empty database (make bench-reports does).")
        else:
            facts = reports.seed(days=days, per_day=per_day, now=now, say=self.stdout.write)
            rolled = reports.roll_up(now=now, say=self.stdout.write)
        for line in benchkit.table_lines(reports.rows(runs=runs, facts=facts, now=now, rolled=rolled)):
            self.stdout.write(line)
