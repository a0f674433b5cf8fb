# Two commands a new user needs: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: run test venv deps chromium clean

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
	$(PY) -m pytest

chromium:
	@scripts/ensure-chromium

clean:
	rm -rf $(VENV) var db.sqlite3* .pytest_cache
