# The two commands of the README:
#   make run    sets everything up and starts the auth server, `tokensmith serve`, on
#               127.0.0.1:8000 with SQLite under ./tokensmith-data (ARGS="..." runs other commands)
#   make test   sets everything up and runs the whole test suite with the static checks
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?= serve

.PHONY: install run test lint check pytest bench bench-quick bench-server clean

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	touch $@

# What `make run` needs: the package with its server extra (the CLI included).
$(VENV)/.installed-server: pyproject.toml | $(VENV)/.created
	$(BIN)/python -m pip install --quiet -e '.[server]'
	touch $@

# What the tests, linters and benchmarks need: everything.
$(VENV)/.installed: pyproject.toml | $(VENV)/.created
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-server

install: $(VENV)/.installed

run: $(VENV)/.installed-server
	$(BIN)/tokensmith $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: install
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test: lint pytest

bench: install
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

bench-quick: install
	$(BIN)/python -m benchmarks --quick $(BENCH_ARGS)

bench-server: install
	$(BIN)/python -m benchmarks.server $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
