"""Never twice: a conversation is routed under a claim row written before the upstream call.
At most one claim per conversation is current (a unique partial index, in every database), so
two triggers for one conversation, in one process or two, make one claim: the other insert
fails and that trigger does nothing. A claim whose worker died mid-call is taken over after
its lease (ROUTING_CLAIM_LEASE_SECONDS), for the same member it named (never a second member),
and only after WapiKit was asked whether the dead worker's call went through (`running`):
WapiKit's server answers 500 to a repeated assignment and keeps both."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max

from dashboard.conversations.models import LifeEvent

from .models import Claim


def lease() -> timedelta:
    """A claim not finished within this was a dead worker's: another may take it over."""
    return timedelta(seconds=settings.ROUTING_CLAIM_LEASE_SECONDS)


def claim(
    *, conversation_id: str, trigger: str, rule_name: str, member_id: str, member_name: str, why: str, now: datetime
) -> Claim | None:
    """This trigger's claim on the conversation, or None when another claim is current."""
    try:
        with transaction.atomic():
            return Claim.objects.create(
                conversation_id=conversation_id, trigger=trigger, rule_name=rule_name, member_id=member_id,
                member_name=member_name, why=why, claimed_at=now, lease_until=now + lease(),
            )
    except IntegrityError:
        return None


def current(conversation_id: str) -> Claim | None:
    return Claim.objects.filter(conversation_id=conversation_id, current=True).first()


def take_over(conversation_id: str, *, now: datetime) -> Claim | None:
    """A dead worker's claim (still CLAIMED past its lease), taken over by this one: the lease
    is renewed in one conditional write, so of two workers only one takes it."""
    with transaction.atomic():
        found = (
            Claim.objects.select_for_update(skip_locked=True)
            .filter(conversation_id=conversation_id, current=True, state=Claim.State.CLAIMED, lease_until__lt=now)
            .first()
        )
        if found is None:
            return None
        taken = Claim.objects.filter(pk=found.pk, lease_until=found.lease_until).update(lease_until=now + lease())
    return Claim.objects.get(pk=found.pk) if taken else None


def stale(*, now: datetime) -> list[str]:
    """Conversations whose claim's worker died mid-call."""
    return list(
        Claim.objects.filter(current=True, state=Claim.State.CLAIMED, lease_until__lt=now).values_list(
            "conversation_id", flat=True
        )
    )


def assigned(found: Claim, *, now: datetime) -> None:
    Claim.objects.filter(pk=found.pk).update(state=Claim.State.ASSIGNED, assigned_at=now)


def failed(found: Claim) -> None:
    """The assignment did not happen: let go, so a later trigger may route it."""
    Claim.objects.filter(pk=found.pk).update(state=Claim.State.FAILED, current=False)


def release(conversation_id: str) -> None:
    """Routing lets go of the conversation (taken back, or assigned by someone else)."""
    Claim.objects.filter(conversation_id=conversation_id, current=True).exclude(state=Claim.State.CLAIMED).update(
        state=Claim.State.RELEASED, current=False
    )


def members_who_had(conversation_id: str) -> set[str]:
    """Everyone the conversation was ever assigned to, by routing or (as the timeline logged
    it) by hand."""
    routed = Claim.objects.filter(conversation_id=conversation_id, assigned_at__isnull=False)
    logged = LifeEvent.objects.filter(conversation_id=conversation_id, kind=LifeEvent.Kind.ASSIGNED).exclude(member_id="")
    return set(routed.values_list("member_id", flat=True)) | set(logged.values_list("member_id", flat=True))


def in_flight() -> dict[str, int]:
    """Claims under way per member: counted as open, so capacity holds while calls are made."""
    counts: dict[str, int] = {}
    for member_id in Claim.objects.filter(current=True, state=Claim.State.CLAIMED).values_list("member_id", flat=True):
        counts[member_id] = counts.get(member_id, 0) + 1
    return counts


def last_assigned() -> dict[str, datetime]:
    rows = Claim.objects.filter(assigned_at__isnull=False).values("member_id").annotate(last=Max("assigned_at"))
    return {row["member_id"]: row["last"] for row in rows}


def cursors(rule_names: list[str]) -> dict[str, str]:
    """Where each rule's round robin stopped: the member of its latest claim (a query a rule)."""
    found = {}
    for name in rule_names:
        member = Claim.objects.filter(rule_name=name).order_by("-claimed_at", "-id").values_list("member_id", flat=True)
        if (last := member.first()) is not None:
            found[name] = last
    return found
