"""`manage.py sandbox stop` / `start`: stop the embedded WapiKit sandbox of a running `make run`,
and start it again, leaving the dashboard, the listener and the worker running, to watch what an
outage of WapiKit looks like. rundemo does it on SIGUSR1 / SIGUSR2; this finds its process id."""

import os
import signal

from django.core.management.base import BaseCommand, CommandError

from devtools.sandbox.processes import pid_path

SIGNALS = {"stop": signal.SIGUSR1, "start": signal.SIGUSR2}


class Command(BaseCommand):
    help = "Stop (or start again) the embedded WapiKit sandbox of a running `make run`."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=sorted(SIGNALS))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")),
                            help="the dashboard's port of that `make run` (PORT, 8000)")

    def handle(self, *args, action: str, port: int, **options):
        path = pid_path(port)
        try:
            pid = int(path.read_text())
            os.kill(pid, SIGNALS[action])
        except (FileNotFoundError, ValueError, ProcessLookupError):
            raise CommandError(f"no `make run` is running on port {port} ({path} names none)") from None
        self.stdout.write(f"Asked `make run` (process {pid}) to {action} the sandbox; its terminal says when it has.")
