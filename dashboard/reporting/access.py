"""Who sees what of the reports: Owners and staff see the whole team, and so does a member whose
roles allow `Assign:Conversation` (they hand out the work); anyone else sees only their own
row: what happened while they held the conversations."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.conversations.audit import may_read_audit
from dashboard.conversations.powers import Powers


@dataclass(frozen=True, slots=True)
class Scope:
    team: bool
    member_id: str = ""  # the one member whose row is shown, when not the team

    @property
    def nothing(self) -> bool:
        return not self.team and not self.member_id

    def may_see_member(self, member_id: str) -> bool:
        return self.team or (bool(self.member_id) and member_id == self.member_id)


def scope_for(user, powers: Powers) -> Scope:
    if may_read_audit(user, powers) or powers.can_assign:
        return Scope(team=True)
    return Scope(team=False, member_id=powers.member.unique_id if powers.member is not None else "")
