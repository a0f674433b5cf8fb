"""gunicorn's configuration for the browsers' live streams (`/live/stream/`) in production:

    gunicorn -c python:dashboard.gunicorn_streams_conf dashboard.asgi:application

uvicorn workers serve the ASGI application, where an open stream is a coroutine waiting on its
queue instead of a thread (the pages, served by `dashboard.gunicorn_conf`, stay on WSGI). The
same application serves every route, so in development one server (`make run`) does both.
Metrics and their multiprocess directory work as for the pages' server."""

from dashboard.gunicorn_conf import child_exit, forwarded_allow_ips, on_starting  # noqa: F401 - gunicorn reads them here

import os

from uvicorn_worker import UvicornWorker


class UvicornWorkerWithoutProxyHeaders(UvicornWorker):
    """uvicorn takes X-Forwarded-For (and -Proto) from any peer in gunicorn's
    forwarded_allow_ips (127.0.0.1 by default) as the client's own: anyone on loopback could
    pick the address they are throttled and audited under. TRUSTED_PROXY_COUNT /
    TRUSTED_PROXIES (accounts/addresses.py) and PROXY_SSL_HEADER are the only rules."""

    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "proxy_headers": False}


bind = os.environ.get("GUNICORN_STREAMS_BIND", "127.0.0.1:8002")
workers = int(os.environ.get("GUNICORN_STREAMS_WORKERS", "1"))
worker_class = UvicornWorkerWithoutProxyHeaders
# Streams end on their own every LIVE_STREAM_SECONDS; a restart need not wait for them.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "5"))
