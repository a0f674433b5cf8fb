"""`manage.py bench_render`: only the median server render times of `make bench` (the inbox with
25 and 50 cards, one card fragment), measured as `devtools/benchmarks/render.py` says."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from devtools.benchmarks.render import measure_render


class Command(BaseCommand):
    help = "Measure the inbox's server render time (25 and 50 cards) and one card fragment."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=200)

    def handle(self, *args, runs: int, **options):
        results = measure_render(runs)
        self.stdout.write(f"{'what':<28} {'median ms':>10} {'bytes':>8}   ({runs} runs each)")
        for name, median, size in results:
            self.stdout.write(f"{name:<28} {median:>10.2f} {size:>8}")
