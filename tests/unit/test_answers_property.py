"""Whatever WapiKit answers, in the shape its doc page promises or the one its server code sends
(shared/wapikit/REAL-SERVER.md), the dashboard's pages either render it, every contact name
escaped and isolated in a <bdi>, or refuse it with the sentence for an unreadable answer. Never
a 500, never a traceback.

Hypothesis generates the answers: `null` where lists are expected and inside them, empty
strings, statuses, access levels, message types and directions the spec does not know, missing
optional fields, totals of 0 or none, `message_type` next to `messageType`, a tag's `name`
next to its `label`, hostile text (markup, right-to-left overrides) in every string, ids
included, and now and then a body the dashboard cannot read at all. WapiKit is faked at the
HTTP boundary with `responses`; the pages are the real views, through Django's test client,
for a signed-in Owner whose member is in the generated member list.

The examples are derandomized, so every run tries the same ones. To explore further with fresh
ones: `ANSWERS_EXAMPLES=400 .venv/bin/python -m pytest tests/unit/test_answers_property.py`."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import hypothesis
import pytest
import responses
from django.core.cache import caches
from django.utils.html import escape
from hypothesis import HealthCheck, example, given
from hypothesis import strategies as st

from dashboard.wapikit import capabilities, get_client
from tests.conftest import MEMBER_EMAILS

BASE = "http://wapikit.test/api"
UNREADABLE = "WapiKit answered with something the dashboard could not read"
OWNER_EMAIL = MEMBER_EMAILS["owner"]
NOW = datetime.now(UTC)
# The id in a page's address is the user's; the one in WapiKit's answer is WapiKit's.
ADDRESS_ID = "3f2b8c1e-5d4a-4e7b-9c2d-1a6f0e8b7c54"

EXPLORE = int(os.environ.get("ANSWERS_EXAMPLES", "0"))
PROPERTY = hypothesis.settings(
    max_examples=EXPLORE or 30,
    derandomize=not EXPLORE,
    database=None,
    deadline=None,
    # One signed-in client and one settings fixture serve every example; each example starts
    # from cold caches (see `served`), so nothing carries over between them.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


# Strings: each is one of these, random text, or both.

HOSTILE = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><x-evil onmouseover=alert(1)>x</x-evil>",
    "</bdi></h2><x-evil>",
    "\u202egnp.exe",  # right-to-left override
    "\u202bمرحبا\u202c \u2067עברית\u2069",
    "\u200f\u200e\u2066",
    "&lt;b&gt;already escaped&lt;/b&gt; &amp;",
    "{{ request }}{% csrf_token %}",
    "javascript:alert(1)",
    "",
    "   ",
    "a\r\nb\tc\x00d",
    "Zoë 🧪 李小龍",
)
LINKS = ("https://cdn.example.com/a.jpg", "javascript:alert(1)", "data:text/html,<x-evil>", "//evil.example", " http://x.example/ ")

fragment = st.sampled_from(HOSTILE)
text = st.one_of(fragment, st.text(max_size=12), st.builds(lambda a, b: a + b, fragment, st.text(max_size=6)))


def enum(*known: str) -> st.SearchStrategy[str]:
    """A value of the spec's enum, or one it does not know."""
    return st.one_of(st.sampled_from(known), text)


# WapiKit's ids are UUIDs, or whatever text it sends instead.
ids = st.uuids().map(str) | text
OFFSETS = (UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)))
dates = st.one_of(
    # Around now, so reply windows are open, closing, closed or still to come.
    st.integers(-60, 60 * 24 * 3).map(lambda minutes: (NOW - timedelta(minutes=minutes)).isoformat()),
    st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.sampled_from(OFFSETS)).map(
        lambda moment: moment.isoformat().replace("+00:00", "Z")
    ),
    st.just("0001-01-01T00:00:00Z"),  # Go's zero time.Time
)
meta = st.fixed_dictionaries(
    {},
    optional={
        "page": st.integers(-1, 3),
        "per_page": st.sampled_from([0, 25, 50]),
        "total": st.one_of(st.just(0), st.integers(0, 8), st.integers(-3, 10**7)),
    },
)

PERMISSIONS = (
    "Get:Conversation",
    "Update:Conversation",
    "Delete:Conversation",
    "Assign:Conversation",
    "Unassign:Conversation",
    "Get:OrganizationMember",
)
MESSAGE_TYPES = (
    "Text", "Image", "Video", "Audio", "Document", "Sticker", "Location", "Contacts", "Reaction", "Address", "Template",
)

roles = st.fixed_dictionaries(
    {"uniqueId": ids, "name": text},
    optional={
        "description": st.none() | text,
        "permissions": st.none() | st.lists(enum(*PERMISSIONS), max_size=4),
    },
)


def members(access_level: st.SearchStrategy[str], email: st.SearchStrategy[str]) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"uniqueId": ids, "accessLevel": access_level, "email": email},
        optional={"createdAt": st.none() | dates, "name": text, "roles": st.none() | st.lists(roles, max_size=3)},
    )


owner = members(st.just("Owner"), st.sampled_from([OWNER_EMAIL, f"  {OWNER_EMAIL.title()} ", OWNER_EMAIL.upper()]))
others = members(enum("Owner", "Member"), text.filter(lambda email: email.strip().lower() != OWNER_EMAIL))

message_data = st.fixed_dictionaries(
    {},
    optional={
        "text": st.none() | text,
        "id": st.none() | text,
        "link": st.none() | text | st.sampled_from(LINKS),
        "caption": st.none() | text,
        "fileName": st.none() | text,
        "latitude": st.none() | st.floats(allow_nan=False, allow_infinity=False),
        "longitude": st.none() | st.floats(allow_nan=False, allow_infinity=False),
        "address": st.none() | text,
        "name": st.none() | text,
        "reaction": st.none() | text,
        "messageId": st.none() | text,
    },
)


@st.composite
def messages(draw) -> dict:
    message = draw(
        st.fixed_dictionaries(
            {"uniqueId": ids, "direction": enum("InBound", "OutBound"), "createdAt": dates},
            optional={
                "conversationId": ids,
                "status": enum("Read", "Unread", "Sent", "Delivered", "UnDelivered", "Failed"),
                "messageData": st.none() | message_data,
                "replyToMessageId": st.none() | ids,
                "whatsAppMessageId": st.none() | text,
            },
        )
    )
    kind = draw(enum(*MESSAGE_TYPES))
    # The spec's spelling, the older server's, both (even disagreeing) or neither.
    for name in draw(st.sampled_from([("messageType",), ("message_type",), ("messageType", "message_type"), ()])):
        message[name] = draw(st.just(kind) | enum(*MESSAGE_TYPES))
    return message


message_lists = st.none() | st.lists(st.none() | messages(), max_size=4)
tags = st.fixed_dictionaries({}, optional={"uniqueId": ids, "label": st.none() | text, "name": st.none() | text})
contacts = st.fixed_dictionaries(
    {"uniqueId": ids},
    optional={
        "name": text,
        "phone": text,
        "attributes": st.none() | st.dictionaries(text, text | st.integers() | st.none(), max_size=2),
        "createdAt": dates,
        "status": enum("Active", "Inactive", "Blocked"),
    },
)


def conversations(member_ids: list[str]) -> st.SearchStrategy[dict]:
    # An assignee from the member list or one it does not hold; the server's list sends its
    # roles as [], and its single answer sends no assignee at all.
    assignee = members(enum("Owner", "Member"), text).flatmap(
        lambda m: st.sampled_from([*member_ids, m["uniqueId"]]).map(lambda uid: {**m, "uniqueId": uid})
    )
    return st.fixed_dictionaries(
        {
            "uniqueId": ids,
            "contact": contacts,
            "createdAt": dates,
            "status": enum("Active", "Closed", "Deleted", "Resolved"),
        },
        optional={
            "contactId": st.just("") | ids,
            "campaignId": st.none() | st.just("") | ids,
            "organizationId": ids,
            "initiatedBy": enum("Contact", "Campaign"),
            "numberOfUnreadMessages": st.integers(-2, 10**6),
            "totalMessages": st.none() | st.integers(-2, 10**6),
            "assignedTo": st.none() | assignee,
            "messages": message_lists,
            "tags": st.none() | st.lists(st.none() | tags, max_size=3),
        },
    )


def conversation_pages(member_ids: list[str]) -> st.SearchStrategy[dict]:
    listed = st.lists(conversations(member_ids), max_size=5, unique_by=lambda c: c["uniqueId"])
    return st.fixed_dictionaries({}, optional={"conversations": st.none() | listed, "paginationMeta": meta})


# Now and then an answer the dashboard cannot read (or only just can) replaces a route's.
BROKEN_BODIES = (
    "",
    "null",
    '"Something went wrong"',
    "<html><body>502 Bad Gateway</body></html>",
    "[]",
    '{"data": true}',
    '{"conversations": "none", "members": 7, "messages": {}, "conversation": null}',
    '{"conversations": [{"uniqueId": "%s", "status": "Active"}]}' % ADDRESS_ID,
    '{"members": [{"uniqueId": "%s", "name": "<x-evil>"}]}' % ADDRESS_ID,
    '{"messages": [{"uniqueId": "%s", "messageType": "Text"}]}' % ADDRESS_ID,
    '{"conversation": {"uniqueId": "%s", "contact": null}}' % ADDRESS_ID,
)
# ... or every `createdAt` of its answer is rewritten.
TIME_REWRITES = {
    "naive time": lambda value: value.removesuffix("Z")[:19],
    "year 0 in UTC": lambda value: "0001-01-01T00:00:00+05:30",
    "year 10000 in UTC": lambda value: "9999-12-31T23:59:59-08:00",
    "the last hour of year 9999": lambda value: "9999-12-31T23:30:00Z",
}
breakage = st.sampled_from((None,) * 11 + BROKEN_BODIES + tuple(TIME_REWRITES))
ROUTES = ("members", "Active", "", "Closed", "Deleted", "single", "messages")


def readable_without_owner(route: str, how: str) -> bool:
    """A body the dashboard reads as a member list without the signed-in Owner in it: an
    object that does not say `members`."""
    return route == "members" and how.startswith("{") and '"members"' not in how


@dataclass(frozen=True)
class World:
    """Everything this WapiKit answers, per route."""

    members: dict  # page 1 of the member list
    members_more: dict = field(default_factory=lambda: {"members": None})  # page 2
    lists: dict = field(default_factory=lambda: dict.fromkeys(("Active", None, "Closed", "Deleted"), {}))
    single: dict = field(default_factory=dict)  # GET /conversation/{id}
    messages: dict = field(default_factory=dict)  # GET /conversation/{id}/messages
    broken: dict = field(default_factory=dict)  # route -> what replaces or rewrites its answer
    encoding: str = "utf-8"  # or "ascii", or "go" (Go's encoder writes <, > and & as \u003c...)
    single_has_assignee: bool | None = None  # what the dashboard has learned of this WapiKit
    status_updates_apply: bool | None = None

    def body(self, route: str, answer: dict) -> str:
        how = self.broken.get(route)
        if how in BROKEN_BODIES:
            return how
        encoded = json.dumps(answer, ensure_ascii=self.encoding == "ascii")
        if self.encoding == "go":
            encoded = encoded.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        if how in TIME_REWRITES:
            rewrite = TIME_REWRITES[how]
            encoded = re.sub(r'"createdAt": "([^"]*)"', lambda m: f'"createdAt": "{rewrite(m[1])}"', encoded)
        return encoded

    def shown(self, status: str | None) -> list[dict]:
        """The conversations of a list answer, as generated; none if the answer was replaced."""
        if (status or "") in self.broken:
            return []
        return self.lists[status].get("conversations") or []

    def member_list(self) -> list[dict]:
        """The members as the dashboard merges them: the first of each id."""
        found: dict[str, dict] = {}
        for page in (self.members, self.members_more):
            for member in page.get("members") or ():
                found.setdefault(member["uniqueId"], member)
        return list(found.values())


@st.composite
def worlds(draw) -> World:
    people = draw(st.lists(others, max_size=4, unique_by=lambda m: m["uniqueId"]))
    me = draw(owner.filter(lambda m: m["uniqueId"] not in {p["uniqueId"] for p in people}))
    if draw(st.booleans()) and draw(st.booleans()):
        # 50 member x role rows fill a page, so the dashboard asks for the next one, which the
        # server answers with `members: null`, or more of the same members.
        me = {**me, "roles": [draw(roles)] * 50}
    people.insert(draw(st.integers(0, len(people))), me)
    member_ids = [p["uniqueId"] for p in people]
    again = st.sampled_from(people).map(lambda m: {**m, "roles": None})
    pages = conversation_pages(member_ids)
    return World(
        members=draw(st.fixed_dictionaries({"members": st.just(people)}, optional={"paginationMeta": meta})),
        members_more=draw(
            st.fixed_dictionaries(
                {"members": st.none() | st.just([]) | st.lists(again, max_size=2)}, optional={"paginationMeta": meta}
            )
        ),
        lists={status: draw(pages) for status in ("Active", None, "Closed", "Deleted")},
        single={"conversation": draw(conversations(member_ids))},
        messages=draw(st.fixed_dictionaries({}, optional={"messages": message_lists, "paginationMeta": meta})),
        broken={
            route: how
            for route in ROUTES
            if (how := draw(breakage)) is not None and not readable_without_owner(route, how)
        },
        encoding=draw(st.sampled_from(["utf-8", "ascii", "go"])),
        single_has_assignee=draw(st.sampled_from([None, True, False])),
        status_updates_apply=draw(st.sampled_from([None, True, False])),
    )


# Plain worlds, for the regression examples.

OWNER = {"uniqueId": "7d8e9f0a-1b2c-4d3e-9f4a-5b6c7d8e9f0a", "accessLevel": "Owner", "email": OWNER_EMAIL, "name": "Olu"}
ASSIGNEE = {"uniqueId": OWNER["uniqueId"], "accessLevel": "Owner", "name": "Olu", "email": OWNER_EMAIL, "roles": []}


def conversation(**changes) -> dict:
    return {
        "uniqueId": "8a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "contact": {"uniqueId": "c0ffee00-1234-4abc-8def-0123456789ab", "name": "<b>Amara</b>"},
        "createdAt": "2024-03-10T10:00:00Z",
        "status": "Active",
        **changes,
    }


def inbound(created_at: str) -> dict:
    return {
        "uniqueId": "6b0e7f1a-2c3d-4e5f-8a9b-0c1d2e3f4a51",
        "direction": "InBound",
        "messageType": "Text",
        "createdAt": created_at,
        "messageData": {"text": "hi"},
    }


def plain(*, active: list[dict] | None = None, **changes) -> World:
    lists = {**dict.fromkeys(("Active", None, "Closed", "Deleted"), {}), "Active": {"conversations": active or []}}
    return World(**{"members": {"members": [OWNER]}, "lists": lists, "single": {"conversation": conversation()}, **changes})


# A time without an offset made the cards' "ago" subtract a naive time from an aware one (500).
NAIVE_TIME = plain(active=[conversation(createdAt="2024-03-10T10:00:00")])
# Times whose UTC instant Python cannot hold made caching the members overflow (500), and a
# message in the last hours of year 9999 overflowed the reply window (500).
YEAR_0_IN_UTC = plain(members={"members": [{**OWNER, "createdAt": "0001-01-01T00:00:00+05:30"}]})
LAST_HOUR_OF_9999 = plain(active=[conversation(messages=[inbound("9999-12-31T23:30:00Z")])])
# A list answer's id that is not a UUID, probed to learn whether single answers name their
# assignee, made the conversation page answer 400 "That conversation or member id is not valid."
NON_UUID_IN_LIST = plain(active=[conversation(uniqueId="<x-evil>", assignedTo=ASSIGNEE)])


# Serving a world


EMPTY_PAGE = {"conversations": [], "paginationMeta": {"page": 2, "per_page": 50, "total": 0}}


def answer(world: World, request) -> tuple[int, dict, str]:
    parts = urlsplit(request.url)
    query = parse_qs(parts.query)
    path = parts.path.removeprefix("/api")
    page = int(query.get("page", ["1"])[0])
    if path == "/organization/members":
        later = world.members_more if page == 2 else {"members": None}
        return 200, {}, world.body("members", world.members if page == 1 else later)
    if path == "/conversations":
        status = query.get("status", [None])[0]
        if page > 1:
            return 200, {}, json.dumps(EMPTY_PAGE)
        return 200, {}, world.body(status or "", world.lists[status])
    if path == "/campaigns":
        # Only the filter's names: a failure here never fails the page (the inbox's own tests).
        return 200, {}, json.dumps({"campaigns": None, "paginationMeta": {"page": page, "per_page": 50, "total": 0}})
    if path.startswith("/conversation/") and path.endswith("/messages"):
        return 200, {}, world.body("messages", world.messages)
    if path.startswith("/conversation/") and path.count("/") == 2:
        return 200, {}, world.body("single", world.single)
    raise AssertionError(f"the dashboard asked WapiKit for {request.method} {request.url}, which this test does not serve")


@pytest.fixture
def owner_client(settings, login_as):
    settings.WAPIKIT_BASE_URL = BASE
    settings.WAPIKIT_API_KEY = "property-key"
    settings.WAPIKIT_GET_RETRIES = 0
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # a fast sign-up
    get_client.cache_clear()
    yield login_as("owner")
    get_client.cache_clear()
    caches["default"].clear()
    caches["cards"].clear()


def served(client, world: World, url: str):
    """The dashboard's answer to `url` while WapiKit answers as `world` says, from cold caches:
    no members, scans, cards or capabilities left from another example but what `world` says
    the dashboard has learned."""
    caches["default"].clear()
    caches["cards"].clear()
    get_client.cache_clear()
    learned = get_client().capabilities
    if world.single_has_assignee is not None:
        learned.learn(capabilities.SINGLE_ANSWER_HAS_ASSIGNEE, world.single_has_assignee)
    if world.status_updates_apply is not None:
        learned.learn(capabilities.STATUS_UPDATES_APPLY, world.status_updates_apply)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as upstream:
        upstream.add_callback(responses.GET, re.compile(rf"{re.escape(BASE)}/.*"), callback=lambda r: answer(world, r))
        return client.get(url)


# What every answer must satisfy


class Markup(HTMLParser):
    """The elements of a page and their attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_no_markup_from_upstream(content: str) -> None:
    parser = Markup()
    parser.feed(content)
    for tag, attrs in parser.tags:
        assert tag not in ("x-evil", "img", "iframe", "svg"), f"upstream markup became a <{tag}> element"
        assert not any(name.startswith("on") for name in attrs), f"an event handler attribute on <{tag}>: {attrs}"
        if tag == "script":
            assert attrs.get("src"), "an inline script"
        for name in ("href", "src", "action", "formaction"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "data:text")), f"<{tag} {name}={value!r}>"


def assert_rendered_or_refused(response, *, names: list[str]) -> None:
    """Rendered: every name is on the page, escaped and isolated. Refused: with the sentence
    for an unreadable answer, and not as a 500."""
    hypothesis.event(f"answered {response.status_code}")
    assert response.status_code != 500
    content = response.content.decode()
    assert "Traceback" not in content
    assert_no_markup_from_upstream(content)
    if response.status_code == 200:
        for name in names:
            assert f"<bdi>{escape(name)}</bdi>" in content, f"{name!r} is not on the page, escaped in a <bdi>"
    else:
        assert UNREADABLE in content, (response.status_code, content[:2000])


def contact_names(conversations: list[dict]) -> list[str]:
    return [c["contact"].get("name", "") for c in conversations]


# The pages

INBOX_VIEWS = {
    "/": lambda w: w.shown("Active"),
    "/?status=all": lambda w: [c for status in (None, "Closed", "Deleted") for c in w.shown(status)],
    "/?view=unassigned": lambda w: [c for c in w.shown("Active") if not c.get("assignedTo")],
    "/?sort=unread": lambda w: w.shown("Active"),
}


@pytest.mark.parametrize("url", list(INBOX_VIEWS))
@PROPERTY
@given(world=worlds())
@example(world=NAIVE_TIME)
@example(world=YEAR_0_IN_UTC)
@example(world=LAST_HOUR_OF_9999)
def test_the_inbox_renders_or_refuses_any_answer(owner_client, url, world):
    response = served(owner_client, world, url)
    assert_rendered_or_refused(response, names=contact_names(INBOX_VIEWS[url](world)))


@PROPERTY
@given(world=worlds())
@example(world=NAIVE_TIME)
@example(world=LAST_HOUR_OF_9999)
def test_the_live_refresh_renders_or_skips_any_answer(owner_client, world):
    response = served(owner_client, world, "/inbox/changes/")
    hypothesis.event(f"answered {response.status_code}")
    # A refresh that fails is an empty 204: the page keeps what it had.
    assert response.status_code in (200, 204)
    if response.status_code == 200:
        # Only changed cards are redrawn; conversations new to the view are counted in the bar.
        drawn = [c for c in world.shown("Active") if f'id="c-{c.get("uniqueId")}"' in response.content.decode()]
        assert_rendered_or_refused(response, names=contact_names(drawn))


@PROPERTY
@given(world=worlds())
@example(world=NON_UUID_IN_LIST)
@example(world=YEAR_0_IN_UTC)
def test_the_conversation_page_renders_or_refuses_any_answer(owner_client, world):
    response = served(owner_client, world, f"/conversations/{ADDRESS_ID}/")
    assert_rendered_or_refused(response, names=contact_names([world.single["conversation"]]))


@PROPERTY
@given(world=worlds())
@example(world=YEAR_0_IN_UTC)
def test_the_workload_renders_or_refuses_any_answer(owner_client, world):
    response = served(owner_client, world, "/workload/")
    assert_rendered_or_refused(response, names=[m.get("name", "") for m in world.member_list()])
