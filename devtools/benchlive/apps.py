from django.apps import AppConfig


class BenchLiveConfig(AppConfig):
    """`make bench-live` (the bench_live command) and its kit: tooling around the dashboard, not part of it."""

    name = "devtools.benchlive"
    label = "benchlive"
