# lienthong — every routine action is a target here.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install lint fmt bench clean demo

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/lienthong db upgrade
	$(BIN)/lienthong serve --host 127.0.0.1 --port 8080

test: $(STAMP)
	$(BIN)/pytest

# In a second terminal while `make run` serves: demo dossiers and simulated agencies (development only).
demo: $(STAMP)
	$(BIN)/lienthong demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Needs PostgreSQL for (b)-(g): LIENTHONG_BENCH_PG_URL (default .../lt_bench; its public schema is reset).
bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
