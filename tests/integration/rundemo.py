"""`manage.py rundemo` (what `make run` starts) in its own process, as from a fresh clone: the
environment it gets, its start until it prints the demo logins, and its end. Shared by the tests
of `make run` against a real WapiKit (test_make_run.py) and of its demo (test_make_run_demo.py)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devtools.benchmarks import benchkit
from tests.conftest import ROOT

STARTUP_SECONDS = 180
STOP_SECONDS = 20


@dataclass
class Started:
    url: str
    sandbox_url: str
    port: int
    password: str
    process: subprocess.Popen
    log: Path
    env: dict

    def output(self) -> str:
        return self.log.read_text()


def environment(directory: Path, *, unset: tuple[str, ...], **values: str) -> tuple[dict, int, int]:
    """This process's environment without `unset`, on two free ports with a database and key file
    of its own in `directory`, and `values`; with the dashboard's and sandbox's ports."""
    port, sandbox_port = benchkit.free_port(), benchkit.free_port()
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(
        DJANGO_SETTINGS_MODULE="devtools.settings",
        DATABASE_URL=f"sqlite:///{directory / 'db.sqlite3'}",
        PORT=str(port),
        SANDBOX_PORT=str(sandbox_port),
        # Its own key file: the checkout's var/secret_key stays what `make run` made.
        SECRET_KEY_FILE=str(directory / "secret_key"),
        PYTHONUNBUFFERED="1",
        **values,
    )
    return env, port, sandbox_port


@contextlib.contextmanager
def rundemo(directory: Path, *, unset: tuple[str, ...], **values: str) -> Iterator[Started]:
    """rundemo started as a terminal runs it (Ctrl-C reaches its whole process group), yielded
    once it printed its logins; its output in `directory`/rundemo.log. Afterwards, if it still
    runs, Ctrl-C, then SIGKILL to the group if it has not ended within STOP_SECONDS."""
    env, port, sandbox_port = environment(directory, unset=unset, **values)
    log_path = directory / "rundemo.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "rundemo"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            password = owner_password(log_path, process)
            yield Started(
                f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sandbox_port}", port, password, process, log_path, env
            )
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
                try:
                    process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def owner_password(log_path: Path, process: subprocess.Popen) -> str:
    """The owner's password, once rundemo has printed its logins (everything is up by then)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if match := re.search(r"^\s+owner\s+owner@example\.com\s+(\S+)", log_path.read_text(), re.M):
            return match.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.5)
    raise AssertionError("rundemo printed no logins:\n" + log_path.read_text()[-3000:])
