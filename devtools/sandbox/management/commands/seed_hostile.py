"""Plant hostile text (markup, script, template code, direction overrides, formulas) into the
embedded WapiKit sandbox's newest conversations, members, roles and tags. Run `seed_sandbox`
to get the ordinary demo data back."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from devtools.sandbox.hostile import HOSTILE, plant


class Command(BaseCommand):
    help = "Write the hostile-text corpus into the sandbox (a handful of conversations on the inbox's first page)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--conversations", type=int, default=8, metavar="N", help="how many conversations (default 8)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print what was planted as JSON")

    def handle(self, *args, conversations: int, as_json: bool = False, **options) -> None:
        if conversations < 1:
            raise CommandError("--conversations must be at least 1")
        try:
            planted = plant(HOSTILE, conversations=conversations)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if as_json:
            self.stdout.write(_dumps(planted))
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Planted {planted['strings']} hostile strings into {len(planted['conversations'])} conversations, "
                f"{planted['members']} members, {planted['roles']} roles and {planted['tags']} tags."
            )
        )


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=True)
