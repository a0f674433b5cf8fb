"""`make bench-routing`: routing's simulated day (issue 21), time compressed, against a live
deployment with two tasks workers: balance, assignments to members who may not have them,
new conversation → assigned, take-backs against their deadlines, upstream calls per assignment,
and double assignments. `devtools/benchday/routing_day.py` defines each row."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from devtools.benchday.routing_day import routing_rows
from devtools.benchmarks import benchkit

# The day: 300 new conversations over 8 hours, 8 members (about 9 minutes at 60×).
DAY = {"conversations": 300, "hours": 8, "scale": 60, "reply_minutes": 4}


class Command(BaseCommand):
    help = "Run routing's simulated day against a live deployment; print one table."

    def add_arguments(self, parser):
        parser.add_argument("--conversations", type=int, default=DAY["conversations"], help="new conversations over the day")
        parser.add_argument("--hours", type=float, default=DAY["hours"], help="simulated hours")
        parser.add_argument("--scale", type=float, default=DAY["scale"], help="simulated seconds a real second")
        parser.add_argument("--reply-minutes", type=float, default=DAY["reply_minutes"],
                            help="simulated minutes an answering member takes, on average")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, conversations, hours, scale, reply_minutes, seed, **options):
        if conversations < 1 or hours <= 0 or scale <= 0:
            raise CommandError("sizes, hours and scale must be positive")
        rows = routing_rows(conversations=conversations, hours=hours, scale=scale, reply_minutes=reply_minutes,
                            seed=seed, progress=lambda line: self.stderr.write(line))
        for line in benchkit.table_lines(rows):
            self.stdout.write(line)
