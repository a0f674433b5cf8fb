"""The reports' bench rows on PostgreSQL, for `make bench` and `make bench-reports`, whatever
database the calling process uses: the seeded history is kept in a template database
(`bench_reports_seed_<days>x<per day>_<version>`), built once by `manage.py bench_reports --seed`
and rebuilt only when its version changes (the seed's code, the reporting code that rolled it up,
the migrations); each run times a fresh copy of it (`CREATE DATABASE … TEMPLATE`, a second or
two) with `manage.py bench_reports --time` in a process of its own, as of the moment the history
was seeded, and drops the copy. With PostgreSQL unreachable the rows say so ("left out: …")."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from django.conf import settings
from django.db.migrations.loader import MigrationLoader
from psycopg import sql

SERVER = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
ROW = "reports page and CSV (PostgreSQL, {days} days of a 50-member team)"
# What the seeded history depends on: the seed, and the code that rolled it up.
SOURCES = ("devtools/benchmarks/reports.py", "dashboard/reporting")
_PREFIX = "bench_reports_seed_"


def version(days: int, per_day: int) -> str:
    """The template's name: its size, and a digest of what it was made from."""
    digest = hashlib.sha256()
    base = Path(settings.BASE_DIR)
    for source in SOURCES:
        path = base / source
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.relative_to(base).as_posix().encode() + b"\0" + file.read_bytes())
    leaves = sorted(MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes())
    digest.update(repr(leaves).encode())
    return f"{_PREFIX}{days}x{per_day}_{digest.hexdigest()[:12]}"


def _manage(database: str, *arguments: str) -> subprocess.CompletedProcess:
    """A `manage.py` command of the development settings on one database of the server."""
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "devtools.settings", "DEBUG": "true",
        "DATABASE_URL": f"{SERVER.replace('postgresql://', 'postgres://', 1)}/{database}",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-use-0123456789",
    }
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    run = subprocess.run([*manage, *arguments], env=env, capture_output=True, text=True, timeout=1800)
    if run.returncode != 0:
        raise RuntimeError(f"manage.py {arguments[0]} failed: {run.stderr.strip()[-600:]}")
    return run


def _admin() -> psycopg.Connection:
    return psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=3)


def _described(admin: psycopg.Connection, name: str) -> dict | None:
    """A complete template's description (its comment, written once it was seeded), else None."""
    found = admin.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
    ).fetchone()
    return json.loads(found[0]) if found and found[0] else None


def template(admin: psycopg.Connection, days: int, per_day: int, say: Callable[[str], None]) -> tuple[str, dict]:
    """The seeded template of this size and version, seeded now if missing (templates of the
    same size and an older version are dropped, as is one a stopped run left half made)."""
    name = version(days, per_day)
    if (described := _described(admin, name)) is not None:
        return name, described
    stale = admin.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{_PREFIX}{days}x{per_day}\\_%"]
    ).fetchall()
    for (old,) in stale:
        admin.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(sql.Identifier(old)))
        admin.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(old)))
    say(f"seeding the reports' history into {name} (once for this version)")
    started = time.perf_counter()
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    _manage(name, "migrate", "-v0")
    seeded = _manage(name, "bench_reports", "--seed", "--days", str(days), "--per-day", str(per_day))
    described = json.loads(seeded.stdout.strip().splitlines()[-1])
    described["seconds"] = round(time.perf_counter() - started, 1)
    admin.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(json.dumps(described))))
    admin.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE true").format(sql.Identifier(name)))
    return name, described


def rows(*, runs: int, days: int = 90, per_day: int = 230, copy: str = "",
         say: Callable[[str], None] = print) -> list[tuple[str, str]]:
    """The report rows, timed on a fresh copy of the seeded template (named `copy`, or after
    this process), or one row saying why they were left out."""
    try:
        admin = _admin()
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [(ROW.format(days=days), f"left out: PostgreSQL unreachable at {SERVER.rsplit('@', 1)[-1]} ({reason})")]
    copy = copy or f"bench_reports_{os.getpid()}"
    with admin:
        try:
            name, described = template(admin, days, per_day, say)
            started = time.perf_counter()
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(copy)))
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(copy), sql.Identifier(name)))
            say(f"copied {name} to {copy} in {time.perf_counter() - started:.1f} s")
            timed = _manage(copy, "bench_reports", "--time", "--runs", str(runs), "--as-of", described["seeded_at"],
                            "--facts", str(described["facts"]), "--rolled", f"{described['days']},{described['rolled_s']}")
        except RuntimeError as exc:
            return [(ROW.format(days=days), f"left out: {exc}")]
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(copy)))
    found = [tuple(row) for row in json.loads(timed.stdout.strip().splitlines()[-1])]
    found.append(("reports' seeded history (a template database, rebuilt when its version changes)",
                  f"{name} · seeded in {described['seconds']} s when made"))
    return found
