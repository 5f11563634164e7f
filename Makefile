# Tessera: `make demo` runs the whole suite with demo data; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: venv demo test lint bench-encode migrate clean

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

lint: venv
	$(BIN)/ruff check .

migrate: venv
	$(BIN)/python manage.py migrate

bench-encode: venv
	$(BIN)/python bench/encode.py

clean:
	rm -rf var/test var/broker
