"""Give a sandbox member other permissions for one test: the seeded roles never pair a write
permission with no Get:Conversation, which is how a role that may act but not read looks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import MEMBER_EMAILS, ROOT

# Run inside the sandbox's own database (its process reads roles from it on every request).
_GRANT = """
import json, uuid
from devtools.sandbox.models import Member, Role
email, permissions = {email!r}, {permissions!r}
member = Member.objects.get(email=email)
before = [r.pk for r in member.roles.all()]
role = Role.objects.create(name="Test role " + uuid.uuid4().hex[:6], permissions=permissions)
member.roles.set([role])
print(json.dumps(before))
"""
_RESTORE = """
from devtools.sandbox.models import Member, Role
member = Member.objects.get(email={email!r})
member.roles.set({before!r})
Role.objects.filter(name__startswith="Test role ", members=None).delete()
"""


def _run(sandbox, script: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=sandbox.env,
        capture_output=True, text=True, check=True,
    )
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


@pytest.fixture
def member_permissions(wapikit):
    """member_permissions("norole", ["Update:Conversation"]): that member's only role grants
    exactly these, until the test ends."""
    granted: list[tuple[str, list[int]]] = []

    def grant(kind: str, permissions: list[str]) -> None:
        email = MEMBER_EMAILS.get(kind, kind)
        before = json.loads(_run(wapikit, _GRANT.format(email=email, permissions=permissions)))
        granted.append((email, before))

    yield grant
    for email, before in reversed(granted):
        _run(wapikit, _RESTORE.format(email=email, before=before))
