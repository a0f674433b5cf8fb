"""gunicorn hooks of the sandbox process (`serve.sandbox_command` loads this module as its
config). Imported by gunicorn's master before Django is set up: `subscribers` imports nothing
of Django."""

from __future__ import annotations

from devtools.sandbox.subscribers import configure_worker


def post_worker_init(worker) -> None:
    """Let event streams end when the worker stops (within gunicorn's 2 s graceful timeout, they
    would otherwise be cut only when it runs out), and keep half the threads free of them."""
    configure_worker(capacity=worker.cfg.threads // 2, stopping=lambda: not worker.alive)
