"""Who changed a conversation since the user saw it, as a conflict says it (issue 20: the user's
own other tab read "by Lucas Moreau 0 minutes ago")."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from dashboard.conversations.models import AuditEntry
from dashboard.inbox.views.actions import changed_by

ME = SimpleNamespace(pk=7)


def entry(*, user_id: int | None, via: str = AuditEntry.Via.CARD, minutes: float = 0) -> AuditEntry:
    at = timezone.now() - timedelta(minutes=minutes)
    return AuditEntry(
        user_id=user_id, user_email="manager@example.com", member_name="Lucas Moreau <b>", via=via,
        started_at=at, completed_at=at,
    )


@pytest.mark.parametrize(
    ("via", "said"),
    [
        (AuditEntry.Via.CARD, " by you, in another tab or window, just now"),
        (AuditEntry.Via.PAGE, " by you, in another tab or window, just now"),
        (AuditEntry.Via.BULK, " by you, in a bulk action, just now"),
        (AuditEntry.Via.API, " by you, through the API, just now"),
    ],
)
def test_the_user_s_own_change_is_theirs(via, said):
    assert changed_by(entry(user_id=ME.pk, via=via), ME) == said


def test_someone_else_s_change_names_them_escaped_with_sensible_time():
    assert changed_by(entry(user_id=8), ME) == " by <bdi>Lucas Moreau &lt;b&gt;</bdi> just now"
    assert changed_by(entry(user_id=8, minutes=5.5), ME) == " by <bdi>Lucas Moreau &lt;b&gt;</bdi> 5\xa0minutes ago"
    assert changed_by(entry(user_id=None, minutes=0.2), ME).endswith(" just now")


def test_nothing_is_said_when_the_audit_log_does_not_know():
    assert changed_by(None, ME) == ""
