"""`manage.py wapikit_check` against real sandboxes: the spec profile of this run, the server
profile (WapiKit as its server code answers), and the ways a connection goes wrong: a wrong key,
a non-Owner key, an unreachable URL."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dashboard.wapikit import capabilities, get_client
from devtools.benchmarks.benchkit import free_port
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

ROW_RE = re.compile(r"^\s*(?P<number>\d+)\s+(?P<check>.+?)\s+(?P<status>OK|WARN|FAIL)\s+(?P<reason>.*)$")


@dataclass
class Outcome:
    output: str
    errors: str
    exit_code: int
    rows: dict[int, tuple[str, str]]  # row number -> (status, reason)

    def status(self, number: int) -> str:
        return self.rows[number][0]

    def reason(self, number: int) -> str:
        return self.rows[number][1]


def wapikit_check(*args: str) -> Outcome:
    out, err = StringIO(), StringIO()
    try:
        call_command("wapikit_check", *args, stdout=out, stderr=err)
        exit_code = 0
    except CommandError as exc:
        exit_code = exc.returncode
        err.write(str(exc))
    rows = {}
    for line in out.getvalue().splitlines():
        if match := ROW_RE.match(line):
            rows.setdefault(int(match["number"]), (match["status"], match["reason"]))
    print(out.getvalue())
    return Outcome(out.getvalue(), err.getvalue(), exit_code, rows)


def assert_not_checked(outcome: Outcome, numbers: range, why: str) -> None:
    for number in numbers:
        assert outcome.reason(number).startswith("not checked"), (number, outcome.rows[number])
        assert why in outcome.reason(number)


def test_against_this_run_s_wapikit_every_row_is_checked_and_none_fails(wapikit, make_user, upstream_calls):
    for kind in ("owner", "manager", "agent"):
        make_user(kind)
    get_client().capabilities.forget()

    outcome = wapikit_check()

    assert outcome.exit_code == 0
    assert "FAIL" not in {status for status, _ in outcome.rows.values()}
    assert outcome.status(1) == "OK" and "ms" in outcome.reason(1)
    assert outcome.status(2) == "OK"
    assert outcome.status(3) == "OK"
    assert outcome.status(4) == "WARN" and "no roles" in outcome.reason(4)
    assert "Tomás Silva <norole@example.com>" in outcome.reason(4)
    assert "Amara Okafor" not in outcome.reason(4)  # the Owner needs no role
    assert outcome.status(5) == "OK" and "all 3 dashboard users are linked" in outcome.reason(5)
    assert len(outcome.rows) == 9
    assert wapikit.api_key not in outcome.output
    # A doctor that only reads: nothing upstream changes.
    assert {call.method for call in upstream_calls} == {"GET"}


def test_against_the_spec_profile_lists_say_their_total_and_single_answers_their_assignee(wapikit, make_user):
    if wapikit.profile != "spec":
        pytest.skip("this run's sandbox is not the spec profile")
    make_user("owner")
    get_client().capabilities.forget()

    outcome = wapikit_check()

    assert outcome.status(6) == "OK" and "total" in outcome.reason(6)
    assert outcome.status(7) == "OK" and "names the assignee" in outcome.reason(7)
    assert outcome.status(8) == "OK" and "no rate-limit headers" in outcome.reason(8)
    # The spec defines GET /events, and the spec profile serves it (issue 20).
    assert outcome.status(9) == "OK" and "GET /events opens with “connected”" in outcome.reason(9)
    assert get_client().capabilities.get(capabilities.SINGLE_ANSWER_HAS_ASSIGNEE) is True


def test_against_the_server_profile_it_warns_of_the_missing_total_and_assignee(server_wapikit, make_user):
    make_user("owner")
    get_client().capabilities.forget()

    outcome = wapikit_check()

    assert outcome.exit_code == 0
    assert outcome.status(3) == "OK"
    assert outcome.status(4) == "WARN" and "Tomás Silva" in outcome.reason(4)
    assert outcome.status(6) == "WARN"
    assert "says total 0" in outcome.reason(6) and "pages without a total" in outcome.reason(6)
    assert outcome.status(7) == "WARN" and "leaves out its assignee" in outcome.reason(7)
    assert outcome.status(8) == "OK"
    assert "/conversations" in outcome.reason(8) and "of 600" in outcome.reason(8)
    assert outcome.status(9) == "OK" and "connected" in outcome.reason(9)
    # What it learned is kept for the dashboard, so pages need not probe again.
    assert get_client().capabilities.get(capabilities.SINGLE_ANSWER_HAS_ASSIGNEE) is False


def test_a_route_low_on_its_rate_limit_is_a_warning(server_wapikit, make_user):
    make_user("owner")
    server_wapikit.control(rate_limits={"conversations": 100})
    for _ in range(90):
        server_wapikit.get("/conversations", page=1, per_page=1)

    outcome = wapikit_check()

    assert outcome.exit_code == 0
    assert outcome.status(8) == "WARN"
    assert "below 20" in outcome.reason(8) and "/conversations (" in outcome.reason(8)
    assert "/organization/members (" not in outcome.reason(8)


def test_unlinked_dashboard_users_are_listed(wapikit, make_user):
    make_user("owner")
    make_user("stranger@example.com")

    outcome = wapikit_check()

    assert outcome.exit_code == 0
    assert outcome.status(5) == "WARN"
    assert "no member has the email of 1 of 2 dashboard users" in outcome.reason(5)
    assert "stranger@example.com" in outcome.reason(5)
    assert "owner@example.com" not in outcome.reason(5)


def test_a_wrong_key_fails_and_the_rest_is_not_checked(wapikit, settings, make_user):
    settings.WAPIKIT_API_KEY = "not-the-sandbox-key"

    outcome = wapikit_check()

    assert outcome.exit_code != 0
    assert outcome.status(1) == "OK"
    assert outcome.status(2) == "FAIL"
    assert "refused WAPIKIT_API_KEY" in outcome.reason(2) and "Unauthorized access" in outcome.reason(2)
    assert_not_checked(outcome, range(3, 10), "refused the key")
    assert "key accepted" in outcome.errors
    assert "not-the-sandbox-key" not in outcome.output


def test_a_non_owner_key_fails_saying_an_owner_s_key_is_needed(server_wapikit, settings, make_user):
    settings.WAPIKIT_API_KEY = server_wapikit.api_key + "-member"

    outcome = wapikit_check()

    assert outcome.exit_code != 0
    assert outcome.status(2) == "OK"
    assert outcome.status(3) == "FAIL"
    reason = outcome.reason(3)
    assert "only lets an Owner's key use" in reason and "WAPIKIT_API_KEY must be an Owner's key" in reason
    assert "/conversations" in reason and "/organization/members" in reason
    assert_not_checked(outcome, range(4, 6), "refused the member route")
    assert_not_checked(outcome, range(6, 8), "refused the conversation route")
    # The stream takes any valid key: only the REST routes check permissions.
    assert outcome.status(9) == "OK"


def test_an_unreachable_base_url_is_a_fail_row_not_a_traceback(settings):
    settings.WAPIKIT_BASE_URL = f"http://127.0.0.1:{free_port()}/api"

    outcome = wapikit_check()

    assert outcome.exit_code != 0
    assert outcome.status(1) == "FAIL" and "cannot connect to 127.0.0.1" in outcome.reason(1)
    assert_not_checked(outcome, range(2, 10), "WapiKit did not answer")
    assert "Traceback" not in outcome.output + outcome.errors


def test_from_a_shell_an_unreachable_wapikit_exits_1_with_no_traceback(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "WAPIKIT_BASE_URL": f"http://127.0.0.1:{free_port()}/api",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "wapikit_check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 1
    assert "FAIL" in done.stdout and "cannot connect" in done.stdout
    assert "\x1b[" not in done.stdout  # not a terminal: no colour
    assert "Traceback" not in done.stderr
    assert "1 of 9 checks failed" in done.stderr


def test_the_json_output_has_the_same_rows(wapikit, make_user):
    make_user("owner")

    outcome = wapikit_check("--json")
    answer = json.loads(outcome.output)

    assert answer["base_url"] == wapikit.base_url
    assert [row["check"] for row in answer["rows"]][:3] == ["base URL answers", "key accepted", "key acts as an Owner"]
    assert {row["status"] for row in answer["rows"]} <= {"OK", "WARN"}
    assert all(row["checked"] for row in answer["rows"][:6])
