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

.PHONY: browser install manifest dagster-home demo dev test bench builder collector lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(MAKE) --no-print-directory browser
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

dev: manifest dagster-home
	$(BIN)/revloop-sandbox --people $(DEMO_PEOPLE) --events-dir $(EVENTS_DIR) -- \
		$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -m orchestration.definitions

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
	$(BIN)/python -m benchmarks.ml --profiles 1000000
	$(BIN)/python -m benchmarks.ml_shop --people 3000
	$(BIN)/python -m benchmarks.handoff --handoffs 10000
	$(BIN)/python -m benchmarks.whole_graph --people $(BENCH_PEOPLE) --events 20000000

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
