"""`make bench-day`: a simulated day, time compressed, against a live deployment (a `server`
sandbox with its rate limits on, the dashboard with production settings, its events listener
and its tasks worker): how often the dashboard's waiting state is right, what its background
reads spend, 429s, the response alerts, and a cold start's reads. `devtools/benchday/figures.py`
defines each row. The defaults are the short day `make bench` runs after its table; `make bench-day`
runs the whole one (BENCH_DAY_ARGS)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from devtools.benchday.measure import day_rows
from devtools.benchmarks import benchkit

# The defaults: the short day `make bench` runs after its own table (about two and a quarter minutes).
SHORT_DAY = {"conversations": 40, "messages": 160, "members": 2, "hours": 2, "scale": 60, "reply_minutes": 4}


class Command(BaseCommand):
    help = "Run a simulated day against a live deployment; print one table."

    def add_arguments(self, parser):
        parser.add_argument("--conversations", type=int, default=SHORT_DAY["conversations"], help="Active conversations")
        parser.add_argument("--messages", type=int, default=SHORT_DAY["messages"], help="inbound messages over the day")
        parser.add_argument("--members", type=int, default=SHORT_DAY["members"], help="members answering in WapiKit's own UI")
        parser.add_argument("--hours", type=float, default=SHORT_DAY["hours"], help="simulated hours")
        parser.add_argument("--scale", type=float, default=SHORT_DAY["scale"],
                            help="simulated seconds a real second (the sandbox stamps whole seconds: at most 60 keeps minutes apart)")
        parser.add_argument("--reply-minutes", type=float, default=SHORT_DAY["reply_minutes"],
                            help="simulated minutes a member takes for an answer, on average")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, conversations, messages, members, hours, scale, reply_minutes, seed, **options):
        if min(conversations, messages, members) < 1 or hours <= 0 or scale <= 0:
            raise CommandError("sizes, hours and scale must be positive")
        rows = day_rows(conversations=conversations, messages=messages, members=members, hours=hours, scale=scale,
                        reply_minutes=reply_minutes, seed=seed, progress=lambda line: self.stderr.write(line))
        for line in benchkit.table_lines(rows):
            self.stdout.write(line)
