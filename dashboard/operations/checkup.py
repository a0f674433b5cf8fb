"""The doctor's checks of the WapiKit that settings point at: nine, each a row that says OK,
WARN or FAIL and why. Only reads go upstream: seven, plus a page per 50 members beyond the
first. What the checks learn about this WapiKit's answers is noted in the capabilities cache,
which lives in Django's cache: with Redis, every dashboard process benefits; with the default
in-process cache, the note ends with the command (`manage.py wapikit_check`)."""

from __future__ import annotations

import statistics
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError

from dashboard.conversations.members import member_by_email
from dashboard.wapikit import WapiKitClient, capabilities, errors, events
from dashboard.wapikit.client import MAX_PER_PAGE
from dashboard.wapikit.types import ConversationPage, Member

OK, WARN, FAIL = "OK", "WARN", "FAIL"
READS = 3
SLOW_MS = 1000
LOW_BUDGET = 0.2
EVENTS_READ_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Row:
    check: str
    status: str
    reason: str
    checked: bool = True


class NotChecked(Exception):
    """A check that an earlier finding makes impossible; the message says which."""


def doctor_client() -> WapiKitClient:
    """Configured as `get_client()` is, but with no retries and no circuit breaker: the doctor
    reports each call as it went, an open circuit must not answer in WapiKit's place, and the
    doctor's own failures must not open the circuit the dashboard's processes share."""
    return WapiKitClient(
        base_url=settings.WAPIKIT_BASE_URL,
        api_key=settings.WAPIKIT_API_KEY,
        auth_header=settings.WAPIKIT_AUTH_HEADER,
        timeout=settings.WAPIKIT_TIMEOUT,
        get_retries=0,
        capability_lifetime=settings.WAPIKIT_CAPABILITY_SECONDS,
    )


class Checkup:
    def __init__(self, client: WapiKitClient) -> None:
        self.client = client
        # Why the remaining checks cannot run, once an early one has failed.
        self.stop: str | None = None
        # What WapiKit answered, or the error it raised: the first of the small list reads, the
        # member list, and a full page of the list.
        self.conversations: ConversationPage | errors.WapiKitError | None = None
        self.members: list[Member] | errors.WapiKitError | None = None
        self.page: ConversationPage | errors.WapiKitError | None = None

    def rows(self) -> list[Row]:
        checks: list[tuple[str, Callable[[], tuple[str, str]]]] = [
            ("base URL answers", self.reachable),
            ("key accepted", self.key_accepted),
            ("key acts as an Owner", self.owner),
            ("member list", self.member_list),
            ("dashboard users linked", self.users_linked),
            ("list totals", self.totals),
            ("assignee in single answers", self.single_assignee),
            ("rate limits", self.rate_limits),
            ("live events", self.live_events),
        ]
        rows = []
        for name, check in checks:
            try:
                if self.stop:
                    raise NotChecked(self.stop)
                status, reason = check()
            except NotChecked as exc:
                rows.append(Row(name, WARN, f"not checked: {exc}", checked=False))
                continue
            except errors.WapiKitError as exc:
                status, reason = FAIL, problem(exc)
            rows.append(Row(name, status, reason))
        return rows

    # 1-3: is there a WapiKit, does it take the key, and as an Owner?

    def reachable(self) -> tuple[str, str]:
        timings: list[float] = []
        failures: list[errors.WapiKitError] = []
        for _ in range(READS):
            start = time.perf_counter()
            try:
                answer: ConversationPage | errors.WapiKitError = self.client.list_conversations(
                    page=1, per_page=1
                )
            except (errors.Unreachable, errors.TimedOut) as exc:
                failures.append(exc)
                if not timings:
                    break
                continue
            except errors.WapiKitError as exc:
                answer = exc
            timings.append((time.perf_counter() - start) * 1000)
            if self.conversations is None:
                self.conversations = answer
        if not timings:
            failure = failures[0]
            self.stop = "WapiKit did not answer"
            if isinstance(failure, errors.TimedOut):
                return FAIL, f"no answer from {host_of(self.client.base_url)} in time ({failure.detail})"
            return FAIL, f"cannot connect to {host_of(self.client.base_url)} ({failure.detail})"
        answer = self.conversations
        if isinstance(answer, (errors.NotFound, errors.BadResponse, errors.Rejected)):
            self.stop = "the base URL does not answer as WapiKit"
            if isinstance(answer, errors.NotFound):
                return FAIL, (
                    "answers 404 to GET /conversations: WAPIKIT_BASE_URL must be WapiKit's API URL, ending in /api"
                )
            return FAIL, f"answers GET /conversations, but not as WapiKit ({problem(answer)})"
        if isinstance(answer, errors.ServerError):
            self.stop = "WapiKit answers with server errors"
            return FAIL, f"answers GET /conversations with a server error ({problem(answer)})"
        if isinstance(answer, errors.RateLimited):
            self.stop = "WapiKit is rate-limiting this address"
            wait = f"; try again in {seconds(answer.retry_after)}" if answer.retry_after else ""
            return FAIL, f"rate-limits GET /conversations for this address{wait}"
        median = f"{statistics.median(timings):,.0f} ms, median of {len(timings)} reads"
        if failures:
            return WARN, f"{median}, but {len(failures)} of {READS} reads failed ({problem(failures[0])})"
        if statistics.median(timings) > SLOW_MS:
            return WARN, f"slow: {median}; every dashboard page waits for WapiKit at least once"
        return OK, median

    def key_accepted(self) -> tuple[str, str]:
        answer = self.conversations
        if isinstance(answer, errors.Unauthorized) and not isinstance(answer, errors.KeyNotOwner):
            self.stop = "WapiKit refused the key"
            if not self.client.api_key:
                return FAIL, "WAPIKIT_API_KEY is empty: set it to an API key of the organisation"
            return FAIL, (
                f"WapiKit refused WAPIKIT_API_KEY ({problem(answer)}): set it to a valid key of the organisation"
            )
        return OK, "WapiKit accepts WAPIKIT_API_KEY"

    def owner(self) -> tuple[str, str]:
        try:
            self.members = self.client.list_members()
        except errors.WapiKitError as exc:
            self.members = exc
        routes = (("/conversations", self.conversations), ("/organization/members", self.members))
        refused = [route for route, answer in routes if isinstance(answer, errors.KeyNotOwner)]
        if refused:
            return FAIL, (
                f"refused on {' and '.join(refused)} (“You are not authorized to access this resource.”): "
                "WapiKit only lets an Owner's key use the conversation and member routes; "
                "WAPIKIT_API_KEY must be an Owner's key"
            )
        if isinstance(self.members, errors.WapiKitError):
            return OK, "the conversation route accepts the key (the member route failed: see the member list)"
        return OK, "the conversation and member routes accept the key"

    # 4-5: members, and the dashboard's users among them

    def member_list(self) -> tuple[str, str]:
        if isinstance(self.members, errors.BadResponse):
            return FAIL, f"the member list does not decode ({problem(self.members)})"
        if isinstance(self.members, errors.WapiKitError) and not isinstance(self.members, errors.KeyNotOwner):
            return FAIL, f"the member list could not be read ({problem(self.members)})"
        members = self.listed_members()
        if not members:
            return WARN, "the member list is empty: no dashboard user can be linked to a member"
        owners = sum(1 for m in members if m.is_owner)
        counted = f"{len(members)} members, {owners} of them Owner{'s' if owners != 1 else ''}"
        # An Owner may do everything without a role; a Member without one may do nothing.
        roleless = [m for m in members if not m.is_owner and not m.roles]
        if roleless:
            names = ", ".join(member_label(m) for m in roleless)
            without = f"{len(roleless)} Member{'s' if len(roleless) != 1 else ''} with no roles"
            return WARN, f"{counted}; {without}, so allowed nothing: {names}"
        return OK, f"{counted}; every other member has a role"

    def users_linked(self) -> tuple[str, str]:
        members = self.listed_members()
        try:
            users = get_user_model().objects.filter(is_active=True).order_by("email")
            emails = list(users.values_list("email", flat=True))
        except DatabaseError as exc:
            return FAIL, f"the dashboard's database could not be read ({type(exc).__name__}): run manage.py migrate"
        if not emails:
            return OK, "no dashboard users yet (manage.py adduser creates one)"
        unlinked = [email for email in emails if member_by_email(members, email) is None]
        if unlinked:
            return WARN, (
                f"no member has the email of {len(unlinked)} of {len(emails)} dashboard users, so they are "
                f"allowed nothing: {', '.join(unlinked)}"
            )
        if len(emails) == 1:
            return OK, "the one dashboard user is linked to a member by email"
        return OK, f"all {len(emails)} dashboard users are linked to a member by email"

    def listed_members(self) -> list[Member]:
        if isinstance(self.members, errors.KeyNotOwner):
            raise NotChecked("the key is refused the member route")
        if isinstance(self.members, errors.WapiKitError):
            raise NotChecked(f"the member list could not be read ({problem(self.members)})")
        return self.members or []

    # 6-7: what the conversation answers carry

    def totals(self) -> tuple[str, str]:
        self.conversation_route()
        try:
            self.page = self.client.list_conversations(page=1, per_page=MAX_PER_PAGE)
        except errors.WapiKitError as exc:
            self.page = exc
            return FAIL, f"a page of the conversation list could not be read ({problem(exc)})"
        if not self.page.conversations:
            raise NotChecked("the conversation list is empty, so its total of 0 may be true")
        total = self.page.stated_total
        if total is None:
            return WARN, (
                f"WapiKit's list says total 0 with {len(self.page.conversations)} conversations on the page: "
                "the dashboard pages without a total (Next while pages come back full)"
            )
        return OK, f"list answers say their total ({total:,} in the default list)"

    def single_assignee(self) -> tuple[str, str]:
        self.conversation_route()
        if not isinstance(self.page, ConversationPage):
            raise NotChecked("no page of the conversation list to find an assigned conversation in")
        assigned = next((c for c in self.page.conversations if c.assigned_to is not None), None)
        if assigned is None:
            raise NotChecked("no assigned conversation on the list's first page to read alone")
        try:
            alone = self.client.get_conversation(assigned.unique_id)
        except errors.WapiKitError as exc:
            return FAIL, f"GET /conversation/{assigned.unique_id} failed ({problem(exc)})"
        has_assignee = alone.assigned_to is not None
        self.client.capabilities.learn(capabilities.SINGLE_ANSWER_HAS_ASSIGNEE, has_assignee)
        if has_assignee:
            return OK, "GET /conversation/{id} names the assignee (noted in the capabilities cache)"
        return WARN, (
            f"GET /conversation/{assigned.unique_id} leaves out its assignee: the dashboard takes assignees "
            "from list answers (noted in the capabilities cache)"
        )

    def conversation_route(self) -> None:
        if isinstance(self.conversations, errors.KeyNotOwner):
            raise NotChecked("the key is refused the conversation route")

    # 8-9: rate limits seen, live events

    def rate_limits(self) -> tuple[str, str]:
        seen = sorted(self.client.rate_limits.items())
        if not seen:
            return OK, "no rate-limit headers (development mode or older server)"
        budgets = []
        low = []
        for route, budget in seen:
            left = "?" if budget.remaining is None else f"{budget.remaining:,}"
            budgets.append(f"{route} {left} of {budget.limit:,}")
            if budget.remaining is not None and budget.remaining < LOW_BUDGET * budget.limit:
                reset = f", resets in {seconds(until(budget.reset))}" if budget.reset else ""
                low.append(f"{route} ({left} of {budget.limit:,} left{reset})")
        shared = "counted per client address, so the whole team shares each budget"
        if low:
            return WARN, f"below {LOW_BUDGET:.0%} on {', '.join(low)}; {shared}"
        return OK, f"left per route: {', '.join(budgets)}; {shared}"

    def live_events(self) -> tuple[str, str]:
        timeout = (self.client.timeout[0], min(self.client.timeout[1], EVENTS_READ_TIMEOUT))
        try:
            frame = events.first_frame(self.client, timeout=timeout)
        except errors.Unauthorized as exc:
            return FAIL, (
                f"GET /events refused the key ({problem(exc)}): live events need a valid WAPIKIT_API_KEY"
            )
        except errors.NotFound:
            return WARN, (
                "no live events: GET /events answers 404 (an older server, or one that does not "
                "publish them); the inbox refreshes by polling"
            )
        except errors.TimedOut:
            return WARN, (
                f"GET /events sent no first frame within {timeout[1]:g} s: a proxy in between may be "
                "buffering the stream"
            )
        except errors.WapiKitError as exc:
            if exc.status == 405:
                return WARN, (
                    "no live events: GET /events answers 405 (an older server); the inbox refreshes by polling"
                )
            return WARN, f"GET /events did not open a stream ({problem(exc)})"
        if frame.event == "connected":
            return OK, f"GET /events opens with “connected” / “{clean(frame.data)}”"
        return WARN, f"GET /events opened with a “{clean(frame.event)}” frame, not “connected”"


# Words for the rows


def problem(exc: errors.WapiKitError) -> str:
    """One line on what went wrong, with WapiKit's own words (cleaned) when it sent any."""
    if isinstance(exc, errors.Unreachable):
        return f"unreachable: {exc.detail}"
    if isinstance(exc, errors.TimedOut):
        return f"timed out: {exc.detail}"
    status = f"HTTP {exc.status}" if exc.status else exc.kind
    if isinstance(exc, errors.BadResponse) and exc.detail:
        return f"{status}, unreadable: {clean(exc.detail)}"
    return f"{status}: “{clean(exc.detail)}”" if exc.detail else status


def clean(text: str, limit: int = 120) -> str:
    """Upstream text made safe for a terminal: one line, and no control or format characters
    (an escape sequence could rewrite the screen, a direction override reorder the line)."""
    text = " ".join(text.split())
    text = "".join("\ufffd" if unicodedata.category(ch).startswith("C") else ch for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def member_label(member: Member) -> str:
    name = clean(member.name, 60)
    return f"{name} <{clean(member.email, 80)}>" if name else clean(member.email, 80)


def host_of(url: str) -> str:
    return urlsplit(url).netloc.rpartition("@")[2] or url


def shown_url(url: str) -> str:
    """The base URL without credentials or a query string, which may hold secrets."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, host_of(url), parts.path, "", ""))


def until(reset: int) -> float:
    """Seconds until a rate-limit reset: WapiKit sends a Unix time; a small number is a wait."""
    return reset - time.time() if reset > 1_000_000_000 else reset


def seconds(value: float) -> str:
    value = max(int(value), 1)
    if value < 90:
        return f"{value} s"
    if value < 90 * 60:
        return f"{round(value / 60)} min"
    return f"{value / 3600:.1f} h"
