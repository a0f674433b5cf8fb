"""`make run`: the sandbox and the dashboard together, or the dashboard alone against the
WapiKit in WAPIKIT_BASE_URL. `SANDBOX_PROFILE=server make run` starts a sandbox that answers as
WapiKit's server code does (see `devtools/sandbox/urls.py`).

The development settings (`devtools/settings.py`: production's, DEBUG off unless DEBUG=true is
set, with the tools installed), which the processes it starts inherit, and the few settings that
a local run over http needs (LOCAL_RUN), since a team also points it at a real WapiKit.
SECRET_KEY, unless set, is this checkout's own (settings.checkout_secret_key)."""

import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from dashboard.conversations import backfill
from devtools.sandbox.demo import ensure_demo_logins
from devtools.sandbox.serve import sandbox_command

PROFILE_DESCRIPTIONS = {
    "spec": "WapiKit's spec and doc page",
    "server": "WapiKit's server code, RemotiQ/wapikit 055becef (shared/wapikit/REAL-SERVER.md)",
    "legacy": "the older WapiKit server, wapikit/wapikit d0a3506",
}


# Where a browser on this host over http needs other than production's defaults: no redirect to
# https, cookies sent over http. The environment may still say otherwise.
LOCAL_RUN = {"SECURE_SSL_REDIRECT": "false", "SECURE_COOKIES": "false"}


class Command(BaseCommand):
    help = "Start the embedded WapiKit sandbox (unless WAPIKIT_BASE_URL is set) and the dashboard."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args, port: int, **options):
        # A process manager stops us with SIGTERM: stop both servers then too, as with Ctrl-C.
        signal.signal(signal.SIGTERM, _interrupt)
        use_sandbox = "WAPIKIT_BASE_URL" not in os.environ
        call_command("migrate", verbosity=0)
        if not settings.DEBUG:
            # Served by whitenoise from STATIC_ROOT, as in production.
            call_command("collectstatic", interactive=False, verbosity=0)
        processes: list[subprocess.Popen] = []
        env = {**LOCAL_RUN, **os.environ, "PYTHONUNBUFFERED": "1"}
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        if use_sandbox:
            call_command("seed_sandbox", if_empty=True)
            logins = ensure_demo_logins()
            processes.append(subprocess.Popen(sandbox_command(settings.SANDBOX_HOST, settings.SANDBOX_PORT), env=env))
            self._wait_for(settings.SANDBOX_HOST, settings.SANDBOX_PORT, processes[0])
        processes.append(subprocess.Popen(dashboard_command(port), env=env))
        self._wait_for("127.0.0.1", port, processes[-1])
        # WapiKit's events, read by their own process. Without Redis it hands them to this
        # dashboard over loopback.
        listener_env = {"LIVE_INGEST_URL": f"http://127.0.0.1:{port}/live/ingest/", **env}
        processes.append(subprocess.Popen([*manage, "listen_events"], env=listener_env))
        # Background and timed work (the timeline's reads, alerts before a breach): Django's Tasks,
        # kept in the database and run by their own worker, which without Redis hands what it
        # publishes to this dashboard over loopback too; the first run of the reads is planned here.
        worker_env = {**listener_env, "LIVE_HANDS_OVER": "true"}
        processes.append(subprocess.Popen([*manage, "db_worker", "--no-reload"], env=worker_env))
        backfill.start()

        out = self.stdout
        out.write("")
        out.write(self.style.SUCCESS(f"WapiKit dashboard: http://127.0.0.1:{port}/"))
        out.write("Live events: manage.py listen_events is running (its state: /status/ for owners)")
        out.write("Background work: manage.py db_worker is running (the timeline's reads, alerts before a breach)")
        if use_sandbox:
            out.write(f"Embedded WapiKit sandbox: {settings.WAPIKIT_BASE_URL}")
            out.write(f"  answering as: {PROFILE_DESCRIPTIONS[settings.SANDBOX_PROFILE]} (SANDBOX_PROFILE={settings.SANDBOX_PROFILE})")
            if settings.SANDBOX_PROFILE != "spec":
                out.write("  a non-Owner member's key: SANDBOX_MEMBER_KEY (default: the API key + \"-member\")")
            out.write("Demo logins (email / password):")
            for kind, email, password, powers in logins:
                out.write(f"  {kind:<8} {email:<22} {password:<20} {powers}")
        else:
            out.write(f"Upstream WapiKit: {settings.WAPIKIT_BASE_URL} (add logins with: python manage.py adduser EMAIL)")
        out.write("Press Ctrl-C to stop.")
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
            raise CommandError("a server stopped; see its output above")
        except KeyboardInterrupt:
            out.write("\nStopping…")
        finally:
            for p in processes:
                if p.poll() is None:
                    p.terminate()
            for p in processes:
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()

    @staticmethod
    def _wait_for(host: str, port: int, process: subprocess.Popen, timeout: float = 30) -> None:
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


def dashboard_command(port: int) -> list[str]:
    """The dashboard's server under `make run`: uvicorn, as in production, so the browsers' live
    streams hold no thread each. Without --no-proxy-headers uvicorn would take X-Forwarded-For
    from any client on loopback as the client's address (its default trusts 127.0.0.1), and
    TRUSTED_PROXY_COUNT / TRUSTED_PROXIES (accounts/addresses.py) must be the only rule."""
    return [
        sys.executable, "-m", "uvicorn", "dashboard.asgi:application", "--host", "127.0.0.1",
        "--port", str(port), "--no-proxy-headers", "--no-access-log", "--timeout-graceful-shutdown", "2",
    ]


def _interrupt(signum, frame):
    raise KeyboardInterrupt
