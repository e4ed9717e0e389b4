# The README's two commands are `make run` and `make test`; every other target is a helper they use.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat uv.lock pyproject.toml | sha256sum | cut -c1-12)
JARS_LOCK := docker/spark/jars.lock
JARS_DIR := $(VENV)/share/cofre/spark-jars
JARS_STAMP := $(JARS_DIR)/.installed-$(shell cat $(JARS_LOCK) | sha256sum | cut -c1-12)
export RUNTIME__DLTHUB_TELEMETRY := false
export DO_NOT_TRACK := 1

.PHONY: install jars run test test-fast lint format bench airflow docs dashboard clean

## install: create .venv and install the exact versions of uv.lock and the S3A jars of docker/spark/jars.lock
install: $(STAMP) $(JARS_STAMP)

$(STAMP): uv.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --frozen --python $(BIN)/python
	@rm -f $(VENV)/.installed-* && touch $@

## jars: hadoop-aws and its AWS SDK for Spark's s3a://, from Maven Central, checked against the pinned
## SHA-256s; downloaded once into ~/.cache/cofre/maven (a second install is offline)
jars: $(JARS_STAMP)

$(JARS_STAMP): $(JARS_LOCK) $(STAMP)
	$(BIN)/python docker/spark/fetch_jars.py $(JARS_LOCK) $(JARS_DIR)
	@rm -f $(JARS_DIR)/.installed-* && touch $@

## run: the whole pipeline on the embedded default (DuckDB + local lake under ./.cofre)
run: install
	$(BIN)/cofre run $(ARGS)

## test: the full test suite (PostgreSQL must listen on 127.0.0.1:5432; .ci/run starts it)
test: install
	$(BIN)/python -m pytest -n 2 --dist loadfile $(ARGS)

## test-fast: everything but the tests marked integration
test-fast: install
	$(BIN)/python -m pytest -n 2 -m "not integration" $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: generator/ingestion throughput and per-step pipeline times at scale 0.1 and 1 (temporary dirs)
bench: install
	$(BIN)/python benchmarks/ingestion.py
	$(BIN)/python benchmarks/pipeline.py

## airflow: Airflow standalone on the embedded default (UI on localhost:8080, AIRFLOW_HOME in the state dir)
airflow: install
	$(BIN)/cofre airflow standalone

## dashboard: the Streamlit dashboard on the published marts (http://127.0.0.1:8501; needs a `make run` first)
dashboard: install
	$(BIN)/cofre dashboard $(ARGS)

## docs: build and serve the dbt docs site
docs: install
	$(BIN)/cofre docs

clean:
	rm -rf .cofre test-artifacts .pytest_cache .ruff_cache .mypy_cache
