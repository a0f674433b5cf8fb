"""Who the organisation's members are, and what the signed-in user may do: the member list is
shared through the cache (`reads`), so roles stay current without a read per page."""

from __future__ import annotations

from dashboard.wapikit.client import MAX_PER_PAGE
from dashboard.wapikit.types import Member

from . import reads
from .powers import Powers


def members_list(*, fresh: bool = False) -> list[Member]:
    """Organisation members, shared through the cache (`reads`): a short lifetime keeps roles
    current without fetching them on every page. `fresh` reads them from WapiKit now."""
    return reads.members(fresh=fresh)


def cached_members_list() -> list[Member] | None:
    """The member list if the cache holds it, without asking WapiKit."""
    return reads.cached_members()


def members_read_cost() -> int:
    """The most requests one read of the member list sends: WapiKit pages it by member × role
    rows, 50 a page, and the reading stops at a short page (so a full last page costs one more).
    One when the list was never read."""
    found = reads.cached_members()
    if found is None:
        return 1
    rows = sum(max(1, len(member.roles)) for member in found)
    return rows // MAX_PER_PAGE + 1


def member_by_email(members: list[Member], email: str) -> Member | None:
    email = email.strip().lower()
    return next((m for m in members if m.email.strip().lower() == email), None)


def powers_for(user, members: list[Member] | None = None) -> Powers:
    return Powers(member=member_by_email(members_list() if members is None else members, user.email))


def members_by_id(members: list[Member]) -> dict[str, Member]:
    return {m.unique_id: m for m in members}
