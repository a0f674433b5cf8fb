"""One action on many conversations, each checked, audited and reported on its own.

Audit rows are written first (in this thread: database work stays off the worker threads).
The current state of every conversation is read fresh: one list read per page of the scan
window, concurrently, which for 200 conversations is 4 calls instead of 200 GETs; anything not
found there is read with its own GET. Then each item is decided (permission, conflict, no-op)
and the POSTs run with bounded concurrency. Every requested conversation ends up in the
report; none is dropped.

Before any of it, `budget_needs` weighs what the action may send against what remains of the
team's WapiKit budget, so the view can refuse an action the budget cannot carry, or ask before
one that would dig into the reserve kept for what users open and do."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from dashboard.observability.context import ContextPool
from dashboard.wapikit import budget, errors, get_client, validate_id
from dashboard.wapikit.types import Conversation, Member

from . import assignees, scan, selectors, services
from .acting import ActionResult, Actor, Outcome, Seen
from .models import AuditEntry
from .powers import Action

BULK_ACTIONS = (Action.CLOSE, Action.REOPEN, Action.ASSIGN, Action.UNASSIGN)
# Completed answers per commit while the rest of a batch is still being sent.
_COMMIT_EVERY = 20


def seconds_until_allowed(*, user_id: int) -> int:
    """0 while the user is within BULK_REQUESTS_PER_MINUTE (counted per clock minute in the
    shared cache, so every process counts together, and the web's and the API's bulk actions
    count as one), else the seconds to the next minute."""
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


def requests_needed(*, action: Action, count: int) -> dict[str, int]:
    """The most upstream requests `bulk_apply` sends for `count` conversations, per route bucket:
    a GET of each conversation the scan window does not hold; then for a status change the POST
    and, when its answer lacks the conversation (the server's is empty), a GET to read it back,
    all three on `/conversation/:id`; to assign or unassign, the POST on that route. The scan
    window's list reads are background reads (`_current_states`), so they are not counted here."""
    per_item = {"/conversation/:id": 1}
    if action.target_status is not None:
        per_item["/conversation/:id"] += 2
    elif action is Action.ASSIGN:
        per_item["/conversation/:id/assign"] = 1
    else:
        per_item["/conversation/:id/unassign"] = 1
    return {bucket: per * count for bucket, per in per_item.items()}


def budget_needs(*, action: Action, count: int) -> list[budget.Need]:
    """What the action needs of each route WapiKit limits, against the reserve kept for what users
    open and do meanwhile; routes without a stated budget are left out."""
    needs = requests_needed(action=action, count=count)
    return budget.weigh(get_client(), needs, reserve_share=settings.WAPIKIT_BUDGET_RESERVE)


@dataclass(slots=True)
class BulkItem:
    conversation_id: str
    result: ActionResult

    @property
    def contact_name(self) -> str:
        conversation = self.result.conversation
        return conversation.contact.name if conversation else ""

    @property
    def group(self) -> str:
        outcome = self.result.outcome
        if outcome is Outcome.SUCCEEDED:
            return "succeeded"
        if outcome in (Outcome.CONFLICT, Outcome.SKIPPED):
            return "skipped"
        if outcome is Outcome.IGNORED:
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

    def undisclosed(self) -> BulkReport:
        """The report for someone who may not read these conversations: ids and outcomes only."""
        items = [BulkItem(item.conversation_id, item.result.undisclosed()) for item in self.items]
        return BulkReport(action=self.action, member=self.member, items=items)


def _current_states(
    ids: list[str], *, seen: dict[str, Seen], members: list[Member]
) -> dict[str, Conversation | errors.WapiKitError]:
    """Fresh state of every id: the scan window read again (bypassing the cache), then a GET
    for each id it did not contain."""
    states: dict[str, Conversation | errors.WapiKitError] = {}
    wanted = set(ids)
    # The list without a status holds Active (and Resolved); with Closed and Deleted, every status.
    statuses = selectors.STATUS_FILTERS["all"]
    # Background reads: they only save budget while it lasts. Below the reserve they are refused,
    # and each conversation is read on its own instead, as `requests_needed` counted.
    with budget.background(), ContextPool(max_workers=len(statuses)) as pool:
        scans = pool.map(_fresh_scan, statuses)
        for result in scans:
            if isinstance(result, errors.WapiKitError):
                continue
            for conversation in assignees.listed_assignees(result, members):
                if conversation.unique_id in wanted:
                    states[conversation.unique_id] = conversation
    missing = [i for i in ids if i not in states]
    if missing:
        client = get_client()

        def read(conversation_id: str) -> Conversation | errors.WapiKitError:
            shown = seen.get(conversation_id)
            try:
                return assignees.resolved_single(
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


def _complete(entries: dict[str, AuditEntry], decided: dict, conversation_ids: list[str]) -> None:
    """The audit rows of these conversations completed, and what the timeline learns, in one commit."""
    with transaction.atomic():
        for conversation_id in conversation_ids:
            result, before = decided[conversation_id]
            services.close_entry(entries[conversation_id], result, before=before)


def bulk_apply(
    *, actor: Actor, action: Action, ids: list[str], member: Member | None, seen: dict[str, Seen]
) -> BulkReport:
    report = BulkReport(action=action, member=member)
    valid: list[str] = []
    for raw in dict.fromkeys(ids):
        try:
            valid.append(validate_id(raw))
        except errors.InvalidId as exc:
            report.items.append(BulkItem(str(raw)[:64], ActionResult(Outcome.FAILED, exc.user_message, error=exc)))
    entries = {
        conversation_id: services.open_entry(actor=actor, conversation_id=conversation_id, action=action, member=member)
        for conversation_id in valid
    }
    if not actor.powers.allows(action):
        for conversation_id, entry in entries.items():
            result = services.denied(action)
            services.close_entry(entry, result, before=None)
            report.items.append(BulkItem(conversation_id, result))
        return report

    members = actor.members
    states = _current_states(valid, seen=seen, members=members) if valid else {}
    to_send: list[Conversation] = []
    decided: dict[str, tuple[ActionResult, Conversation | None]] = {}
    for conversation_id in valid:
        state = states[conversation_id]
        if isinstance(state, errors.WapiKitError):
            decided[conversation_id] = (ActionResult(Outcome.FAILED, state.user_message, error=state), None)
            continue
        result = services.decide(
            action=action, current=state, member=member, seen=seen.get(conversation_id), force=False, members=members
        )
        if result is None:
            to_send.append(state)
        else:
            decided[conversation_id] = (result, state)

    def send(current: Conversation) -> ActionResult:
        return services.apply(action=action, current=current, member=member, members=members)

    if to_send and action.target_status is not None and not services.status_updates_known_to_apply():
        # Until this WapiKit has shown that it applies status changes (the server only logs
        # them), try one and send the rest only if it took: no spending the team's shared
        # request budget on fifty changes that do nothing, nor reporting the same failure fifty times.
        first, to_send = to_send[0], to_send[1:]
        result = send(first)
        decided[first.unique_id] = (result, first)
        if result.outcome is Outcome.IGNORED:
            message = (
                "Not sent: WapiKit accepted the first status change of this batch without applying it, "
                "so the others were not sent."
            )
            for current in to_send:
                decided[current.unique_id] = (ActionResult(Outcome.SKIPPED, message, current), current)
            to_send = []

    # The scans are read again after a batch (their order and totals moved), so they are
    # forgotten before any item's fact is learned: none is rewritten two hundred times first.
    scan.scan_forget(*selectors.SCANNED_STATUSES)
    _complete(entries, decided, [conversation_id for conversation_id in valid if conversation_id in decided])
    # Each answer is completed as it comes, a commit per few, while the other writes are still
    # on their way: the audit rows and timeline facts cost the batch no time of their own.
    with ContextPool(max_workers=settings.WAPIKIT_CONCURRENCY) as pool:
        answers = zip(to_send, pool.map(send, to_send))
        for answered in itertools.batched(answers, _COMMIT_EVERY):
            for current, result in answered:
                decided[current.unique_id] = (result, current)
            _complete(entries, decided, [current.unique_id for current, _ in answered])
    report.items.extend(BulkItem(conversation_id, decided[conversation_id][0]) for conversation_id in valid)
    return report
