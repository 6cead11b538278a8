# kvtui — run `make help` for the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: venv help demo emulator test test-fast test-app test-e2e check lint typecheck imports screenshots bench clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv and install kvtui with its dev tools

demo: $(STAMP) ## Run kvtui against the bundled emulator (no Azure account needed)
	$(BIN)/kvtui demo

emulator: $(STAMP) ## Run the bundled Key Vault emulator on its own
	$(BIN)/kvtui emulator --seed demo

# The tests write Python's bytecode caches (__pycache__, ignored by git) even where
# PYTHONDONTWRITEBYTECODE is set: every kvtui process a test starts, and each test
# worker's collection, would otherwise compile kvtui and rewrite the tests' asserts
# again (about 3 s a worker, 0.3 s a process).
TEST_ENV := PYTHONDONTWRITEBYTECODE=

test: $(STAMP) ## Run the whole test suite (offline, against the bundled emulator)
	$(TEST_ENV) $(BIN)/python -m pytest -n 2 -q

test-fast: $(STAMP) ## Only the pure tests: no emulator, no terminal (seconds)
	$(TEST_ENV) $(BIN)/python -m pytest -q -m pure

test-app: $(STAMP) ## The tests against the emulator: core, emulator, Pilot tests of the screens
	$(TEST_ENV) $(BIN)/python -m pytest -n 2 -q -m emulator

test-e2e: $(STAMP) ## The end-to-end layer: kvtui in a real terminal (tmux)
	$(TEST_ENV) $(BIN)/python -m pytest -n 2 -q -m tmux

lint: $(STAMP) ## ruff
	$(BIN)/ruff check kvtui tests
	$(BIN)/ruff format --check kvtui tests

typecheck: $(STAMP) ## mypy --strict
	$(BIN)/mypy

imports: $(STAMP) ## import-linter contracts (no Textual in the core or the emulator)
	$(BIN)/lint-imports

check: lint typecheck imports test ## Everything CI should be happy with

screenshots: $(STAMP) ## Write SVG screenshots of the app into screenshots/ (fixed demo data)
	$(BIN)/python -m kvtui.tools.screenshots screenshots

bench: $(STAMP) ## Run the benchmarks: the table alone, then kvtui from process spawn beside a bare SDK script (5k/10k/50k secrets, 20 ms latency; about 8 minutes)
	$(BIN)/python -m bench.bench_table
	$(BIN)/python -m bench.bench_app --sizes 5000,10000,50000 --latency-ms 20

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
