# Two commands a new user needs: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: run sandbox-stop sandbox-start test bench bench-day bench-routing bench-reports bench-live screenshots venv deps chromium clean

# The development settings: production's with the tools (devtools/: the sandbox, the benchmarks)
# installed. `make test` gets them through tests/settings.py; a deployment uses dashboard.settings.
DEV := DJANGO_SETTINGS_MODULE=devtools.settings

$(PY):
	@python=$$(scripts/find-python) || exit 1; \
	echo "Creating $(VENV) with $$python"; \
	"$$python" -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip

venv: $(PY)

$(STAMP): $(PY) requirements.txt requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

deps: $(STAMP)

## Start the embedded WapiKit sandbox and the dashboard (or only the dashboard when WAPIKIT_BASE_URL is set).
run: deps
	$(DEV) $(PY) manage.py rundemo

## Stop only the embedded WapiKit sandbox of a running `make run` (PORT= if not 8000), to watch an outage; then start it again.
sandbox-stop sandbox-start: deps
	@$(DEV) $(PY) manage.py sandbox $(@:sandbox-%=%)

## Run the whole test suite (installs Debian's chromium for browser tests when it can).
test: deps chromium
	@scripts/ensure-services
	$(PY) -m pytest -n 2 --dist loadfile
	@scripts/test-on-postgres
	@scripts/test-server-profile

## Print the benchmark table (render times, upstream calls, bytes, overhead, a 60 s load run, a short simulated day).
bench: deps
	@command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null || { echo "bench needs wrk (apt-get install wrk)"; exit 1; }
	@mkdir -p var
	$(DEV) DATABASE_URL=sqlite:///$(CURDIR)/var/bench.sqlite3 SECRET_KEY=bench-only-secret-key-not-for-production-use-0123456789 \
		$(PY) manage.py migrate -v0
	$(DEV) DEBUG=true DATABASE_URL=sqlite:///$(CURDIR)/var/bench.sqlite3 SECRET_KEY=bench-only-secret-key-not-for-production-use-0123456789 \
		$(PY) manage.py bench $(BENCH_ARGS)

## Print issue 11's figures (upstream calls per open inbox, event-to-card latency, streams' cost, 429s, bench before/after).
bench-live: deps chromium
	@command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null || { echo "bench-live needs wrk (apt-get install wrk)"; exit 1; }
	@mkdir -p var
	$(DEV) DATABASE_URL=sqlite:///$(CURDIR)/var/bench-live.sqlite3 SECRET_KEY=bench-only-secret-key-not-for-production-use-0123456789 \
		$(PY) manage.py migrate -v0
	$(DEV) DEBUG=true DATABASE_URL=sqlite:///$(CURDIR)/var/bench-live.sqlite3 SECRET_KEY=bench-only-secret-key-not-for-production-use-0123456789 \
		$(PY) manage.py bench_live --compare-bench $(BENCH_LIVE_ARGS)

## Print a simulated day's figures (waiting state right, background reads, 429s, alerts, a cold start's reads): 200 conversations,
## 2,000 inbound messages, 8 members, 8 hours in about 10 minutes; BENCH_DAY_ARGS for another day (manage.py bench_day --help).
BENCH_DAY_ARGS ?= --conversations 200 --messages 2000 --members 8 --hours 8
bench-day: deps
	@mkdir -p var
	$(DEV) DATABASE_URL=sqlite:///$(CURDIR)/var/bench-day.sqlite3 SECRET_KEY=bench-only-secret-key-not-for-production-use-0123456789 \
		$(PY) manage.py migrate -v0
	$(DEV) DEBUG=true DATABASE_URL=sqlite:///$(CURDIR)/var/bench-day.sqlite3 SECRET_KEY=bench-only-secret-key-not-for-production-use-0123456789 \
		$(PY) manage.py bench_day $(BENCH_DAY_ARGS)

## Print routing's simulated day (issue 21's figures): 300 new conversations over 8 hours, 8 members going online and
## offline, one without the permission, two who never answer, two task workers; BENCH_ROUTING_ARGS for another day.
bench-routing: deps
	@mkdir -p var
	$(DEV) DATABASE_URL=sqlite:///$(CURDIR)/var/bench-routing.sqlite3 SECRET_KEY=bench-only-secret-key-not-for-production-use-0123456789 \
		$(PY) manage.py migrate -v0
	$(DEV) DEBUG=true DATABASE_URL=sqlite:///$(CURDIR)/var/bench-routing.sqlite3 SECRET_KEY=bench-only-secret-key-not-for-production-use-0123456789 \
		$(PY) manage.py bench_routing_day $(BENCH_ROUTING_ARGS)

## Print the reports' figures (issue 22): the page for 30 and 90 days and its per-conversation CSV, on 90 days of a
## 50-member team (about 200,000 logged facts) on PostgreSQL (127.0.0.1:5432, user postgres): a copy (BENCH_REPORTS_DB) of
## a seeded template database, made the first time and again when the seed's or the reports' code or a migration changes.
BENCH_REPORTS_DB ?= bench_reports
bench-reports: deps
	@mkdir -p var
	$(DEV) DEBUG=true DATABASE_URL=sqlite:///$(CURDIR)/var/bench.sqlite3 SECRET_KEY=bench-only-secret-key-not-for-production-use-0123456789 \
		$(PY) manage.py bench_reports --copy $(BENCH_REPORTS_DB) $(BENCH_REPORTS_ARGS)

## PNGs of every page at 1440 and 390 px wide into var/screenshots/ (SCREENSHOTS_OUT= elsewhere), from a sandbox and dashboard of its own.
screenshots: deps chromium
	@mkdir -p var
	$(DEV) DATABASE_URL=sqlite:///$(CURDIR)/var/screenshots.sqlite3 SECRET_KEY=screenshots-only-secret-key-not-for-production-0123456789 \
		$(PY) manage.py migrate -v0
	$(DEV) DATABASE_URL=sqlite:///$(CURDIR)/var/screenshots.sqlite3 SECRET_KEY=screenshots-only-secret-key-not-for-production-0123456789 \
		$(PY) manage.py screenshots $(if $(SCREENSHOTS_OUT),--out $(SCREENSHOTS_OUT))

chromium:
	@scripts/ensure-chromium

clean:
	rm -rf $(VENV) var db.sqlite3* .pytest_cache
