"""`manage.py rundemo` (what `make run` starts) in its own process, as from a fresh clone: the
environment it gets, its start until it prints the demo logins, and its end. Shared by the tests
of `make run` against a real WapiKit (test_make_run.py) and of its demo (test_make_run_demo.py)."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import signal
import subprocess
import sys
import threading
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
    terminal: int | None = None

    def output(self) -> str:
        return self.log.read_text()

    def ctrl_c(self) -> None:
        """As a user's Ctrl-C: typed into its terminal, else SIGINT to its whole process group."""
        if self.terminal is not None:
            os.write(self.terminal, b"\x03")
        else:
            os.killpg(self.process.pid, signal.SIGINT)

    def kill(self) -> None:
        """SIGKILL to its process group, and to the group holding its terminal's foreground."""
        groups = {self.process.pid}
        with contextlib.suppress(OSError):
            groups.add(os.tcgetpgrp(self.terminal) if self.terminal is not None else self.process.pid)
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)


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
def rundemo(directory: Path, *, unset: tuple[str, ...], in_a_terminal: bool = False, **values: str) -> Iterator[Started]:
    """rundemo started as a terminal runs it (Ctrl-C reaches its whole process group), yielded
    once it printed its logins; its output in `directory`/rundemo.log. `in_a_terminal`: `make run`
    itself, in a pseudo-terminal of its own (`Started.ctrl_c` types Ctrl-C there). Afterwards, if
    it still runs, Ctrl-C, then SIGKILL if it has not ended within STOP_SECONDS."""
    env, port, sandbox_port = environment(directory, unset=unset, **values)
    log_path = directory / "rundemo.log"
    with open(log_path, "w") as log:
        if in_a_terminal:
            process, terminal = _in_a_terminal(["make", "run"], env, log)
        else:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "rundemo"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            terminal = None
        started = Started(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sandbox_port}", port, "", process,
                          log_path, env, terminal)
        try:
            started.password = owner_password(log_path, process)
            yield started
        finally:
            if process.poll() is None:
                started.ctrl_c()
                try:
                    process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    started.kill()
                    process.wait()
            if terminal is not None:
                os.close(terminal)


def _in_a_terminal(command: list[str], env: dict, log) -> tuple[subprocess.Popen, int]:
    """`command` in a session of its own whose controlling terminal is a new pseudo-terminal, its
    output copied into `log`; with the terminal's other end."""
    terminal, end = pty.openpty()
    # A newcomer's terminal, not make's: a make above this one (`make test`) would have it print
    # "Entering directory" and "Leaving directory" around the run.
    env = {k: v for k, v in env.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    take_the_terminal = "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); os.execvp(sys.argv[1], sys.argv[1:])"
    process = subprocess.Popen(
        [sys.executable, "-c", take_the_terminal, *command], cwd=ROOT, env=env, stdin=end, stdout=end, stderr=end,
        start_new_session=True,
    )
    os.close(end)
    threading.Thread(target=_copy, args=(terminal, log), daemon=True).start()
    return process, terminal


def _copy(terminal: int, log) -> None:
    while True:
        try:
            data = os.read(terminal, 65536)
        except OSError:  # every process holding the terminal has ended
            return
        if not data:
            return
        with contextlib.suppress(ValueError):  # the log is closed: the test has ended
            log.write(data.decode(errors="replace").replace("\r\n", "\n"))
            log.flush()


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
