"""gunicorn's configuration for the browsers' live streams (`/live/stream/`) in production:

    gunicorn -c python:dashboard.gunicorn_streams_conf dashboard.asgi:application

uvicorn workers serve the ASGI application, where an open stream is a coroutine waiting on its
queue instead of a thread (the pages, served by `dashboard.gunicorn_conf`, stay on WSGI). The
same application serves every route, so in development one server (`make run`) does both.
Metrics and their multiprocess directory work as for the pages' server."""

from dashboard.gunicorn_conf import child_exit, on_starting  # noqa: F401 - gunicorn reads them here

import os

bind = os.environ.get("GUNICORN_STREAMS_BIND", "127.0.0.1:8002")
workers = int(os.environ.get("GUNICORN_STREAMS_WORKERS", "1"))
worker_class = "uvicorn_worker.UvicornWorker"
# Streams end on their own every LIVE_STREAM_SECONDS; a restart need not wait for them.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "5"))
