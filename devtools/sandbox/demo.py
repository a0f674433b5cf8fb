"""Demo logins for the sandbox's members: one per kind of member."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

DEMO_LOGINS = (
    ("owner", "owner@example.com", "Owner: may do everything"),
    ("manager", "manager@example.com", "Support manager: close, reopen, reassign, unassign"),
    ("agent", "agent@example.com", "Support agent: may only view"),
    ("no role", "norole@example.com", "Member with no roles: sees an explanation, no data"),
)
PASSWORDS_FILE = Path(settings.BASE_DIR) / "var" / "demo-logins.txt"


def ensure_demo_logins() -> list[tuple[str, str, str, str]]:
    """Create the demo users once with random passwords, kept in var/ (git-ignored) so
    restarts print the same ones."""
    known: dict[str, str] = {}
    if PASSWORDS_FILE.exists():
        for line in PASSWORDS_FILE.read_text().splitlines():
            email, _, password = line.partition(" ")
            if password:
                known[email] = password
    User = get_user_model()
    rows = []
    for kind, email, powers in DEMO_LOGINS:
        password = known.get(email) or f"demo-{secrets.token_urlsafe(9)}"
        user = User.objects.filter(email=email).first() or User(email=email)
        if user.pk is None or not user.check_password(password):
            user.set_password(password)
            user.is_staff = kind == "owner"
            user.save()
        known[email] = password
        rows.append((kind, email, password, powers))
    PASSWORDS_FILE.parent.mkdir(exist_ok=True)
    PASSWORDS_FILE.write_text("".join(f"{email} {password}\n" for email, password in known.items()))
    PASSWORDS_FILE.chmod(0o600)
    return rows
