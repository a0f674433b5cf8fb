"""The settings of WapiKit's live events and of the browsers' live streams (dashboard/live), read
by dashboard/settings.py."""

import os

from dashboard.environment import env_bool

# WapiKit's live events (dashboard/live): one listener per deployment (`manage.py listen_events`).
# With Redis it holds a lock renewed every third of LIVE_LOCK_SECONDS; another listener takes
# over within that time when it dies. Reconnects back off exponentially, with jitter, up to
# LIVE_BACKOFF_MAX_SECONDS. A listener state older than LIVE_STATE_STALE_SECONDS means none runs.
LIVE_LOCK_SECONDS = int(os.environ.get("LIVE_LOCK_SECONDS", "30"))
LIVE_BACKOFF_MAX_SECONDS = float(os.environ.get("LIVE_BACKOFF_MAX_SECONDS", "30"))
LIVE_STATE_STALE_SECONDS = int(os.environ.get("LIVE_STATE_STALE_SECONDS", "15"))
# Without Redis the listener is its own process with its own memory: it hands events to the
# dashboard process at this URL (`make run` sets it), signed with a key derived from SECRET_KEY.
LIVE_INGEST_URL = os.environ.get("LIVE_INGEST_URL", "http://127.0.0.1:8000/live/ingest/")
# Without Redis, a process that serves no browser streams (the task worker `make run` starts)
# hands what it publishes (a card a background read changed, an alert) to LIVE_INGEST_URL.
LIVE_HANDS_OVER = env_bool("LIVE_HANDS_OVER", False)
# Pages open a live stream (/live/stream/, served under ASGI: dashboard/gunicorn_streams_conf.py,
# or `make run`'s uvicorn). Off for a deployment that serves only WSGI: pages then poll.
LIVE_STREAMS = env_bool("LIVE_STREAMS", True)
# Browser streams (/live/stream/): a keep-alive comment this often, ended after LIVE_STREAM_SECONDS
# (the browser reconnects after LIVE_RETRY_MS).
LIVE_KEEPALIVE_SECONDS = float(os.environ.get("LIVE_KEEPALIVE_SECONDS", "15"))
LIVE_STREAM_SECONDS = float(os.environ.get("LIVE_STREAM_SECONDS", "300"))
LIVE_RETRY_MS = int(os.environ.get("LIVE_RETRY_MS", "2000"))
# Who may hold a stream (signed in, member allowed Get:Conversation) is asked again this often;
# signing out ends a session's streams at once. A user holds at most LIVE_STREAMS_PER_USER streams
# (across the deployment with Redis): one more ends their oldest. When WapiKit cannot say who may, the browser
# asks again after LIVE_UNAVAILABLE_RETRY_MS.
LIVE_RECHECK_SECONDS = float(os.environ.get("LIVE_RECHECK_SECONDS", "60"))
LIVE_STREAMS_PER_USER = int(os.environ.get("LIVE_STREAMS_PER_USER", "8"))
LIVE_UNAVAILABLE_RETRY_MS = int(os.environ.get("LIVE_UNAVAILABLE_RETRY_MS", "30000"))
