"""`manage.py wapikit_check` against answers no sandbox gives: faked at the HTTP boundary with
`responses`, so hostile text and server errors can be exactly what a test needs."""

from __future__ import annotations

import re
import uuid
from io import StringIO

import pytest
import responses
from django.core.cache import cache
from django.core.management import CommandError, call_command

BASE = "http://wapikit.test/api"
ESCAPE = "\x1b]0;pwned\x07\x1b[2J"  # retitle the terminal window, then clear the screen
RLO = "\u202e"


@pytest.fixture
def upstream(settings, db):
    settings.WAPIKIT_BASE_URL = BASE
    settings.WAPIKIT_API_KEY = "unit-key"
    cache.clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
    cache.clear()


class Tty(StringIO):
    def isatty(self) -> bool:
        return True


def run(stdout: StringIO | None = None, **options) -> tuple[str, int]:
    out = stdout or StringIO()
    try:
        call_command("wapikit_check", stdout=out, stderr=StringIO(), **options)
    except CommandError as exc:
        return out.getvalue(), exc.returncode
    return out.getvalue(), 0


def member(name: str, email: str, access_level: str = "Member", roles: list | None = None) -> dict:
    return {
        "uniqueId": str(uuid.uuid5(uuid.NAMESPACE_URL, email)),
        "createdAt": "2025-01-01T00:00:00Z",
        "accessLevel": access_level,
        "name": name,
        "email": email,
        "roles": roles,
    }


def answer_as_an_empty_wapikit(upstream, *, members: list[dict], rate_limit: tuple[int, int] | None = None) -> None:
    headers = {}
    if rate_limit:
        limit, remaining = rate_limit
        headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": "1900000000"}
    empty = {"conversations": [], "paginationMeta": {"page": 1, "per_page": 1, "total": 0}}
    upstream.get(f"{BASE}/conversations", json=empty, headers=headers)
    meta = {"page": 1, "per_page": 50, "total": len(members)}
    upstream.get(f"{BASE}/organization/members", json={"members": members, "paginationMeta": meta})
    upstream.get(f"{BASE}/events", status=404, json={"message": "Not Found"})


def test_upstream_text_reaches_the_terminal_without_control_or_direction_characters(upstream):
    answer_as_an_empty_wapikit(
        upstream,
        members=[
            member("Owner", "owner@example.com", "Owner"),
            member(f"Mallory{ESCAPE}\nline two {RLO}exe.txt", "mallory@example.com"),
        ],
    )

    output, _ = run()

    assert "\x1b" not in output and "\x07" not in output and RLO not in output
    row = next(line for line in output.splitlines() if "Mallory" in line)
    assert "line two" in row and "mallory@example.com" in row  # one line, still legible


def test_wapikit_s_own_words_in_an_error_are_cleaned_too(upstream):
    upstream.get(f"{BASE}/conversations", status=401, json=f"bad key{ESCAPE}")

    output, exit_code = run()

    assert exit_code == 1
    assert "\x1b" not in output and "bad key" in output


def test_a_server_error_on_the_first_reads_fails_and_stops_the_check(upstream):
    upstream.get(f"{BASE}/conversations", status=500, json="pq: relation does not exist")

    output, exit_code = run()

    assert exit_code == 1
    assert re.search(r"base URL answers\s+FAIL\s+.*server error.*HTTP 500", output)
    assert output.count("not checked: WapiKit answers with server errors") == 8


def test_a_route_below_a_fifth_of_its_budget_warns_and_says_when_it_resets(upstream):
    answer_as_an_empty_wapikit(upstream, members=[member("Owner", "owner@example.com", "Owner")], rate_limit=(600, 40))

    output, exit_code = run()

    assert exit_code == 0
    assert re.search(r"rate limits\s+WARN\s+below 20% on /conversations \(40 of 600 left, resets in", output)


def test_an_empty_list_says_its_total_cannot_be_judged(upstream):
    answer_as_an_empty_wapikit(upstream, members=[member("Owner", "owner@example.com", "Owner")])

    output, _ = run()

    assert re.search(r"list totals\s+WARN\s+not checked: the conversation list is empty", output)
    assert re.search(r"assignee in single answers\s+WARN\s+not checked", output)


def test_statuses_are_coloured_only_on_a_terminal_and_the_columns_still_line_up(upstream):
    answer_as_an_empty_wapikit(upstream, members=[member("Owner", "owner@example.com", "Owner")])

    plain, _ = run()
    coloured, _ = run(Tty(), force_color=True)

    assert "\x1b[" not in plain
    assert "\x1b[" in coloured
    without_colour = re.sub(r"\x1b\[[0-9;]*m", "", coloured)
    # Same layout once the colour codes are gone (the timings differ from run to run).
    assert re.sub(r"\d+ ms", "", without_colour) == re.sub(r"\d+ ms", "", plain)
