"""Manager tools, end to end against the sandbox over HTTP: the inbox's views, filters and sorts
(which scan WapiKit, since it cannot filter by assignee or text), the tabs with their counts, how
far the scan looks and what it costs upstream, the team workload, the reassign picker's open
counts, the live refresh and the reply-window hints on cards.

Expected results are always derived from what the sandbox answers directly (every page), never
from hard-coded ids."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from html import unescape

from tests.integration.conftest import body_of, card_ids, conversations_with, html, member_ids

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

FIGURES = Path(__file__).resolve().parents[2] / "var" / "issue4-figures.txt"
HTMX = {"HTTP_HX_REQUEST": "true"}
FAR_FUTURE = datetime.max.replace(tzinfo=UTC)

SUMMARY_RE = re.compile(
    r'<p class="summary"[^>]*>\s*(?P<total>\d+)\s+(?P<kind>\w+)\s+conversations?\s+· page (?P<page>\d+) of (?P<pages>\d+)'
)
VERSION_RE = re.compile(r'id="c-(?P<id>[0-9a-f-]{36})" data-v="(?P<v>[0-9a-f]+)"')
COUNT_RE = re.compile(r'>\s*(?P<label>All|Mine|Unassigned) <span class="count">(?P<n>\d+)</span>\s*</a>')


# --- Helpers ----------------------------------------------------------------------------------


def record_figure(line: str) -> None:
    """Keep one line per figure in the figures file, replacing an earlier run's line."""
    key = line.split(":", 1)[0]
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    lines = FIGURES.read_text().splitlines() if FIGURES.exists() else []
    lines = [existing for existing in lines if existing.split(":", 1)[0] != key]
    FIGURES.write_text("\n".join([*lines, line]) + "\n")


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def last_activity(c: dict) -> datetime:
    return max((when(m["createdAt"]) for m in c["messages"]), default=when(c["createdAt"]))


def last_inbound(c: dict) -> datetime | None:
    return max((when(m["createdAt"]) for m in c["messages"] if m["direction"] == "InBound"), default=None)


def waiting_since(c: dict) -> datetime | None:
    """When the contact started waiting: their first message after the business's last one."""
    since = None
    for message in sorted(c["messages"], key=lambda m: when(m["createdAt"]), reverse=True):
        if message["direction"] != "InBound":
            break
        since = when(message["createdAt"])
    return since


def window_ends(c: dict) -> datetime | None:
    inbound = last_inbound(c)
    return inbound + timedelta(hours=24) if inbound else None


def assignee(c: dict) -> str:
    return (c.get("assignedTo") or {}).get("uniqueId", "")


def matches_text(c: dict, q: str) -> bool:
    """The documented search: part of the contact's name or phone, ignoring case; digits of a
    phone match however the phone is formatted."""
    name, phone = c["contact"]["name"], c["contact"]["phone"]
    digits = "".join(ch for ch in q if ch.isdigit())
    return (
        q.casefold() in name.casefold()
        or q.casefold() in phone.casefold()
        or (len(digits) >= 3 and digits in "".join(ch for ch in phone if ch.isdigit()))
    )


def sandbox_all(sandbox, status: str) -> list[dict]:
    """Every conversation of a WapiKit status, or of the inbox's "all" filter, newest first."""
    if status == "all":
        merged = [c for s in ("Active", "Closed", "Deleted") for c in conversations_with(sandbox, s)]
        return sorted(merged, key=last_activity, reverse=True)
    return conversations_with(sandbox, status.capitalize())


def listed(client, **query) -> tuple[list[str], str]:
    """Every card id a query lists, following its pages (50 a page), and the first page's body."""
    ids: list[str] = []
    first = ""
    page = 1
    while True:
        response = client.get("/", {**query, "per_page": 50, "page": page})
        assert response.status_code == 200
        body = body_of(response)
        first = first or body
        ids.extend(card_ids(body))
        summary = SUMMARY_RE.search(body)
        assert summary, "every inbox page says how many match and how many pages there are"
        if page >= int(summary["pages"]):
            return ids, first
        page += 1


def card_html(body: str, cid: str) -> str:
    start = body.index(f'id="c-{cid}"')
    start = body.rindex("<article", 0, start)
    return body[start : body.index("</article>", start)]


def links(body: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="(\?[^"]*)"', body)]


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


# --- Views and filters ------------------------------------------------------------------------


def test_mine_lists_exactly_the_conversations_assigned_to_the_signed_in_member(login_as, wapikit):
    for kind, email in (("manager", "manager@example.com"), ("agent", "agent@example.com")):
        client = login_as(kind)
        me = member_ids(wapikit)[email]
        expected = [c["uniqueId"] for c in sandbox_all(wapikit, "active") if assignee(c) == me]
        assert expected, f"the seed assigns active conversations to {email}"

        ids, body = listed(client, view="mine")

        assert ids == expected
        assert re.search(rf'<p class="summary"[^>]*>\s*{len(expected)}\s+matching\s+conversation', body)
        assert "searched all" in body
        client.logout()


def test_unassigned_lists_exactly_the_active_conversations_without_an_assignee(login_as, wapikit):
    client = login_as("manager")
    expected = [c["uniqueId"] for c in sandbox_all(wapikit, "active") if not assignee(c)]
    assert len(expected) > 25

    ids, body = listed(client, view="unassigned")

    assert ids == expected
    assert body.count('<span class="unassigned">Unassigned</span>') == min(50, len(expected))


def test_a_member_view_lists_exactly_that_members_conversations(login_as, wapikit):
    client = login_as("manager")
    members = member_ids(wapikit)
    active = sandbox_all(wapikit, "active")
    for email in ("mei.chen@example.com", "norole@example.com", "owner@example.com"):
        member = members[email]
        expected = [c["uniqueId"] for c in active if assignee(c) == member]
        assert expected

        ids, _ = listed(client, view="member", member=member)
        assert ids == expected, email
        # The member filter alone (as the form sends it with view=all) means the same.
        assert listed(client, member=member)[0] == expected, email


def test_the_member_view_combines_with_the_closed_status(login_as, wapikit):
    client = login_as("manager")
    mei = member_ids(wapikit)["mei.chen@example.com"]
    expected = [c["uniqueId"] for c in sandbox_all(wapikit, "closed") if assignee(c) == mei]
    assert expected

    ids, body = listed(client, status="closed", view="member", member=mei)

    assert ids == expected
    assert "searched all" in body and "closed conversations" in body


def test_a_campaign_filter_lists_that_campaigns_conversations_alone_and_combined(login_as, wapikit):
    client = login_as("manager")
    active = sandbox_all(wapikit, "active")
    campaigns: dict[str, int] = {}
    for c in active:
        if c.get("campaignId"):
            campaigns[c["campaignId"]] = campaigns.get(c["campaignId"], 0) + 1
    campaign = max(campaigns, key=campaigns.get)

    ids, _ = listed(client, campaign=campaign)
    assert ids == [c["uniqueId"] for c in active if c.get("campaignId") == campaign]

    ids, _ = listed(client, campaign=campaign, view="unassigned")
    assert ids == [c["uniqueId"] for c in active if c.get("campaignId") == campaign and not assignee(c)]

    everything = sandbox_all(wapikit, "all")
    ids, _ = listed(client, campaign=campaign, status="all")
    assert ids == [c["uniqueId"] for c in everything if c.get("campaignId") == campaign]
    assert len(ids) > campaigns[campaign], "closed and deleted conversations of the campaign appear too"


def test_search_finds_part_of_a_contact_name_in_any_case(login_as, wapikit):
    client = login_as("manager")
    active = sandbox_all(wapikit, "active")
    # A family name shared by several contacts, searched in capitals.
    surnames: dict[str, int] = {}
    for c in active:
        word = c["contact"]["name"].split()[-1]
        if len(word) >= 4:
            surnames[word] = surnames.get(word, 0) + 1
    surname = max(surnames, key=surnames.get)
    q = surname[1:].upper()
    expected = [c["uniqueId"] for c in active if matches_text(c, q)]
    assert len(expected) >= 2

    ids, body = listed(client, q=q)

    assert ids == expected
    assert f'value="{html(q)}"' in body, "the search box keeps the query"
    # Combined with a status: the same text among every status.
    everything = sandbox_all(wapikit, "all")
    ids, _ = listed(client, q=q.lower(), status="all")
    assert ids == [c["uniqueId"] for c in everything if matches_text(c, q.lower())]
    assert len(ids) >= len(expected)


def test_search_finds_part_of_a_phone_number(login_as, wapikit):
    client = login_as("manager")
    active = sandbox_all(wapikit, "active")
    target = active[len(active) // 2]
    phone = target["contact"]["phone"]
    digits = phone.lstrip("+")[3:10]

    ids, _ = listed(client, q=digits)
    assert target["uniqueId"] in ids
    assert ids == [c["uniqueId"] for c in active if matches_text(c, digits)]

    # With the country code's plus sign, and combined with the unassigned view.
    ids, _ = listed(client, q=phone, view="unassigned" if not assignee(target) else "member",
                    member=assignee(target))
    assert ids == [target["uniqueId"]]


def test_a_search_that_matches_nothing_says_so(login_as, wapikit):
    client = login_as("manager")

    ids, body = listed(client, q="zzqx-no-such-contact")

    assert ids == []
    assert "No conversations match." in body
    assert re.search(r'<p class="summary"[^>]*>\s*0\s+matching\s+conversations', body)


# --- Sorts ------------------------------------------------------------------------------------


def expected_order(conversations: list[dict], sort: str) -> list[str]:
    if sort == "recent":
        key = lambda c: -last_activity(c).timestamp()  # noqa: E731
    elif sort == "waiting":
        key = lambda c: waiting_since(c) or FAR_FUTURE  # noqa: E731
    elif sort == "unread":
        key = lambda c: (-c["numberOfUnreadMessages"], -last_activity(c).timestamp())  # noqa: E731
    else:
        raise AssertionError(sort)
    return [c["uniqueId"] for c in sorted(conversations, key=key)]


@pytest.mark.parametrize("sort", ["recent", "waiting", "unread"])
def test_each_sort_orders_every_card_as_the_data_says(sort, login_as, wapikit):
    client = login_as("manager")
    active = sandbox_all(wapikit, "active")

    ids, body = listed(client, sort=sort)

    assert ids == expected_order(active, sort)
    assert f'<option value="{sort}" selected>' in body
    # And within a view.
    unassigned = [c for c in active if not assignee(c)]
    assert listed(client, sort=sort, view="unassigned")[0] == expected_order(unassigned, sort)


def test_oldest_waiting_first_puts_the_longest_waiting_contact_first_and_answered_ones_last(login_as, wapikit):
    client = login_as("manager")
    active = {c["uniqueId"]: c for c in sandbox_all(wapikit, "active")}

    ids, _ = listed(client, sort="waiting")

    waits = [waiting_since(active[i]) for i in ids]
    waiting = [w for w in waits if w is not None]
    assert waiting and len(waiting) < len(waits), "the seed has both waiting and answered conversations"
    assert waits[: len(waiting)] == sorted(waiting), "those waiting come first, the longest wait first"
    assert all(w is None for w in waits[len(waiting) :]), "conversations the business answered last come last"


def test_most_unread_first_orders_by_unread_count(login_as, wapikit):
    client = login_as("manager")
    active = {c["uniqueId"]: c for c in sandbox_all(wapikit, "active")}

    ids, body = listed(client, sort="unread")

    counts = [active[i]["numberOfUnreadMessages"] for i in ids]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] > 1
    first = card_html(body, ids[0])
    assert f'<span class="has-unread">{counts[0]} unread</span>' in first


def test_reply_window_closing_first_orders_open_windows_by_time_left(login_as, wapikit):
    """Among conversations whose reply window is still open, the one closing soonest comes first."""
    client = login_as("manager")
    active = {c["uniqueId"]: c for c in sandbox_all(wapikit, "active")}
    now = datetime.now(UTC)

    ids, _ = listed(client, sort="window")

    assert sorted(ids) == sorted(active)
    open_windows = [i for i in ids if (window_ends(active[i]) or now) > now + timedelta(seconds=30)]
    assert len(open_windows) >= 5
    assert open_windows == sorted(open_windows, key=lambda i: window_ends(active[i]))


def test_reply_window_closing_first_shows_the_open_windows_before_the_closed_ones(login_as, wapikit):
    client = login_as("manager")
    active = {c["uniqueId"]: c for c in sandbox_all(wapikit, "active")}
    now = datetime.now(UTC)
    still_open = sorted(
        (i for i in active if (window_ends(active[i]) or now) > now + timedelta(seconds=30)),
        key=lambda i: window_ends(active[i]),
    )
    assert still_open

    ids, body = listed(client, sort="window")

    assert ids[: len(still_open)] == still_open
    first = card_html(body, ids[0])
    assert "left to reply" in first and "window-closing" in first


# --- Filters live in the URL ------------------------------------------------------------------


def test_every_filter_is_carried_by_the_links_tabs_and_forms_of_the_page(login_as, wapikit):
    client = login_as("manager")
    mei = member_ids(wapikit)["mei.chen@example.com"]
    query = {"status": "all", "view": "unassigned", "q": "a", "sort": "waiting"}

    response = client.get("/", query)
    body = body_of(response)
    assert response.status_code == 200
    summary = SUMMARY_RE.search(body)
    assert int(summary["pages"]) > 1, "enough matches for a next page"

    hrefs = links(body)
    kept = {"status": ["all"], "view": ["unassigned"], "q": ["a"], "sort": ["waiting"]}
    status_links = [h for h in hrefs if "per_page" not in h and "page=" not in h]
    # Status links change the status and keep the rest.
    for name in ("active", "closed", "deleted", "all"):
        wanted = {**kept, "status": [name]} if name != "active" else {k: v for k, v in kept.items() if k != "status"}
        assert any(query_of(h) == wanted for h in status_links), name
    # Per-page links and the pager keep every filter.
    assert any(query_of(h) == {**kept, "per_page": ["50"]} for h in hrefs)
    next_link = re.search(r'<a rel="next" href="(\?[^"]*)"', body)
    assert query_of(unescape(next_link[1])) == {**kept, "page": ["2"]}
    # The tabs switch the view and keep the rest, and load their counts for the same query.
    tab_links = re.search(r'<nav id="tabs".*?</nav>', body, re.S)[0]
    tabs = [query_of(unescape(h)) for h in re.findall(r'<a href="(\?[^"]*)"', tab_links)]
    assert {k: v for k, v in kept.items() if k != "view"} in tabs
    assert {**kept, "view": ["mine"]} in tabs
    assert {**kept, "view": ["unassigned"]} in tabs
    tabs_url = re.search(r'hx-get="(/inbox/tabs/\?[^"]*)"', tab_links)[1]
    assert query_of(unescape(tabs_url)) == kept
    # The live refresh asks about the same view; "select all matching" acts on the same view.
    refresh = re.search(r'data-refresh-url="([^"]*)"', body)[1]
    assert query_of(unescape(refresh)) == kept
    bulk = re.search(r'<form id="bulk".*?</form>', body, re.S)[0]
    for name, value in kept.items():
        assert f'<input type="hidden" name="{name}" value="{value[0]}">' in bulk
    # The filter form shows them too.
    assert 'id="q" name="q" value="a"' in body
    assert '<option value="waiting" selected>' in body

    # A member view keeps its member in every link that keeps the view, and drops it in the tabs.
    body = body_of(client.get("/", {"view": "member", "member": mei, "sort": "unread", "campaign": ""}))
    pager_and_status = [query_of(h) for h in links(body) if "view=member" in h]
    assert pager_and_status and all(q["member"] == [mei] and q["sort"] == ["unread"] for q in pager_and_status)
    assert f'<option value="{mei}" selected>' in body
    tab_links = re.search(r'<nav id="tabs".*?</nav>', body, re.S)[0]
    for tab in re.findall(r'<a href="(\?[^"]*)"', tab_links):
        assert "member=" not in tab and query_of(unescape(tab))["sort"] == ["unread"]


# --- Tabs -------------------------------------------------------------------------------------


def tab_counts(body: str) -> dict[str, int]:
    return {m["label"]: int(m["n"]) for m in COUNT_RE.finditer(body)}


def test_the_tabs_fragment_counts_all_mine_and_unassigned_as_the_data_says(login_as, wapikit):
    client = login_as("manager")
    me = member_ids(wapikit)["manager@example.com"]
    for status in ("active", "closed"):
        data = sandbox_all(wapikit, status)

        response = client.get("/inbox/tabs/", {"status": status, "q": "ignored by the counts"}, **HTMX)

        assert response.status_code == 200
        body = body_of(response)
        assert body.lstrip().startswith('<nav id="tabs"')
        assert tab_counts(body) == {
            "All": len(data),
            "Mine": sum(1 for c in data if assignee(c) == me),
            "Unassigned": sum(1 for c in data if not assignee(c)),
        }
        assert f"Counts: searched all {len(data)} {status} conversations." in body
        # Each tab links to its view with the rest of the query kept.
        assert f'href="?status={status}&amp;view=unassigned&amp;q=' in body or status == "active"


# --- How far the scan looks, and what it costs ------------------------------------------------


def test_with_two_scan_pages_the_view_says_it_searched_the_100_most_recent_and_finds_only_those(
    login_as, fresh_wapikit, settings
):
    settings.WAPIKIT_SCAN_PAGES = 2
    client = login_as("manager")
    active = sandbox_all(fresh_wapikit, "active")
    assert len(active) == 144
    recent, older = active[:100], active[100:]
    expected = [c["uniqueId"] for c in recent if not assignee(c)]
    beyond = [c for c in older if not assignee(c)]
    assert beyond, "some unassigned conversations lie beyond the 100 most recent"

    ids, body = listed(client, view="unassigned")

    assert ids == expected
    assert "searched the 100 most recent active conversations (of 144)" in body
    # A contact only among the older ones is not found, and the page says how far it looked.
    target = older[-1]
    ids, body = listed(client, q=target["contact"]["phone"])
    assert ids == []
    assert "No conversations match." in body
    assert "searched the 100 most recent active conversations (of 144)" in body
    tabs = body_of(client.get("/inbox/tabs/", {"view": "unassigned"}, **HTMX))
    assert tab_counts(tabs)["All"] == 100
    assert tab_counts(tabs)["Unassigned"] == len(expected)
    assert "searched the 100 most recent active conversations (of 144)" in tabs


def test_with_the_default_scan_the_view_says_it_searched_all_144(login_as, fresh_wapikit):
    client = login_as("manager")
    active = sandbox_all(fresh_wapikit, "active")
    assert len(active) == 144
    target = active[-1]

    ids, body = listed(client, q=target["contact"]["phone"])

    assert target["uniqueId"] in ids
    assert "searched all 144 active conversations" in body
    ids, body = listed(client, view="unassigned")
    assert ids == [c["uniqueId"] for c in active if not assignee(c)]
    assert "searched all 144 active conversations" in body


def test_one_scan_serves_every_view_and_the_tabs_within_the_cache_lifetime(
    login_as, fresh_wapikit, upstream_calls
):
    client = login_as("manager")
    upstream_calls.clear()

    cold = client.get("/", {"view": "unassigned"})
    assert cold.status_code == 200
    cold_calls = list(upstream_calls)
    lists = [c for c in cold_calls if c.path == "/conversations"]
    members = [c for c in cold_calls if c.path == "/organization/members"]
    campaigns = [c for c in cold_calls if c.path == "/campaigns"]
    # 144 active at 50 a page: the first page, then the other two.
    assert len(lists) == 3
    assert len(members) == 1
    assert len(campaigns) == 1  # the campaign filter's names
    assert len(cold_calls) == 5
    assert all(c.method == "GET" and c.status == 200 for c in cold_calls)

    upstream_calls.clear()
    warm = client.get("/", {"view": "mine", "sort": "waiting"})
    assert warm.status_code == 200
    warm_calls = list(upstream_calls)
    assert [c for c in warm_calls if c.path.startswith("/conversation")] == []

    upstream_calls.clear()
    tabs = client.get("/inbox/tabs/", {"view": "unassigned"}, **HTMX)
    assert tabs.status_code == 200 and tab_counts(body_of(tabs))
    tabs_calls = list(upstream_calls)
    assert tabs_calls == []

    upstream_calls.clear()
    assert client.get("/workload/").status_code == 200
    workload_calls = list(upstream_calls)
    assert workload_calls == []

    record_figure(
        f"SCAN cold view (144 active, per_page 50): {len(lists)} list calls + {len(members)} members call "
        f"= {len(cold_calls)} upstream calls; warm view: {len(warm_calls)} calls "
        f"({len([c for c in warm_calls if c.path == '/conversations'])} to /conversations); "
        f"tabs after a scanned view: {len(tabs_calls)} calls; workload after it: {len(workload_calls)} calls"
    )


# --- Workload and the reassign picker ---------------------------------------------------------


WORKLOAD_ROW_RE = re.compile(
    r'<td[^>]*>\s*<bdi>(?P<name>[^<]*)</bdi> <span class="muted">\w+</span>(?P<warnings>.*?)</td>\s*'
    r"<td[^>]*><bdi>[^<]*</bdi></td>\s*"
    r'<td[^>]*>\s*<a href="/\?view=member&amp;member=(?P<id>[0-9a-f-]{36})">\s*(?P<open>\d+)\s*</a>\s*</td>\s*'
    r'<td[^>]*>\s*<a href="/\?view=member&amp;member=(?P=id)&amp;sort=unread">\s*(?P<unread>\d+)\s*</a>\s*</td>',
    re.S,
)


def test_the_workload_counts_each_members_active_conversations_as_the_data_says(login_as, wapikit):
    client = login_as("manager")
    members = wapikit.get("/organization/members", page=1, per_page=50)["members"]
    active = sandbox_all(wapikit, "active")

    response = client.get("/workload/")

    assert response.status_code == 200
    body = body_of(response)
    rows = {m["id"]: m for m in WORKLOAD_ROW_RE.finditer(body)}
    assert set(rows) == {m["uniqueId"] for m in members}
    for member in members:
        mine = [c for c in active if assignee(c) == member["uniqueId"]]
        row = rows[member["uniqueId"]]
        assert unescape(row["name"]) == member["name"]
        assert int(row["open"]) == len(mine), member["name"]
        assert int(row["unread"]) == sum(1 for c in mine if c["numberOfUnreadMessages"]), member["name"]
    unassigned = re.search(r'<a href="/\?view=unassigned">(\d+)</a>', body)
    assert int(unassigned[1]) == sum(1 for c in active if not assignee(c))
    assert f"searched all {len(active)} active conversations" in body
    # Busiest first.
    opens = [int(m["open"]) for m in WORKLOAD_ROW_RE.finditer(body)]
    assert opens == sorted(opens, reverse=True)
    # The member without roles is flagged.
    norole = member_ids(wapikit)["norole@example.com"]
    assert "cannot see conversations" in rows[norole]["warnings"]

    # A member's link opens exactly their conversations.
    busiest = max(rows.values(), key=lambda m: int(m["open"]))
    ids, _ = listed(client, view="member", member=busiest["id"])
    assert ids == [c["uniqueId"] for c in active if assignee(c) == busiest["id"]]
    assert len(ids) == int(busiest["open"])


def test_an_agent_may_not_see_the_workload(login_as, wapikit):
    client = login_as("agent")

    response = client.get("/workload/")

    assert response.status_code == 403
    assert "Active assigned" not in body_of(response)


def test_the_reassign_picker_shows_each_members_open_count_and_warns_about_the_member_without_roles(
    login_as, wapikit
):
    client = login_as("manager")
    members = wapikit.get("/organization/members", page=1, per_page=50)["members"]
    active = sandbox_all(wapikit, "active")
    conversation = active[0]

    response = client.post(
        f"/conversations/{conversation['uniqueId']}/assign/",
        {"seen": f"Active:{assignee(conversation) or ''}", "next": "/"},
    )

    assert response.status_code == 200
    body = body_of(response)
    items = re.findall(r"<li[^>]*>(.*?)</li>", body, re.S)
    picker_items = [i for i in items if 'name="member_id"' in i]
    assert len(picker_items) == len(members)
    for member in members:
        item = next(i for i in picker_items if f'value="{member["uniqueId"]}"' in i)
        n = sum(1 for c in active if assignee(c) == member["uniqueId"])
        assert re.search(
            rf'<bdi>{re.escape(html(member["name"]))}</bdi></button>\s*<span class="picker-about"[^>]*>\s*'
            rf'<span class="open-count">{n} open</span>',
            item,
        ), item
        if member["email"] == "norole@example.com":
            assert "Warning: cannot see conversations" in item
        elif member["accessLevel"] == "Owner" or any(
            "Get:Conversation" in r["permissions"] for r in member["roles"]
        ):
            assert "cannot see conversations" not in item


# --- Live refresh -----------------------------------------------------------------------------


def refresh(client, versions: dict[str, str], busy: tuple[str, ...] = (), query: str = "", bar: str = ""):
    # As static/js/app.js asks: every card in order, those the user is busy with without a version.
    v = ",".join(f"{cid}:{version if cid not in busy else ''}" for cid, version in versions.items())
    return client.get(f"/inbox/changes/?{query}&v={v}&busy={','.join(busy)}&bar={bar}&since=0&next=/", **HTMX)


def test_live_refresh_answers_204_when_nothing_changed_and_redraws_only_what_did(login_as, fresh_wapikit):
    client = login_as("manager")
    members = member_ids(fresh_wapikit)
    mei = members["mei.chen@example.com"]
    body = body_of(client.get("/"))
    versions = {m["id"]: m["v"] for m in VERSION_RE.finditer(body)}
    page = card_ids(body)
    assert list(versions) == page and len(page) == 25
    refresh_url = re.search(r'data-refresh-url="([^"]*)"', body)[1]
    assert refresh_url.startswith("/inbox/changes/")

    unchanged = refresh(client, versions)
    assert unchanged.status_code == 204
    assert unchanged.content == b""
    record_figure(f"NO-CHANGE REFRESH: status {unchanged.status_code}, {len(unchanged.content)} bytes")

    # Someone assigns two conversations on this page elsewhere; the user is acting on the second.
    active = {c["uniqueId"]: c for c in sandbox_all(fresh_wapikit, "active")}
    changed, busy = [cid for cid in page if assignee(active[cid]) != mei][1:3]
    for cid in (changed, busy):
        assert fresh_wapikit.post(f"/conversation/{cid}/assign", {"organizationMemberId": mei}).status_code == 200

    response = refresh(client, versions, busy=(busy,))

    assert response.status_code == 200
    answer = body_of(response)
    assert card_ids(answer) == [changed]
    card = card_html(answer, changed)
    assert 'hx-swap-oob="true"' in card
    assert "Assigned to <strong><bdi>Mei Chen</bdi></strong>" in card
    assert f'id="c-{busy}"' not in answer
    new_version = VERSION_RE.search(card)["v"]
    assert new_version != versions[changed]
    # Once the page has the new card, nothing more to say.
    assert refresh(client, {**versions, changed: new_version}, busy=(busy,)).status_code == 204

    # A closed conversation with newer activity than the page's last card is reopened elsewhere:
    # it is counted in the page's bar, never inserted, and the card it pushes off this page is
    # told so (it is still in the view); the bar's count then stays quiet until it changes.
    oldest_on_page = last_activity(active[page[-1]])
    reopened = next(c for c in sandbox_all(fresh_wapikit, "closed") if last_activity(c) > oldest_on_page)
    assert fresh_wapikit.post(f"/conversation/{reopened['uniqueId']}", {"status": "Active"}).status_code == 200

    response = refresh(client, {**versions, changed: new_version}, busy=(busy,))

    assert response.status_code == 200
    answer = body_of(response)
    assert card_ids(answer) == []
    assert "afterbegin" not in answer
    assert re.search(r'<span class="new-count">1 new · 1 moved</span>', answer)
    assert f'<div hx-swap-oob="innerHTML:#c-{page[-1]} .alert">' in answer
    assert "Now on a later page of this view." in answer
    assert "left this view" not in answer
    key = re.search(r'id="new-bar" data-key="([0-9a-f]+)"', answer)[1]
    told = {**versions, changed: new_version, page[-1]: "-"}
    assert refresh(client, told, busy=(busy,), bar=key).status_code == 204


# --- Reply window -----------------------------------------------------------------------------


def test_cards_show_the_reply_window_closing_and_closed(login_as, fresh_wapikit):
    client = login_as("manager")
    active = sandbox_all(fresh_wapikit, "active")
    now = datetime.now(UTC)

    def age(c):
        inbound = last_inbound(c)
        return now - inbound if inbound else None

    closing = [c for c in active if age(c) and timedelta(hours=22, minutes=5) < age(c) < timedelta(hours=23, minutes=50)]
    assert closing, "the seed has conversations whose last inbound message was about 23 hours ago"
    closing = min(closing, key=lambda c: abs(age(c) - timedelta(hours=23)))
    closed = next(c for c in active if age(c) and age(c) > timedelta(hours=25))

    for conversation, state, text in (
        (closing, "window-closing", "min left to reply"),
        (closed, "window-closed", "Reply window closed"),
    ):
        ids, body = listed(client, q=conversation["contact"]["phone"])
        assert conversation["uniqueId"] in ids
        card = card_html(body, conversation["uniqueId"])
        head = card[: card.index(">")]
        assert state in head.split('class="', 1)[1].split('"', 1)[0]
        assert '<p class="window">' in card
        window = re.search(r'<p class="window">([^<]*)</p>', card)[1]
        assert text in window
        if state == "window-closing":
            assert re.fullmatch(r"(1 h )?\d+ min left to reply", window), window
