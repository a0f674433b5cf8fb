"""The processes `make run` (rundemo) starts, each in a session of its own: Ctrl-C in the terminal
reaches rundemo alone, which then stops them in order, each the way it stops gracefully. Were
they in the terminal's process group, each would get the Ctrl-C at once and race to stop: gunicorn
killing a worker still holding an event stream ("was sent SIGKILL! Perhaps out of memory?"),
rundemo seeing "a server stopped" before its own interrupt, the task worker told to stop twice."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from .serve import sandbox_command

# Each stops gracefully on SIGTERM (the task worker finishes its task, gunicorn ends the sandbox's
# event streams, uvicorn the browsers'), within this.
STOP_SECONDS = 10


class Processes:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self._running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], *, env: dict[str, str] | None = None, wait_for=None) -> None:
        process = subprocess.Popen(command, env=env or self.env, start_new_session=True)
        self._running[name] = process
        if wait_for is not None:
            wait_until_listening(*wait_for, process)

    def start_sandbox(self) -> None:
        host, port = settings.SANDBOX_HOST, settings.SANDBOX_PORT
        self.start("sandbox", sandbox_command(host, port), wait_for=(host, port))

    def running(self, name: str) -> bool:
        process = self._running.get(name)
        return process is not None and process.poll() is None

    def stopped(self) -> str | None:
        """The name of a process that stopped by itself, if any."""
        for name, process in self._running.items():
            if process.poll() is not None:
                return name
        return None

    def stop(self, name: str) -> None:
        process = self._running.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_all(self) -> None:
        """Last started first (the worker and the listener before the dashboard they hand to), and
        the sandbox last, even after a restart: nothing meets an outage on its way out."""
        names = [name for name in reversed(list(self._running)) if name != "sandbox"]
        for name in [*names, "sandbox"]:
            self.stop(name)


def wait_until_listening(host: str, port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CommandError(f"the server for {host}:{port} exited with {process.returncode}")
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise CommandError(f"nothing listened on {host}:{port} within {timeout:.0f} s")


def pid_path(port: int) -> Path:
    """Where rundemo on this port says its process id, for `manage.py sandbox`."""
    return Path(settings.BASE_DIR) / "var" / f"rundemo-{port}.pid"


@contextlib.contextmanager
def pid_file(port: int) -> Iterator[None]:
    path = pid_path(port)
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"{os.getpid()}\n")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
