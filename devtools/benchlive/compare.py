"""`make bench-live --compare-bench`'s rows: `manage.py bench`'s render medians and load run on
this code and on the code before issue 11, side by side. When `manage.py bench` fails on either,
its failure is a row and the same figures are measured as it measures them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from devtools.benchlive import deployment
from devtools.benchmarks import benchkit
from devtools.benchmarks.served import load_run

BENCH_RATIO_TARGET = 0.9


def compare_bench(directory: Path, code: Path, commit: str, options: dict) -> list[tuple[str, str]]:
    args = ["bench", "--runs", str(options["bench_runs"]), "--load-seconds", str(options["bench_load_seconds"]),
            "--faults", "none", "--timed-bulk", "0"]
    tables = {}
    failures = []
    for name, cwd in (("now", Path(settings.BASE_DIR)), ("before", code)):
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{directory / f'bench-{name}.sqlite3'}"}
        env["DJANGO_SETTINGS_MODULE"], _ = deployment.tools_of(cwd)
        env.pop("REDIS_URL", None)
        manage = [sys.executable, str(cwd / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=cwd, check=True)
        run = subprocess.run([*manage, *args], env=env, cwd=cwd, capture_output=True, text=True)
        if run.returncode != 0:
            failures.append(f"{name}: {(run.stderr.strip().splitlines() or ['?'])[-1]}")
        tables[name] = dict(re.findall(r"^(\S.*?)\s{2,}(\S.*)$", run.stdout, re.M))
    rows = []
    how = "manage.py bench"
    if failures:
        # Its render medians and its load run, measured as it measures them.
        rows.append((f"manage.py {' '.join(args)}", "failed, " + "; ".join(failures)))
        tables = as_bench_does(directory, code, options)
        how = "measure_render + wrk as manage.py bench runs them"
    now, before = tables["now"], tables["before"]
    for name, value in now.items():
        if not name.startswith("server time, ") or name not in before:
            continue
        ours, theirs = _number(value, "ms median"), _number(before[name], "ms median")
        ratio = theirs / ours
        rows.append((
            f"{name}, now vs {commit} ({how})",
            f"{ours:.2f} vs {theirs:.2f} ms · ratio {ratio:.2f}, target ≥ {BENCH_RATIO_TARGET}"
            f" (no worse: within 10%){benchkit.met(ratio >= BENCH_RATIO_TARGET)}",
        ))
    load_now = next(((k, v) for k, v in now.items() if k.startswith("load: inbox")), None)
    load_before = next(((k, v) for k, v in before.items() if k.startswith("load: inbox")), None)
    if load_now and load_before:
        ours, theirs = _number(load_now[1], "req/s"), _number(load_before[1], "req/s")
        ratio = ours / theirs
        rows.append((
            f"load run, {options['bench_load_seconds']} s, now vs {commit} (both gthread pages), req/s",
            f"{ours:.0f} vs {theirs:.0f} · ratio {ratio:.2f} · p50 {_after(load_now[1], 'p50')} vs"
            f" {_after(load_before[1], 'p50')}, target ≥ {BENCH_RATIO_TARGET}{benchkit.met(ratio >= BENCH_RATIO_TARGET)}",
        ))
    return rows


def as_bench_does(directory: Path, code: Path, options: dict) -> dict[str, dict[str, str]]:
    """`manage.py bench`'s render medians (`measure_render`, owner and manager) and its load
    run (gunicorn with production settings, 2 workers, the sandbox answering in 50 ms, wrk at
    32 connections) for this code and the code in `code`, in its table's words."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise CommandError("wrk is needed for the load run: apt-get install wrk (make bench-live does this)")
    seconds, runs = options["bench_load_seconds"], options["bench_runs"]
    tables: dict[str, dict[str, str]] = {}
    here = directory / "bench"
    here.mkdir()
    databases = {name: {"DATABASE_URL": f"sqlite:///{here / f'{name}.sqlite3'}"} for name in ("now", "before")}
    plain = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    for name, cwd in (("now", Path(settings.BASE_DIR)), ("before", code)):
        settings_module, render_module = deployment.tools_of(cwd)
        env = {**plain, **databases[name], "DJANGO_SETTINGS_MODULE": settings_module}
        manage = [sys.executable, str(cwd / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=cwd, check=True)
        snippet = RENDER_SNIPPET.format(module=render_module, runs=runs)
        out = subprocess.run([*manage, "shell", "-c", snippet], env=env, cwd=cwd,
                             check=True, capture_output=True, text=True).stdout
        tables[name] = {k: f"{v:.2f} ms median" for k, v in json.loads(out.strip().splitlines()[-1])}
    with benchkit.sandbox_process(here, deployment.API_KEY) as (base_url, _):
        benchkit.SandboxApi(base_url, deployment.API_KEY).control(latency_ms=50)
        env = deployment.dashboard_env(base_url=base_url, api_key=deployment.API_KEY, redis_url=None)
        now_env = {**env, **databases["now"]}
        key = subprocess.run([sys.executable, str(deployment.MANAGE), "shell", "-c",
                              deployment.SESSION_SNIPPET.format(email=deployment.EMAIL)],
                             env=now_env, check=True, capture_output=True, text=True).stdout.split()[-1]
        with benchkit.gunicorn_processes((now_env, here / "now.log", 2)) as (url,):
            cookie = f"Cookie: {settings.SESSION_COOKIE_NAME}={key}"
            (label, value), _ = load_run(wrk, f"{url}/", cookie, seconds, 32, "load: inbox")
            tables["now"][label] = value
        with deployment.before_dashboard(code, here, env, email=deployment.EMAIL) as old:
            cookie = f"Cookie: {settings.SESSION_COOKIE_NAME}={old.session_key}"
            (label, value), _ = load_run(wrk, f"{old.url}/", cookie, seconds, 32, "load: inbox")
            tables["before"][label] = value
    return tables


RENDER_SNIPPET = """
import json
from {module} import measure_render
print(json.dumps([[f"server time, {{n}} ({{k}})", m] for k in ("owner", "manager") for n, m, _ in measure_render({runs}, kind=k)]))
"""


def _number(value: str, unit: str) -> float:
    return float(re.search(rf"([\d.]+) {re.escape(unit)}", value).group(1))


def _after(value: str, word: str) -> str:
    found = re.search(rf"{word} (\S+)", value)
    return found.group(1) if found else "?"
