"""`make run`'s demo as a newcomer meets it: `make run` in a terminal of its own, as from a
fresh clone, with the spec profile. Its first screen is live (the spec sandbox serves WapiKit's
`GET /events` and a customer writes now and then by itself), its startup says nothing puzzling,
the sandbox alone can be stopped and started to watch an outage, and Ctrl-C ends it quietly."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import ROOT
from tests.integration.rundemo import Started, rundemo

pytestmark = pytest.mark.integration

KEY = "demo-test-key"
# What a newcomer should never read in the terminal of a run that went well.
PUZZLING = (
    "lifespan", "Traceback", "SIGKILL", "CommandError", "Error 1", "Not Found: /api/events", "Control socket",
    "make: ***", "Interrupt",
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Started]:
    unset = ("SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "WAPIKIT_BASE_URL", "REDIS_URL",
             "PROMETHEUS_MULTIPROC_DIR", "SECURE_SSL_REDIRECT", "SECURE_COOKIES", "ALLOWED_HOSTS", "SANDBOX_PROFILE")
    with rundemo(
        tmp_path_factory.mktemp("make-run-demo"), unset=unset, in_a_terminal=True,
        WAPIKIT_API_KEY=KEY, SANDBOX_API_KEY=KEY, SANDBOX_DEMO_TRAFFIC_SECONDS="1",
    ) as started:
        yield started


def _signed_in(demo: Started) -> requests.Session:
    browser = requests.Session()
    login = browser.get(f"{demo.url}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    browser.post(
        f"{demo.url}/accounts/login/",
        data={"csrfmiddlewaretoken": token, "username": "owner@example.com", "password": demo.password},
        headers={"Origin": demo.url}, timeout=10,
    )
    return browser


def _eventually(check, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:.0f} s: {what}")
        time.sleep(0.5)


def test_the_first_screen_is_live_and_startup_says_nothing_puzzling(demo):
    browser = _signed_in(demo)

    def live_note_hidden() -> bool:
        inbox = browser.get(f"{demo.url}/", timeout=30)
        return re.search(r'id="live-note" role="status"\s+hidden', inbox.text) is not None

    _eventually(live_note_hidden, "the inbox stops saying that live updates are paused")
    for line in PUZZLING:
        assert line not in demo.output(), f"rundemo printed {line!r}:\n{demo.output()[-3000:]}"


def test_the_spec_sandbox_publishes_wapikit_s_events_and_a_customer_writes_by_itself(demo):
    stream = requests.get(f"{demo.sandbox_url}/api/events", params={"token": KEY}, stream=True, timeout=10)
    try:
        assert stream.status_code == 200
        lines = stream.iter_lines(decode_unicode=True)
        assert next(lines) == "event: connected"
        # The demo's own traffic, every second here: a NewMessage comes without anyone asking.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if next(lines) == "event: NewMessage":
                break
        else:
            raise AssertionError("no NewMessage event within 10 s")
    finally:
        stream.close()


def test_the_sandbox_alone_stops_and_starts_again(demo):
    def sandbox_answers() -> bool:
        try:
            requests.get(f"{demo.sandbox_url}/api/organization/members", headers={"x-access-token": KEY}, timeout=2)
            return True
        except requests.ConnectionError:
            return False

    command = [sys.executable, "manage.py", "sandbox", "stop", "--port", str(demo.port)]
    subprocess.run(command, cwd=ROOT, env=demo.env, check=True, capture_output=True)
    _eventually(lambda: not sandbox_answers(), "the sandbox stops")
    assert requests.get(f"{demo.url}/health/", timeout=10).status_code in (200, 503), "the dashboard still answers"
    assert demo.process.poll() is None

    command[3] = "start"
    subprocess.run(command, cwd=ROOT, env=demo.env, check=True, capture_output=True)
    _eventually(sandbox_answers, "the sandbox answers again")
    assert "The WapiKit sandbox is stopped" in demo.output()


def test_ctrl_c_ends_it_quietly_with_exit_code_0(demo):
    """Make's own exit code too: the terminal's Ctrl-C reaches make as well, unless rundemo holds
    the terminal's foreground (devtools/sandbox/terminal.py)."""
    demo.ctrl_c()

    assert demo.process.wait(timeout=40) == 0
    output = demo.output()
    for line in PUZZLING:
        assert line not in output, f"rundemo printed {line!r}:\n{output[-3000:]}"
    assert output.rstrip().endswith("Stopped.")
