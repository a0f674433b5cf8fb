from django.apps import AppConfig


class BenchDayConfig(AppConfig):
    """`make bench-day` (the bench_day command) and its kit: tooling around the dashboard, not part of it."""

    name = "devtools.benchday"
    label = "benchday"
