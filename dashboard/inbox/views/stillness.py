"""An open inbox stays still: what a poll finds is told without moving a card. Cards on screen
that changed are redrawn where they are; conversations the page does not show, and cards whose
place in the order changed, are counted in a bar ("3 new · show") that redraws the list when
the user asks. The leading inboxes do the same: a card never slides away under the cursor."""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.http import QueryDict

from dashboard.conversations import lives
from dashboard.wapikit.types import Conversation

OFF_PAGE = "-"


@dataclass(frozen=True, slots=True)
class Screen:
    """What the page shows, as its poll says: every card's id top to bottom, the version of each
    it may redraw, those the user is busy with, those it was told moved to a later page, when
    the list was drawn and what its bar says."""

    order: list[str]
    versions: dict[str, str]
    busy: set[str]
    off_page: set[str]
    drawn_at: datetime | None
    bar_key: str

    @classmethod
    def parse(cls, get: QueryDict) -> Screen:
        # `v` lists every card in order: "<id>:<version>"; "<id>:" for a card not to redraw (the
        # user is on it, or it said it left the view), "<id>:-" for one that said it moved on.
        order, versions, off_page = [], {}, set()
        for token in get.get("v", "").split(","):
            conversation_id, _, version = token.partition(":")
            if conversation_id:
                order.append(conversation_id)
                if version == OFF_PAGE:
                    off_page.add(conversation_id)
                elif version:
                    versions[conversation_id] = version
        try:
            drawn_at = datetime.fromtimestamp(int(get.get("since", "")), UTC)
        except (ValueError, OverflowError, OSError):
            drawn_at = None
        busy = {i for i in get.get("busy", "").split(",") if i}
        return cls(order=order, versions=versions, busy=busy, off_page=off_page, drawn_at=drawn_at, bar_key=get.get("bar", ""))


def out_of_order(shown: list[str], fresh: list[str]) -> set[str]:
    """The fewest cards on screen that moved: those of `shown` (also in `fresh`) outside the
    longest run that kept the order `fresh` gives them."""
    rank = {conversation_id: i for i, conversation_id in enumerate(fresh)}
    both = [i for i in shown if i in rank]
    # Longest increasing subsequence of the fresh ranks, in patience-sorting time.
    tails: list[int] = []
    tail_at: list[int] = []
    previous = [-1] * len(both)
    for at, conversation_id in enumerate(both):
        position = bisect.bisect_left(tails, rank[conversation_id])
        if position == len(tails):
            tails.append(rank[conversation_id])
            tail_at.append(at)
        else:
            tails[position] = rank[conversation_id]
            tail_at[position] = at
        previous[at] = tail_at[position - 1] if position else -1
    kept = set()
    at = tail_at[-1] if tail_at else -1
    while at >= 0:
        kept.add(both[at])
        at = previous[at]
    return {i for i in both if i not in kept}


@dataclass(slots=True)
class Bar:
    """What the list would show if redrawn, counted: conversations with activity since it was
    drawn, others that came into this page (those above them left it), and cards that moved."""

    new: list[str] = field(default_factory=list)
    more: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.new) + len(self.more) + len(self.moved)

    @property
    def parts(self) -> list[str]:
        labels = ((self.new, "new"), (self.more, "more"), (self.moved, "moved"))
        return [f"{len(ids)} {label}" for ids, label in labels if ids]

    @property
    def key(self) -> str:
        """Says whether the bar changed since the page last drew it; "" for an empty bar."""
        if not self.count:
            return ""
        text = "|".join(",".join(sorted(ids)) for ids in (self.new, self.more, self.moved))
        return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def bar_of(screen: Screen, fresh: list[Conversation], *, pushed_down: set[str]) -> Bar:
    """The bar for a page showing `screen` when the view now reads `fresh`; `pushed_down` are
    cards on screen still in the view but no longer on this page."""
    shown = set(screen.order)
    bar = Bar()
    for conversation in fresh:
        if conversation.unique_id in shown:
            continue
        recent = screen.drawn_at is not None and lives.last_activity(conversation) > screen.drawn_at
        (bar.new if recent else bar.more).append(conversation.unique_id)
    moved = out_of_order(screen.order, [c.unique_id for c in fresh]) | pushed_down | screen.off_page
    bar.moved = [i for i in screen.order if i in moved]
    return bar
