"""Response clocks and alerts before a breach in real Chromium, with the dashboard under ASGI as
`make run` serves it (the live stream needs it): a NewMessage WapiKit publishes makes its open
card say the contact is waiting and when the answer is due, and a clock turning "due soon" puts
one alert on the open inbox of the member it is for, however often its task runs."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

import requests
from django.conf import settings as django_settings
from django.utils import timezone
from playwright.sync_api import expect

from dashboard.conversations import alerts, now, timeline
from dashboard.conversations.models import Alert
from dashboard.wapikit.types import Message, MessageData
from tests.browser.conftest import sign_in

PUSHED_MS = 5_000  # an event or a published alert, to the open page

# Registered before any page script: records each browser notification the page shows.
NOTIFICATION_RECORDER = """
window.__notifications = [];
if ("Notification" in window) {
  const Shown = window.Notification;
  window.Notification = class extends Shown {
    constructor(title, options) {
      super(title, options);
      window.__notifications.push((options && options.tag) || title);
    }
  };
}
"""


def streaming(page) -> None:
    """The page's live stream is open (app.js marks the body), so what is published reaches it."""
    page.wait_for_selector('body[data-live="1"]', timeout=10_000)


def no_failed_requests(page) -> list[str]:
    # A live stream cut short by a reload or by the page closing is not a failure of the page.
    return [failed for failed in page.failed_requests if "/live/stream/" not in failed]


def test_a_new_message_makes_its_open_card_waiting_with_its_clock(
    new_page, asgi_dashboard, listening, make_user, settings
):
    settings.WAPIKIT_LIST_CACHE_SECONDS = 15
    page = new_page()
    sign_in(page, asgi_dashboard, make_user("manager"))
    streaming(page)
    card = page.locator(".card.status-active").nth(2)
    conversation_id = card.get_attribute("id").removeprefix("c-")
    card = page.locator(f"#c-{conversation_id}")
    # The server's list answers carry no messages and nothing has been learned yet: no clock.
    expect(card.locator(".waiting")).to_have_count(0)

    requests.post(
        f"{listening.root_url}/_sandbox/events",
        json={"type": "NewMessage", "conversation_id": conversation_id, "text": "Is anyone there?"},
        headers={"x-access-token": listening.api_key},
        timeout=5,
    ).raise_for_status()

    # Without a reload: the pushed change redraws the card.
    expect(card).to_contain_text("Is anyone there?", timeout=PUSHED_MS)
    expect(card.locator(".waiting")).to_contain_text("waiting under a minute")
    life = timeline.life_of(conversation_id)
    assert life is not None and life.first_inbound_at is not None
    if life.last_outbound_at is None:
        which, target = "First response", django_settings.FIRST_RESPONSE_TARGET_MINUTES
    else:
        which, target = "Reply", django_settings.NEXT_RESPONSE_TARGET_MINUTES
    # Minutes left are rounded up: the whole target, or a minute less across a minute's edge.
    expect(card.locator(".waiting .clock")).to_have_text(re.compile(rf"^{which} due in ({target}|{target - 1}) min$"))
    expect(card.locator(".waiting .clock")).to_have_class(re.compile(r"\bclock-on_time\b"))
    expect(card).to_have_class(re.compile(r"\bclock-on_time\b"))
    assert page.console_errors == []
    assert page.evaluate("window.__cspViolations") == []
    assert no_failed_requests(page) == []


def test_a_clock_turning_due_soon_raises_one_alert_on_the_open_inbox(
    new_page, asgi_dashboard, listening, make_user, settings
):
    # Alerts name the contact as the dashboard last read it: the inbox's list, kept a while.
    settings.WAPIKIT_LIST_CACHE_SECONDS = 15
    page = new_page()
    page.context.grant_permissions(["notifications"])
    page.context.add_init_script(NOTIFICATION_RECORDER)
    # A manager: the alert of a conversation nobody is assigned is for those who may assign.
    sign_in(page, asgi_dashboard, make_user("manager"))
    streaming(page)
    expect(page.locator(".clock-alerts")).to_be_hidden()
    card = page.locator(".card.status-active:has(.unassigned)").first
    conversation_id = card.get_attribute("id").removeprefix("c-")
    name = card.locator("h2").inner_text().strip()
    card = page.locator(f"#c-{conversation_id}")
    conversation = now.known(conversation_id)
    assert conversation is not None and conversation.assignee_known and conversation.assigned_to is None

    # The contact wrote 12 minutes ago and nobody has answered yet: 3 of the 15 minutes left, due
    # soon (the last 5). Learnt as WapiKit's NewMessage event is, in this process: the live
    # server's database and bus.
    wrote_at = (timezone.now() - timedelta(minutes=12)).replace(microsecond=0)
    now.message_arrived(
        conversation,
        Message(
            unique_id=str(uuid.uuid4()),
            conversation_id=conversation_id,
            direction="InBound",
            status="Sent",
            created_at=wrote_at,
            message_data=MessageData(text="Hello? Still waiting on my refund."),
            type_camel="Text",
        ),
    )
    # Without a reload: the pushed change redraws the card, its clock due soon.
    clock = card.locator(".waiting .clock")
    expect(clock).to_have_text(re.compile(r"^First response due in [23] min$"), timeout=PUSHED_MS)
    expect(clock).to_have_class(re.compile(r"\bclock-due_soon\b"))
    expect(card.locator(".waiting")).to_contain_text(re.compile(r"waiting 1[23] min"))
    expect(card).to_have_class(re.compile(r"\bclock-due_soon\b"))
    expect(page.locator(".clock-alert")).to_have_count(0)

    alerts.raise_due.call(conversation_id, "response")

    alert = page.locator("#clock-alerts .clock-alert")
    expect(alert).to_have_count(1, timeout=PUSHED_MS)
    expect(alert).to_contain_text(name)
    expect(alert).to_contain_text("a reply is due at")
    expect(alert).to_contain_text("(nobody is assigned)")
    expect(page.locator(".clock-alerts")).to_be_visible()
    raised = Alert.objects.get(conversation_id=conversation_id)
    due_at = wrote_at + timedelta(minutes=django_settings.FIRST_RESPONSE_TARGET_MINUTES)
    assert (raised.kind, raised.member_id, raised.due_at) == (Alert.Kind.RESPONSE, "", due_at)
    expect(alert).to_have_attribute("data-alert", str(raised.pk))
    assert datetime.fromisoformat(alert.locator("time").get_attribute("datetime")) == due_at
    # Notifications are allowed: the alert is notified, once.
    page.wait_for_function("window.__notifications.length > 0")
    assert page.evaluate("window.__notifications") == [f"alert-{raised.pk}"]

    alerts.raise_due.call(conversation_id, "response")

    page.wait_for_timeout(1_500)  # time for a second push to arrive, were there one
    expect(alert).to_have_count(1)
    assert Alert.objects.filter(conversation_id=conversation_id).count() == 1
    assert page.evaluate("window.__notifications") == [f"alert-{raised.pk}"]
    assert page.console_errors == []
    assert page.evaluate("window.__cspViolations") == []
    assert no_failed_requests(page) == []

    # An inbox opened afterwards shows the alert still running, and the card due soon.
    page.reload()
    expect(page.locator("#clock-alerts .clock-alert")).to_have_count(1)
    expect(page.locator("#clock-alerts .clock-alert")).to_contain_text(name)
    expect(page.locator(f"#c-{conversation_id}")).to_have_class(re.compile(r"\bclock-due_soon\b"))
    expect(page.locator(f"#c-{conversation_id} .waiting .clock.clock-due_soon")).to_be_visible()
    # The alert this browser notified already is not notified again.
    assert page.evaluate("window.__notifications") == []
    assert page.console_errors == []
    assert page.evaluate("window.__cspViolations") == []
