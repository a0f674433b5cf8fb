"""The top bar's links: only the pages the signed-in user may open, decided by the same rules
as those pages' views, from the powers the view read or the cached member list. Never the
reason a page fails nor an upstream call: without either, the bar offers only what needs no
WapiKit answer, unless the page found WapiKit down (then every link, each page deciding again)."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from dashboard.conversations import reads
from dashboard.conversations.audit import may_read_audit
from dashboard.conversations.members import powers_for
from dashboard.conversations.targets import may_change_targets
from dashboard.wapikit.types import Member


@dataclass(frozen=True, slots=True)
class Nav:
    member: Member | None = None
    workload: bool = False
    audit: bool = False
    status: bool = False
    targets: bool = False
    # Everyone has a report (their own row at least), but it reads the member list to say whose.
    reports: bool = False


def nav_for(request: HttpRequest) -> Nav:
    user = request.user
    if not user.is_authenticated:
        return Nav()
    # The view's own powers when it read them (answers.current_powers keeps them on the request).
    powers = getattr(request, "_powers", None)
    if powers is None:
        members = reads.cached_members()
        if members is None and getattr(request, "wapikit_down_since", None) is not None:
            # WapiKit is down and no copy says who this user is: the bar keeps every page's link,
            # and each page decides on its own again when opened.
            return Nav(workload=True, audit=True, status=True, targets=True, reports=True)
        if members is None:
            return Nav(audit=user.is_staff, status=user.is_staff, targets=user.is_staff)
        powers = powers_for(user, members)
    readable = may_read_audit(user, powers)
    return Nav(
        member=powers.member, workload=powers.can_assign, audit=readable, status=readable,
        targets=may_change_targets(user, powers), reports=True,
    )


def navigation(request: HttpRequest) -> dict[str, object]:
    """Context processor. Lazy: fragments, which draw no top bar, read nothing for it."""
    return {"nav": SimpleLazyObject(lambda: nav_for(request))}
