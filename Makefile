# Tessera: `make demo` runs the whole suite with demo data; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: venv demo test test-embedded lint bench-encode migrate clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	@touch $(STAMP)

demo: venv
	@eval "$$(./scripts/services_env.sh redis-demo)"; \
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py demo

test: venv
	@./scripts/ensure_chromium.sh
	@eval "$$(./scripts/services_env.sh)"; \
	echo "tests: DATABASE_URL=$${DATABASE_URL:-sqlite (default)} REDIS_URL=$${REDIS_URL:-unset (embedded mode)}"; \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The one-machine promise: SQLite, in-memory channel layer, filesystem broker, real worker.
test-embedded: venv
	env -u DATABASE_URL -u REDIS_URL REQUIRE_SERVICES=0 $(BIN)/python -m pytest tests/e2e tests/core \
		tests/chat/test_kb_index_on_worker.py tests/chat/test_consumer_messages.py $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

migrate: venv
	$(BIN)/python manage.py migrate

bench-encode: venv
	$(BIN)/python bench/encode.py

clean:
	rm -rf var/test var/broker
