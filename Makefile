# ledgersync — the two commands a newcomer needs: `make run` and `make test`.
# Each bootstraps its own virtual environment (.venv) on first use.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: run test test-pg test-sqlite lint lock audit bench browser-deps screenshots clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

## lock: regenerate constraints.txt (every dependency pinned) from a clean venv of pyproject.toml
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock && .venv-lock/bin/pip install -q --upgrade pip
	.venv-lock/bin/pip install -q -e '.[test]'
	{ sed -n '1,/^# Regenerate/p' constraints.txt; .venv-lock/bin/pip freeze --exclude-editable | grep -v '^ledgersync'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf .venv-lock

## audit: known vulnerabilities of the pinned dependencies (PyPI's advisory data; says what it could not audit)
audit: $(STAMP)
	$(PY) .ci/audit_deps.py

## run: the dashboard on http://127.0.0.1:8000 with the embedded Zoho Books sandbox, SQLite, scheduler
run: $(STAMP)
	$(VENV)/bin/ledgersync run

## browser-deps: Debian's Chromium for the Playwright tests (Playwright's own download does not work here)
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null) ; \
	  else echo "note: /usr/bin/chromium missing and not root: browser tests will be skipped"; fi; \
	fi

## lint: architecture contracts (layers, no sandbox in the product, no cycles), ruff, mypy
lint: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check ledgersync zohobooks_sandbox tests bench migrations
	$(VENV)/bin/mypy

## test: the whole suite (SQLite; Redis/Celery tests included when Redis is reachable)
test: $(STAMP) browser-deps lint
	$(PY) -m pytest -q $(PYTEST_ARGS)

## test-pg: the suite again against PostgreSQL (CI runs it after `make test`)
test-pg: $(STAMP)
	LEDGERSYNC_TEST_DATABASE_URL=$(PG_URL) $(PY) -m pytest -q -m "not browser" $(PYTEST_ARGS)

## screenshots: PNGs of the main pages at 1280 px and phone width in var/screenshots/ (for review)
screenshots: $(STAMP) browser-deps
	$(PY) -m pytest -q -m browser tests/browser/test_dashboard_browser.py -k screenshots
	@ls var/screenshots/*.png

## bench: the benchmarks with their default sizes (printed tables, last line JSON)
bench: $(STAMP)
	$(PY) bench/pull_calls.py --customers 500 --invoices 20000 --seed 7
	$(PY) bench/pull_calls.py --customers 50 --invoices 1000 --seed 1 --time-scale 60
	$(PY) bench/hourly_calls.py --invoices 10000 --hours 24 --changes-per-hour 100 --seed 1
	$(PY) bench/push_faults.py --faults 5000 --seed 7
	$(PY) bench/push_latency.py --payments 100
	$(PY) bench/push_latency.py --payments 100 --during-backfill
	$(PY) bench/mutation.py
	$(PY) bench/bad_data.py --invoices 2000 --poison 5 --seed 1

clean:
	rm -rf $(VENV) var .pytest_cache
