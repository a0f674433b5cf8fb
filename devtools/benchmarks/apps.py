from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    """`make bench` and its kit: tooling around the dashboard, not part of it."""

    name = "devtools.benchmarks"
    label = "benchmarks"
