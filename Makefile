# revloop: `make demo` runs everything end to end on the sandbox CRMs; `make test` runs the test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin

export WAREHOUSE_PATH ?= $(CURDIR)/data/warehouse.duckdb
export EVENTS_DIR ?= $(CURDIR)/data/events
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export RUNTIME__DLTHUB_TELEMETRY := false
export PATH := $(BIN):$(PATH)

DEMO_PEOPLE ?= 2000
PYTEST_WORKERS ?= 2
BENCH_EVENTS ?= 2000000
BENCH_PEOPLE ?= 100000

.PHONY: browser install manifest dagster-home demo dev docs test bench builder collector lint clean

install: $(VENV)/.installed

# uv (from PyPI) resolves and downloads in parallel: about 3x faster than pip on a cold cache, faster still
# with its cache (~/.cache/uv) warm. It compiles bytecode only when asked: asked here, as pip does, since
# every dbt and Dagster process the tests start would otherwise compile its imports anew. The browser is
# installed meanwhile (apt waits on the network and dpkg, uv mostly on compiling): the recipe fails if
# either does.
$(VENV)/.installed: pyproject.toml
	$(MAKE) --no-print-directory browser & browser=$$!; \
	$(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet 'uv>=0.9,<1' && \
	$(BIN)/uv pip install --quiet --system-certs --compile-bytecode --python $(BIN)/python -e '.[dev]'; \
	installed=$$?; wait $$browser && exit $$installed
	touch $@

# Debian's Chromium for the browser tests (Playwright drives it; browser downloads are not used).
browser:
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium is missing: 'sudo apt-get install chromium' enables the browser tests"; fi

# The dbt manifest must exist before `dagster asset materialize` loads the definitions.
manifest: install
	$(BIN)/python -m revloop.dbt parse --quiet

dagster-home:
	mkdir -p $(DAGSTER_HOME)
	cp config/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

demo: manifest dagster-home
	$(BIN)/revloop-sandbox --people $(DEMO_PEOPLE) --events-dir $(EVENTS_DIR) -- \
		$(BIN)/python -m orchestration.demo
	@echo "Warehouse left at $(WAREHOUSE_PATH): $(BIN)/python -c \"import duckdb; duckdb.connect('$(WAREHOUSE_PATH)', read_only=True).sql('show all tables').show()\""

# The sandbox CRMs carry on from where the last `make demo`/`make dev` left them (their records are saved in
# the warehouse's state folder). RESET=1 starts over: the warehouse, its state folder (dlt cursors, models,
# the saved sandbox) and the event files are removed, and a new sandbox world is generated.
# REVLOOP_SCHEDULES=off starts the schedules stopped (see README, Schedules, sensors and alerts).
WAREHOUSE_STATE_DIR = $(dir $(WAREHOUSE_PATH)).$(basename $(notdir $(WAREHOUSE_PATH))).state

dev: manifest dagster-home
	$(if $(RESET),rm -rf '$(WAREHOUSE_PATH)' '$(WAREHOUSE_PATH).wal' '$(WAREHOUSE_PATH).tmp' \
		'$(WAREHOUSE_STATE_DIR)' '$(EVENTS_DIR)')
	$(BIN)/revloop-sandbox --people $(DEMO_PEOPLE) --events-dir $(EVENTS_DIR) $(if $(RESET),--reset) -- \
		$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -m orchestration.definitions

# dbt's documentation of the warehouse of `make demo` (every model and column, the Python-built tables as
# sources) on http://127.0.0.1:8080; generated into dbt_project/target/docs, so the manifest Dagster loads
# from dbt_project/target is left alone; static_index.html there is the same site as one file (--static).
docs: install
	$(BIN)/python -m revloop.dbt docs generate --static
	$(BIN)/python -m revloop.dbt docs serve --host 127.0.0.1 --port 8080 --no-browser

# Two workers, each test file on one of them (module fixtures are built once), in the order of collection
# (tests/conftest.py starts the longest files first); PYTEST_WORKERS=0 runs serially.
test: manifest
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# Speed and memory targets live here, not in the tests; figures are recorded in docs/benchmarks.md.
bench: manifest
	$(BIN)/python -m benchmarks.ingestion --events $(BENCH_EVENTS) --people $(BENCH_PEOPLE)
	$(BIN)/python -m benchmarks.crm --people $(BENCH_PEOPLE)
	$(BIN)/python -m benchmarks.sync --records 100000
	$(BIN)/python -m benchmarks.identity --records 1000000
	$(BIN)/python -m benchmarks.identity_traps --people 2000
	$(BIN)/python -m benchmarks.ml --profiles 1000000
	$(BIN)/python -m benchmarks.ml_shop --people 3000
	$(BIN)/python -m benchmarks.handoff --handoffs 10000
	$(BIN)/python -m benchmarks.whole_graph --people $(BENCH_PEOPLE) --events 20000000 --hourly --one-change

# The segment builder page on http://127.0.0.1:8765 over the warehouse of `make demo`: open the URL it prints
# (it carries the token of this start; see README, Segments).
builder: install
	$(BIN)/python -m segments.builder --port 8765

# The event collector and profile API on http://127.0.0.1:8088 over the EVENTS_DIR and warehouse of `make demo`
# (write keys and the API token from REVLOOP_WRITE_KEY_* and REVLOOP_PROFILE_API_TOKEN; see README).
collector: install
	$(BIN)/python -m collector --host 127.0.0.1 --port 8088

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf data dbt_project/target dbt_project/logs
