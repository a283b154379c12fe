# The two commands in README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
# Two cores on the CI machine: one pytest worker each.
WORKERS ?= 2

.PHONY: install run demo serve test test-fast lint assets bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Set up, migrate, load the demo hospital (first time only) and serve on http://127.0.0.1:$(PORT)
run: install
	BOARDROUND_SECURE_COOKIES=false $(BIN)/boardround db upgrade
	BOARDROUND_SECURE_COOKIES=false $(BIN)/boardround demo --if-empty
	BOARDROUND_SECURE_COOKIES=false $(BIN)/boardround metrics refresh
	BOARDROUND_SECURE_COOKIES=false $(BIN)/boardround serve --port $(PORT)

## The whole suite: SQLite and PostgreSQL (and, with CI=true, browser tests that must not skip)
test: install
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup -q

test-fast: install
	$(BIN)/python -m pytest -q -x -m "not browser"

## Style, the import layers (.importlinter) and types
lint: install
	$(BIN)/ruff check app tests bench migrations scripts
	$(BIN)/ruff format --check app tests bench scripts
	$(BIN)/lint-imports --no-cache

assets:
	bash scripts/build_assets.sh

bench: install
	$(BIN)/python -m bench.board_latency --backend both

clean:
	rm -rf $(VENV) var/*.db var/*.db-wal var/*.db-shm .pytest_cache
