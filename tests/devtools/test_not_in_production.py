"""The development tools (devtools/: the sandbox, the benchmarks, the live benchmark) stay out of
production: its settings install none of their apps and load none of their modules, and a
database migrated under them has none of their tables. The development settings, which
`make run`, `make test` and the benchmarks use, do install them."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

PRODUCTION = "dashboard.settings"
DEVELOPMENT = "devtools.settings"
# The apps of the development tools, by label: the sandbox keeps its label (its migrations).
TOOL_LABELS = {"sandbox", "benchmarks", "benchlive", "benchday"}

# Loads every app and the product's URLconf, as a production process does on its first request.
APPS_AND_MODULES = """
import json, sys
import django
django.setup()
from django.apps import apps
from django.urls import get_resolver
get_resolver().url_patterns
print(json.dumps({
    "apps": {app.label: app.name for app in apps.get_app_configs()},
    "modules": sorted(name for name in sys.modules if name == "devtools" or name.startswith("devtools.")),
}))
"""


def environment(settings_module: str, database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        DATABASE_URL=f"sqlite:///{database}",
        SECRET_KEY="not-in-production-test-secret-key-0123456789abcdef",
    )
    return env


def loaded_under(settings_module: str, tmp_path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", APPS_AND_MODULES], cwd=ROOT, env=environment(settings_module, tmp_path / "db.sqlite3"),
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def tables_after_migrating(settings_module: str, database: Path) -> set[str]:
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=environment(settings_module, database),
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with sqlite3.connect(database) as connection:
        return {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_production_settings_install_no_development_tool_and_load_none_of_its_modules(tmp_path):
    loaded = loaded_under(PRODUCTION, tmp_path)

    assert TOOL_LABELS.isdisjoint(loaded["apps"]), loaded["apps"]
    assert not [name for name in loaded["apps"].values() if name.startswith("devtools")]
    assert loaded["modules"] == []


def test_the_development_settings_install_every_tool(tmp_path):
    loaded = loaded_under(DEVELOPMENT, tmp_path)

    assert {label: loaded["apps"].get(label) for label in TOOL_LABELS} == {
        "sandbox": "devtools.sandbox",
        "benchmarks": "devtools.benchmarks",
        "benchlive": "devtools.benchlive",
        "benchday": "devtools.benchday",
    }


def test_a_database_migrated_under_production_settings_has_no_sandbox_table(tmp_path):
    production = tables_after_migrating(PRODUCTION, tmp_path / "production.sqlite3")

    assert "accounts_user" in production, "the product's own tables are there"
    assert not [name for name in production if name.startswith("sandbox_")]

    # The same migrate under the development settings makes them: the check above can see them.
    development = tables_after_migrating(DEVELOPMENT, tmp_path / "development.sqlite3")
    assert {"sandbox_conversation", "sandbox_member"} <= development
    assert development - production == {name for name in development if name.startswith("sandbox_")}
