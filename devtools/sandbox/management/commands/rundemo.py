"""`make run`: the sandbox and the dashboard together, or the dashboard alone against the
WapiKit in WAPIKIT_BASE_URL. `SANDBOX_PROFILE=server make run` starts a sandbox that answers as
WapiKit's server code does (see `devtools/sandbox/urls.py`).

The development settings (`devtools/settings.py`: production's, DEBUG off unless DEBUG=true is
set, with the tools installed), which the processes it starts inherit, and the few settings that
a local run over http needs (LOCAL_RUN), since a team also points it at a real WapiKit.
SECRET_KEY, unless set, is this checkout's own (settings.checkout_secret_key).

With the sandbox, a customer writes now and then by itself (`demo_traffic`), and `make
sandbox-stop` / `make sandbox-start` stop and start the sandbox alone, to watch an outage. Every
process runs in a session of its own and is stopped in order (`processes`): Ctrl-C ends it all
quietly, with exit code 0, and under `make run` make's too (`terminal`)."""

import os
import queue
import signal
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from dashboard.conversations import backfill
from devtools.sandbox.demo import ensure_demo_logins
from devtools.sandbox.demo_traffic import DemoTraffic
from devtools.sandbox.processes import Processes, pid_file
from devtools.sandbox.terminal import foreground

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
        with foreground():
            self._run(port)

    def _run(self, port: int) -> None:
        # Ctrl-C (SIGINT) or a process manager's SIGTERM: everything stops in order, quietly.
        signal.signal(signal.SIGTERM, _interrupt)
        use_sandbox = "WAPIKIT_BASE_URL" not in os.environ
        call_command("migrate", verbosity=0)
        if not settings.DEBUG:
            # Served by whitenoise from STATIC_ROOT, as in production.
            call_command("collectstatic", interactive=False, verbosity=0)
        env = {**LOCAL_RUN, **os.environ, "PYTHONUNBUFFERED": "1"}
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        processes = Processes(env)
        traffic = None
        try:
            if use_sandbox:
                call_command("seed_sandbox", if_empty=True)
                logins = ensure_demo_logins()
                processes.start_sandbox()
            processes.start("dashboard", dashboard_command(port), wait_for=("127.0.0.1", port))
            # WapiKit's events, read by their own process. Without Redis it hands them to this
            # dashboard over loopback.
            listener_env = {"LIVE_INGEST_URL": f"http://127.0.0.1:{port}/live/ingest/", **env}
            processes.start("listener", [*manage, "listen_events"], env=listener_env)
            # Background and timed work (the timeline's reads, alerts before a breach): Django's Tasks,
            # kept in the database and run by their own worker, which without Redis hands what it
            # publishes to this dashboard over loopback too; the first run of the reads is planned here.
            worker_env = {**listener_env, "LIVE_HANDS_OVER": "true"}
            processes.start("worker", [*manage, "db_worker", "--no-reload"], env=worker_env)
            backfill.start()
            if use_sandbox and settings.SANDBOX_DEMO_TRAFFIC_SECONDS > 0:
                traffic = DemoTraffic(root_url=_root_url(), every_seconds=settings.SANDBOX_DEMO_TRAFFIC_SECONDS)
                traffic.start()
            self._introduce(port, use_sandbox, logins if use_sandbox else [])
            with pid_file(port):
                self._supervise(processes, use_sandbox)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            # A second Ctrl-C while everything stops in order would only leave a traceback.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            if traffic is not None:
                traffic.stop()
            processes.stop_all()
        self.stdout.write("Stopped.")

    def _introduce(self, port: int, use_sandbox: bool, logins: list) -> None:
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
            if (every := settings.SANDBOX_DEMO_TRAFFIC_SECONDS) > 0:
                out.write(f"  a customer writes every {every:.0f} s (SANDBOX_DEMO_TRAFFIC_SECONDS=0: none)")
            port_set = "" if port == 8000 else f"PORT={port} "
            out.write(f"  to watch an outage: {port_set}make sandbox-stop, then {port_set}make sandbox-start")
            out.write("Demo logins (email / password):")
            for kind, email, password, powers in logins:
                out.write(f"  {kind:<8} {email:<22} {password:<20} {powers}")
        else:
            out.write(f"Upstream WapiKit: {settings.WAPIKIT_BASE_URL} (add logins with: python manage.py adduser EMAIL)")
        out.write("Press Ctrl-C to stop.")

    def _supervise(self, processes: Processes, use_sandbox: bool) -> None:
        """Until Ctrl-C: SIGUSR1 stops the sandbox and SIGUSR2 starts it again (`make sandbox-stop`,
        `make sandbox-start`), so an outage can be watched; any other process that stops ends the run."""
        asked: queue.SimpleQueue[str] = queue.SimpleQueue()
        if use_sandbox:
            signal.signal(signal.SIGUSR1, lambda *_: asked.put("stop"))
            signal.signal(signal.SIGUSR2, lambda *_: asked.put("start"))
        while True:
            try:
                wanted = asked.get(timeout=0.5)
            except queue.Empty:
                wanted = None
            if wanted == "stop" and processes.running("sandbox"):
                processes.stop("sandbox")
                self.stdout.write(self.style.WARNING("The WapiKit sandbox is stopped: the dashboard meets an outage."))
            elif wanted == "start" and not processes.running("sandbox"):
                processes.start_sandbox()
                self.stdout.write(self.style.SUCCESS("The WapiKit sandbox answers again."))
            if stopped := processes.stopped():
                raise CommandError(f"the {stopped} stopped; see its output above")


def dashboard_command(port: int) -> list[str]:
    """The dashboard's server under `make run`: uvicorn, as in production, so the browsers' live
    streams hold no thread each. Without --no-proxy-headers uvicorn would take X-Forwarded-For
    from any client on loopback as the client's address (its default trusts 127.0.0.1), and
    TRUSTED_PROXY_COUNT / TRUSTED_PROXIES (accounts/addresses.py) must be the only rule."""
    return [
        sys.executable, "-m", "uvicorn", "dashboard.asgi:application", "--host", "127.0.0.1",
        "--port", str(port), "--no-proxy-headers", "--no-access-log", "--timeout-graceful-shutdown", "2",
        # Django's ASGI handler has no lifespan events: without this uvicorn says it "appears unsupported".
        "--lifespan", "off",
    ]


def _root_url() -> str:
    return f"http://{settings.SANDBOX_HOST}:{settings.SANDBOX_PORT}"


def _interrupt(signum, frame):
    raise KeyboardInterrupt
