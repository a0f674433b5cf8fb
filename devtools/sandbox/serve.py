"""How the sandbox process is started, for `make run`, the tests and the benchmark alike.

gunicorn with one process (the run-time controls in `control` live in its memory) and many
threads. Django's development server would do, but it writes headers and body in separate
small packets, and on loopback Nagle's algorithm and delayed ACKs then add about 40 ms to
every answer: a slow upstream nobody asked for.

`gunicorn_hooks` tells the live event streams (profile "server") when the worker stops, so that
a stop takes a moment, not the whole graceful timeout."""

from __future__ import annotations

import sys


def sandbox_command(host: str, port: int, *, threads: int = 32) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "dashboard.wsgi",
        "--env", "DJANGO_SETTINGS_MODULE=devtools.sandbox.settings",
        "--bind", f"{host}:{port}",
        "--workers", "1", "--threads", str(threads), "--worker-class", "gthread",
        "--graceful-timeout", "2", "--timeout", "120",
        "--config", "python:devtools.sandbox.gunicorn_hooks",
        # gunicorn's control socket is one path per user (~/.gunicorn/gunicorn.ctl), which every
        # sandbox of a test run would share, and which nothing here uses.
        "--no-control-socket",
    ]
