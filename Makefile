# Two commands: `make run` and `make test`, plus `make check` (the preflight, optional) and
# `make bench` (the benchmarks; `make bench QUICK=1` stops the history at 10^6 turns; the README's
# Performance section says how long each takes). Each builds the virtualenv in .venv when needed.
# `make help` lists them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help run check test lint bench

help:
	@echo "make run          install the pinned requirements into .venv and start the bot"
	@echo "make check        check the settings, database, API key and Discord token (python bot.py --check)"
	@echo "make test         lint (ruff, mypy) and run the whole test suite"
	@echo "make lint         only the linters"
	@echo "make bench        run the benchmarks (QUICK=1: a shorter history); see README, Performance"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(BIN)/python bot.py

check: $(VENV)/.runtime
	$(BIN)/python bot.py --check

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

bench: $(VENV)/.dev
	$(BIN)/python -m bench $(if $(QUICK),--quick)
