# Two commands a new user needs: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: run test bench venv deps chromium clean

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
	$(PY) manage.py rundemo

## Run the whole test suite (installs Debian's chromium for browser tests when it can).
test: deps chromium
	@scripts/ensure-services
	$(PY) -m pytest -n 2 --dist loadfile
	@scripts/test-on-postgres
	@scripts/test-server-profile

## Print the benchmark table (render times, upstream calls, bytes, overhead, a 60 s load run).
bench: deps
	@command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null || { echo "bench needs wrk (apt-get install wrk)"; exit 1; }
	@mkdir -p var
	DATABASE_URL=sqlite:///$(CURDIR)/var/bench.sqlite3 SECRET_KEY=bench-only-secret-key-not-for-production-use-0123456789 \
		$(PY) manage.py migrate -v0
	DATABASE_URL=sqlite:///$(CURDIR)/var/bench.sqlite3 SECRET_KEY=bench-only-secret-key-not-for-production-use-0123456789 \
		$(PY) manage.py bench $(BENCH_ARGS)

chromium:
	@scripts/ensure-chromium

clean:
	rm -rf $(VENV) var db.sqlite3* .pytest_cache
