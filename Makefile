# Crypto market-data warehouse. `make` prints this help; every target installs what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY          := .venv/bin/python
SUPERSET_PY := .venv-superset/bin/python
UV          := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
DBT         := .venv/bin/dbt
DBT_ARGS    := --project-dir dbt_project --profiles-dir dbt_project
SANDBOX_PORT ?= 8765
DEMO_SECONDS ?= 90
# The Chromium the browser tests, benchmarks and diagrams drive: an existing one if on PATH.
export CHROMIUM_PATH ?= $(or $(shell command -v chromium 2>/dev/null),$(shell command -v chromium-browser 2>/dev/null),/usr/bin/chromium)
export DWH_DUCKDB_PATH ?= $(CURDIR)/data/warehouse/build.duckdb
export DWH_SERVING_PATH ?= $(CURDIR)/data/warehouse/serving.duckdb
export DWH_LAKE_DIR ?= $(CURDIR)/data/lake
export DWH_SPARK_WAREHOUSE ?= $(CURDIR)/data/warehouse/spark
# Spark in local mode binds to loopback, not to the host's first interface.
export SPARK_LOCAL_IP ?= 127.0.0.1

.PHONY: help setup setup-browser demo test test-spark lint fmt typecheck sandbox extract export build build-spark java-check \
        docs-serve forecast refresh publish dashboard superset screenshots diagrams bench faults soak \
        clean

help: ## show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(UV):
	python3 -m pip install --quiet --user uv==0.13.8

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked
	@touch $@

.venv-superset/.synced: superset_config/env/pyproject.toml superset_config/env/uv.lock | $(UV)
	cd superset_config/env && UV_PROJECT_ENVIRONMENT=$(CURDIR)/.venv-superset $(UV) sync --locked
	@touch $@

setup: .venv/.synced .venv-superset/.synced ## create both environments (ETL at .venv, Superset at .venv-superset)

setup-browser: ## use $(CHROMIUM_PATH), or install Debian's chromium with apt-get (says so first)
	@if [ -x "$(CHROMIUM_PATH)" ]; then \
	  echo "browser tests use Chromium at $(CHROMIUM_PATH) (CHROMIUM_PATH=... to use another)"; \
	else \
	  echo "No Chromium at CHROMIUM_PATH=$(CHROMIUM_PATH); the browser tests and 'make diagrams' need one."; \
	  echo "Installing Debian's 'chromium' package: apt-get update && apt-get install -y chromium"; \
	  echo "(as root; to skip this, set CHROMIUM_PATH=/path/to/chromium)"; \
	  if [ "$$(id -u)" -ne 0 ]; then \
	    echo "not root: run the apt-get line above as root, or set CHROMIUM_PATH" >&2; exit 1; \
	  fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

demo: setup ## the whole pipeline on the local sandbox, then serve the dashboard (DEMO_SOURCE=live: real exchanges)
	$(PY) -m tools.demo --seconds $(DEMO_SECONDS) --sandbox-port $(SANDBOX_PORT)

test: setup setup-browser lint ## run every test (lint, types, unit, dbt, DuckDB/Spark parity, fault suite, browser)
	$(PY) -m pytest

test-spark: setup java-check ## the Spark tests: every cleansing/core/mart model built on DuckDB and on Spark, compared (needs Java); the comparison's own tests first
	$(PY) -m pytest tests/dbt/test_table_parity.py
	$(PY) -m pytest -m spark

lint: setup ## ruff, ruff format --check, mypy, sqlfluff
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/sqlfluff lint dbt_project/models dbt_project/tests

fmt: setup ## format Python and SQL in place
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .
	.venv/bin/sqlfluff fix dbt_project/models

typecheck: setup ## mypy --strict on the packages
	.venv/bin/mypy

sandbox: setup ## serve the fake exchanges on 127.0.0.1:$(SANDBOX_PORT)
	$(PY) -m extract sandbox --port $(SANDBOX_PORT)

extract: setup ## run the collector service (ARGS="--sandbox --duration-s 60" for the sandbox)
	$(PY) -m extract run $(ARGS)

export: setup ## export landing databases to the Parquet lake (ARGS="--hours 24 --incremental")
	$(PY) -m extract export $(or $(ARGS),--incremental)

build: setup ## dbt build the warehouse into $(DWH_DUCKDB_PATH) (ARGS="--full-refresh", ...)
	@mkdir -p "$(dir $(DWH_DUCKDB_PATH))"
	$(DBT) build $(DBT_ARGS) $(ARGS)

build-spark: setup java-check ## dbt build on Spark (local mode) into $(DWH_SPARK_WAREHOUSE) (docs/scaling.md)
	@mkdir -p "$(DWH_SPARK_WAREHOUSE)"
	$(DBT) build $(DBT_ARGS) --target spark $(ARGS)

java-check: ## Spark needs Java 17+: say so clearly when it is missing
	@command -v java >/dev/null 2>&1 || { \
	  echo "Spark needs Java 17 or later on PATH (Debian: apt-get install -y openjdk-17-jre-headless)" >&2; \
	  exit 1; }

docs-serve: setup ## dbt docs generate and serve on 127.0.0.1:8080 (DOCS_PORT=...)
	@mkdir -p "$(dir $(DWH_DUCKDB_PATH))"
	$(DBT) docs generate $(DBT_ARGS)
	$(DBT) docs serve $(DBT_ARGS) --host 127.0.0.1 --port $(or $(DOCS_PORT),8080) --no-browser

forecast: setup ## fit forecasts and write them to the warehouse
	$(PY) -m forecasting $(ARGS)

publish: setup ## atomically publish the build warehouse to the serving file Superset reads
	$(PY) -m tools.publish

refresh: setup ## one refresh cycle: export, dbt build, forecast when due, publish (ARGS="--forecast-every-minutes 30")
	$(PY) -m tools.refresh $(ARGS)

dashboard: setup ## configure Superset and import the dashboards from git
	$(PY) -m superset_config.manage setup

superset: dashboard ## serve Superset on 127.0.0.1:8088
	$(PY) -m superset_config.manage serve

screenshots: setup setup-browser ## docs/img/dashboard_*.png from the running Superset (after make demo; URL=...)
	$(PY) -m tools.screenshots --url $(or $(URL),http://127.0.0.1:8088)

diagrams: setup setup-browser ## render diagrams/**/*.mmd to SVG with mermaid-cli and the system Chromium
	$(PY) -m tools.diagrams

bench: setup setup-browser ## run every benchmark, write bench/results.{md,json}
	$(PY) -m bench

faults: setup ## the fault suite against the sandbox
	$(PY) -m pytest -m faults

soak: setup ## long run watching memory, tasks and connections (HOURS=n)
	$(PY) -m bench.soak --hours $(or $(HOURS),1)

clean: ## remove generated data and build output (keeps the environments)
	rm -rf data dbt_project/target dbt_project/logs test-output
