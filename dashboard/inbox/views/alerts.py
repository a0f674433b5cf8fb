"""Alerts before a breach, as a reader's page shows them: one raised while the page is open
arrives by the live stream as a number, and the page asks here whether it is for this reader
(their own conversation's, or an unassigned one's for those who may assign) and how to say it.
A conversation routing took back from a silent assignee arrives the same way, for the managers."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.conversations import alerts, now, reads
from dashboard.conversations.models import Alert
from dashboard.routing import takeback
from dashboard.wapikit import errors

from .answers import HtmxHttpRequest, current_powers


@require_GET
def alert(request: HtmxHttpRequest, alert_id: int) -> HttpResponse:
    """The alert for this reader, or an empty 204: not theirs, not there, or WapiKit cannot
    say who they are now (the page simply shows nothing)."""
    try:
        powers = current_powers(request)
    except errors.WapiKitError:
        return HttpResponse(status=204)
    if not powers.can_view or powers.member is None:
        return HttpResponse(status=204)
    found = alerts.for_reader(alert_id, member_id=powers.member.unique_id, manages=powers.can_assign)
    if found is None:
        return HttpResponse(status=204)
    return render(request, "inbox/inbox.html#clock_alert", {"alert": shown(found, read=True)})


@require_GET
def take_back(request: HtmxHttpRequest, take_back_id: int) -> HttpResponse:
    """The notice of a take-back, for a reader who may assign (a manager), or an empty 204."""
    try:
        powers = current_powers(request)
    except errors.WapiKitError:
        return HttpResponse(status=204)
    found = takeback.for_reader(take_back_id, manages=powers.can_view and powers.can_assign)
    if found is None:
        return HttpResponse(status=204)
    known = now.known(found.conversation_id)
    notice = {"record": found, "name": known.contact.name if known is not None else ""}
    return render(request, "inbox/inbox.html#take_back_notice", {"take_back": notice})


# An inbox opened later lists this many of the reader's running alerts, the soonest first, and
# says how many more there are.
SHOWN_ALERTS = 5


def open_alerts(powers) -> tuple[list[dict], int]:
    """The reader's alerts still running, for an inbox opened after they were raised: the
    soonest SHOWN_ALERTS, and how many more."""
    if not powers.can_view or powers.member is None:
        return [], 0
    running = alerts.open_for(member_id=powers.member.unique_id, manages=powers.can_assign)
    return [shown(a) for a in running[:SHOWN_ALERTS]], max(0, len(running) - SHOWN_ALERTS)


def shown(found: Alert, *, read: bool = False) -> dict:
    """What the alert says: the contact's name as the dashboard last read it (`read`: else
    through the shared reads, once), what is about to run out and when."""
    known = now.known(found.conversation_id)
    if known is None and read:
        try:
            known = reads.conversation(found.conversation_id)
        except errors.WapiKitError:
            known = None
    return {
        "id": found.pk,
        "conversation_id": found.conversation_id,
        "name": known.contact.name if known is not None else "",
        "window": found.kind == Alert.Kind.WINDOW,
        "due_at": found.due_at,
        "for_managers": not found.member_id,
    }
