"""Fill the embedded WapiKit sandbox with reproducible demo data (replacing what is there), as the
profile in SANDBOX_PROFILE would have stored it: "server" and "legacy" add Resolved conversations,
Template messages, an empty role and WapiKit's assignment history to the "spec" data."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from devtools.sandbox.models import Conversation, ConversationAssignment
from devtools.sandbox.seed import seed as seed_sandbox


class Command(BaseCommand):
    help = "Replace the sandbox's members, contacts, conversations and messages with deterministic demo data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--conversations", type=int, default=240, metavar="N", help="how many conversations (default 240)")
        parser.add_argument("--seed", type=int, default=7, metavar="S", help="random seed (default 7)")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the sandbox already has conversations seeded for this profile",
        )

    def handle(self, *args, conversations: int, seed: int, if_empty: bool, **options) -> None:
        if conversations < 0:
            raise CommandError("--conversations must be zero or more")
        profile = settings.SANDBOX_PROFILE
        if if_empty:
            existing = Conversation.objects.count()
            if existing and _seeded_for_server() == (profile != "spec"):
                self.stdout.write(f"Sandbox already has {existing} conversations; not seeding (--if-empty).")
                return
            if existing:
                self.stdout.write(f"Sandbox data was seeded for another profile; seeding it again for {profile}.")
        started = time.perf_counter()
        counts = seed_sandbox(conversations=conversations, rng_seed=seed, profile=profile)
        elapsed = time.perf_counter() - started
        resolved = f", {counts['resolved']} Resolved" if "resolved" in counts else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded sandbox (seed {seed}, profile {profile}) in {elapsed:.2f}s: {counts['members']} members, "
                f"{counts['roles']} roles, {counts['contacts']} contacts, {counts['conversations']} conversations "
                f"({counts['active']} Active, {counts['closed']} Closed, {counts['deleted']} Deleted{resolved}), "
                f"{counts['messages']} messages, {counts['tags']} tags, {counts['campaigns']} campaigns."
            )
        )


def _seeded_for_server() -> bool:
    """Only the server and legacy seed write WapiKit's assignment history."""
    return ConversationAssignment.objects.exists()
