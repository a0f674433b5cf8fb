"""gunicorn's configuration for the dashboard in production (README, "Production"):

    gunicorn -c python:dashboard.gunicorn_conf dashboard.asgi:application

uvicorn workers serve the ASGI application: pages run as under WSGI (each request on a thread
of its own), and an open browser's live stream is a coroutine, not a held thread.

Each worker is its own process, so Prometheus metrics are kept in files that a scrape adds up
(prometheus-client's multiprocess mode): in `PROMETHEUS_MULTIPROC_DIR`, or a fresh temporary
directory when it is not set. The directory is emptied when gunicorn starts, and a worker's
files are retired when it exits. Read by gunicorn's master before any worker imports Django."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "uvicorn_worker.UvicornWorker"
# Streams end on their own every LIVE_STREAM_SECONDS; a restart need not wait for them.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "5"))

# Set before the workers are forked, so each imports prometheus-client in multiprocess mode.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="dashboard-metrics-"))


def on_starting(server) -> None:
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    # Values left by an earlier run would be added to this one's.
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
