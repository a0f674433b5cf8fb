"""gunicorn's configuration for the dashboard's pages in production (README, "Production"):

    gunicorn -c python:dashboard.gunicorn_conf dashboard.wsgi

Pages are served by WSGI threads: measured under ASGI, Django's sync middleware and views hop
between the event loop and threads several times a request, and the inbox served 0.44× the
requests a second (`make bench-live`). The browsers' live streams are the one thing that needs
ASGI; `dashboard.gunicorn_streams_conf` serves them, and the proxy sends `/live/stream/` there.

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
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
worker_class = "gthread"
# gunicorn sets the request's scheme from X-Forwarded-Proto (and friends) sent by any peer in
# this list, 127.0.0.1 by default: nobody, so that PROXY_SSL_HEADER (settings) is the one rule.
forwarded_allow_ips = ""

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
