"""gunicorn hooks of the sandbox process (`serve.sandbox_command` loads this module as its
config). Imported by gunicorn's master before Django is set up, so Django is imported only
inside the hooks, which run in the worker once the application is loaded."""

from __future__ import annotations


def post_worker_init(worker) -> None:
    """Let event streams end when the worker stops (within gunicorn's 2 s graceful timeout, they
    would otherwise be cut only when it runs out), and keep half the threads free of them."""
    from devtools.sandbox import events

    events.configure_worker(capacity=worker.cfg.threads // 2, stopping=lambda: not worker.alive)
