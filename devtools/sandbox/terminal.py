"""Ctrl-C in the terminal of `make run` reaches `rundemo` alone.

A terminal sends Ctrl-C's SIGINT to its whole foreground process group, `make` included, and make
dies by that signal once its recipe ends (the shell reads 130), whatever the recipe answered. So
while it runs, rundemo holds the terminal's foreground for a process group of its own, as a
job-control shell does for a job, and hands it back as it ends: Ctrl-C stops rundemo, which ends
quietly with 0, and make ends with that."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator


@contextlib.contextmanager
def foreground() -> Iterator[None]:
    """The controlling terminal's foreground for this process's own group, until the block ends.
    Without a terminal, or from behind (a background job, a session's leader), nothing changes."""
    try:
        terminal = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        yield
        return
    try:
        before = os.tcgetpgrp(terminal)
        if before != os.getpgrp() or os.getsid(0) == os.getpid():
            yield
            return
        os.setpgid(0, 0)
        _hand(terminal, os.getpgrp())
        try:
            yield
        finally:
            _hand(terminal, before)
    finally:
        os.close(terminal)


def _hand(terminal: int, group: int) -> None:
    """Give the terminal's foreground to `group`. A process outside the foreground that does so
    is sent SIGTTOU, which would stop it: ignored for the call."""
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(terminal, group)
    except OSError:
        pass  # that group has ended: the shell takes its terminal back when make ends
    finally:
        signal.signal(signal.SIGTTOU, previous)
