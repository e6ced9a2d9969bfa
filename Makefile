# Practice Desk — `make run` serves the app with demo data; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/practicedesk
DEMO_SIZE ?= small
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: install run test test-sqlite test-postgres lint format demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: install
	$(BIN)/practicedesk setup --demo-size $(DEMO_SIZE)
	$(BIN)/practicedesk serve

demo: install
	$(BIN)/practicedesk setup --demo-size $(DEMO_SIZE)

# The SQLite and PostgreSQL passes run side by side (one per core); each one's output is
# printed whole when it ends.
test: install lint
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

test-sqlite: install
	@echo "== tests on SQLite =="
	$(BIN)/pytest --create-db $(PYTEST_ARGS)

test-postgres: install
	@if $(BIN)/python -c "import psycopg; psycopg.connect('postgresql://postgres@127.0.0.1:5432/postgres', connect_timeout=3).close()" 2>/dev/null; then \
		echo "== tests on PostgreSQL (127.0.0.1:5432) =="; \
		DATABASE_URL=$(PG_URL) $(BIN)/pytest --create-db $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL does not answer on 127.0.0.1:5432 and CI=true requires the PostgreSQL pass."; exit 1; \
	else \
		echo "NOTICE: PostgreSQL does not answer on 127.0.0.1:5432; the PostgreSQL pass is skipped."; \
	fi

lint: install
	@mkdir -p var
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/practicedesk check --fail-level WARNING
	PRACTICEDESK_PRODUCTION=true SECRET_KEY=lint-only-$$(date +%s%N)-not-a-real-key-0123456789abcdefghij \
		$(BIN)/practicedesk check --deploy --fail-level WARNING
	$(BIN)/practicedesk makemigrations --check --dry-run
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var/*.sqlite3* var/static
