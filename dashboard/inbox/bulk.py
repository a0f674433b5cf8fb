"""One action on many conversations, each checked, audited and reported on its own.

Audit rows are written first (in this thread: database work stays off the worker threads).
The current state of every conversation is read fresh: one list read per page of the scan
window, concurrently, which for 200 conversations is 4 calls instead of 200 GETs; anything not
found there is read with its own GET. Then each item is decided (permission, conflict, no-op)
and the POSTs run with bounded concurrency. Every requested conversation ends up in the
report; none is dropped."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from dashboard.audit.models import AuditEntry
from dashboard.observability.context import ContextPool
from dashboard.wapikit import errors, get_client, validate_id
from dashboard.wapikit.types import Conversation, Member

from . import scan, selectors, services
from .permissions import Action, Powers

BULK_ACTIONS = (Action.CLOSE, Action.REOPEN, Action.ASSIGN, Action.UNASSIGN)


def seconds_until_allowed(*, user_id: int) -> int:
    """0 while the user is within BULK_REQUESTS_PER_MINUTE (counted per clock minute in the
    shared cache, so every process counts together), else the seconds to the next minute."""
    now = time.time()
    key = f"bulk:requests:{user_id}:{int(now // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    if count <= settings.BULK_REQUESTS_PER_MINUTE:
        return 0
    return max(1, 60 - int(now % 60))


@dataclass(slots=True)
class BulkItem:
    conversation_id: str
    result: services.ActionResult

    @property
    def contact_name(self) -> str:
        conversation = self.result.conversation
        return conversation.contact.name if conversation else ""

    @property
    def group(self) -> str:
        outcome = self.result.outcome
        if outcome == AuditEntry.Outcome.SUCCEEDED:
            return "succeeded"
        if outcome in ("conflict", AuditEntry.Outcome.SKIPPED):
            return "skipped"
        if outcome == AuditEntry.Outcome.IGNORED:
            return "ignored"
        return "failed"


@dataclass(slots=True)
class BulkReport:
    action: Action
    member: Member | None
    items: list[BulkItem] = field(default_factory=list)

    def of(self, group: str) -> list[BulkItem]:
        return [item for item in self.items if item.group == group]

    @property
    def succeeded(self) -> list[BulkItem]:
        return self.of("succeeded")

    @property
    def skipped(self) -> list[BulkItem]:
        return self.of("skipped")

    @property
    def failed(self) -> list[BulkItem]:
        return self.of("failed")

    @property
    def ignored(self) -> list[BulkItem]:
        """Accepted by WapiKit but not applied."""
        return self.of("ignored")


def _current_states(
    ids: list[str], *, seen: dict[str, services.Seen], members: list[Member]
) -> dict[str, Conversation | errors.WapiKitError]:
    """Fresh state of every id: the scan window read again (bypassing the cache), then a GET
    for each id it did not contain."""
    states: dict[str, Conversation | errors.WapiKitError] = {}
    wanted = set(ids)
    # The list without a status holds Active (and Resolved); with Closed and Deleted, every status.
    statuses = selectors.STATUS_FILTERS["all"]
    with ContextPool(max_workers=len(statuses)) as pool:
        scans = pool.map(_fresh_scan, statuses)
        for result in scans:
            if isinstance(result, errors.WapiKitError):
                continue
            for conversation in selectors.listed_assignees(result, members):
                if conversation.unique_id in wanted:
                    states[conversation.unique_id] = conversation
    missing = [i for i in ids if i not in states]
    if missing:
        client = get_client()

        def read(conversation_id: str) -> Conversation | errors.WapiKitError:
            shown = seen.get(conversation_id)
            try:
                return selectors.resolved_single(
                    client.get_conversation(conversation_id),
                    members=members,
                    fallback=shown.assignee_id if shown else None,
                )
            except errors.WapiKitError as exc:
                return exc

        with ContextPool(max_workers=settings.WAPIKIT_CONCURRENCY) as pool:
            for conversation_id, state in zip(missing, pool.map(read, missing)):
                states[conversation_id] = state
    return states


def _fresh_scan(status: str | None) -> list[Conversation] | errors.WapiKitError:
    try:
        return scan.scan_conversations(status, fresh=True).conversations
    except errors.WapiKitError as exc:
        return exc


def bulk_apply(
    *,
    user,
    powers: Powers,
    action: Action,
    ids: list[str],
    member: Member | None,
    seen: dict[str, services.Seen],
    members: list[Member],
    client_address: str = "",
) -> BulkReport:
    report = BulkReport(action=action, member=member)
    valid: list[str] = []
    for raw in dict.fromkeys(ids):
        try:
            valid.append(validate_id(raw))
        except errors.InvalidId as exc:
            report.items.append(BulkItem(str(raw)[:64], services.ActionResult(AuditEntry.Outcome.FAILED, exc.user_message, error=exc)))
    entries = {
        conversation_id: services.open_entry(
            user=user, powers=powers, conversation_id=conversation_id, action=action, via=AuditEntry.Via.BULK,
            member=member, client_address=client_address,
        )
        for conversation_id in valid
    }
    if not powers.allows(action):
        message = f"Your WapiKit role does not allow you to {action} conversations."
        for conversation_id, entry in entries.items():
            result = services.ActionResult(AuditEntry.Outcome.DENIED, message)
            services.close_entry(entry, result, before=None)
            report.items.append(BulkItem(conversation_id, result))
        return report

    states = _current_states(valid, seen=seen, members=members) if valid else {}
    to_send: list[Conversation] = []
    decided: dict[str, tuple[services.ActionResult, Conversation | None]] = {}
    for conversation_id in valid:
        state = states[conversation_id]
        if isinstance(state, errors.WapiKitError):
            decided[conversation_id] = (services.ActionResult(AuditEntry.Outcome.FAILED, state.user_message, error=state), None)
            continue
        result = services.decide(
            action=action, current=state, member=member, seen=seen.get(conversation_id), force=False, members=members
        )
        if result is None:
            to_send.append(state)
        else:
            decided[conversation_id] = (result, state)

    def send(current: Conversation) -> services.ActionResult:
        return services.apply(action=action, current=current, member=member, members=members)

    if to_send and action.target_status is not None and not services.status_updates_known_to_apply():
        # Until this WapiKit has shown that it applies status changes (the server only logs
        # them), try one and send the rest only if it took: no spending the team's shared
        # request budget on fifty changes that do nothing, nor reporting the same failure fifty times.
        first, to_send = to_send[0], to_send[1:]
        result = send(first)
        decided[first.unique_id] = (result, first)
        if result.outcome == AuditEntry.Outcome.IGNORED:
            message = (
                "Not sent: WapiKit accepted the first status change of this batch without applying it, "
                "so the others were not sent."
            )
            for current in to_send:
                decided[current.unique_id] = (services.ActionResult(AuditEntry.Outcome.SKIPPED, message, current), current)
            to_send = []

    with ContextPool(max_workers=settings.WAPIKIT_CONCURRENCY) as pool:
        for current, result in zip(to_send, pool.map(send, to_send)):
            decided[current.unique_id] = (result, current)

    for conversation_id in valid:
        result, before = decided[conversation_id]
        services.close_entry(entries[conversation_id], result, before=before)
        report.items.append(BulkItem(conversation_id, result))
    scan.scan_forget(*selectors.SCANNED_STATUSES)
    return report
