# The README's two commands: `make run` (install + dashboard on the demo shop) and `make test` (install + all tests).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
API_HOST ?= 127.0.0.1
API_PORT ?= 8000

.PHONY: run serve test install install-dev lint chromium i18n

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt

run: install
	$(BIN)/python -m core demo --if-empty
	$(BIN)/python -m streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

# The REST API over the same store (docs at http://127.0.0.1:8000/docs); create a key with `python -m core apikey create`.
serve: install
	$(BIN)/python -m core demo --if-empty
	$(BIN)/python -m core serve --host $(API_HOST) --port $(API_PORT)

# The browser test drives Debian's Chromium; install it when we can (root + apt), else that one test skips.
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "chromium not installed: the browser test will be skipped (sudo apt-get install chromium)"

# The store tests also run on a throwaway PostgreSQL (scripts/pg_test_cluster.sh, installs Debian's postgresql
# when root): started here, its URL handed to pytest, stopped afterwards whatever happens. If it cannot start,
# its reason reaches pytest and the PostgreSQL tests skip with it.
test: install-dev chromium
	$(BIN)/ruff check .
	@pg=$$(mktemp -d); trap 'scripts/pg_test_cluster.sh stop "$$pg/cluster"; rm -rf "$$pg"' EXIT INT TERM; \
	url=$$(scripts/pg_test_cluster.sh start "$$pg/cluster" 2>"$$pg/start.err") || url=""; \
	[ -n "$$url" ] || echo "PostgreSQL tests will skip: $$(cat "$$pg/start.err")"; \
	RECOLM_TEST_POSTGRES_URL="$$url" RECOLM_TEST_POSTGRES_UNAVAILABLE="$$(tr '\n' ' ' <"$$pg/start.err")" \
		$(BIN)/python -m pytest -q

lint: install-dev
	$(BIN)/ruff check .

# Message catalogue (core/i18n.py): extract the marked strings, merge them into each .po, compile the .mo files.
# New page code first: `python -m tests.i18n_audit` lists UI strings not wrapped with _(), `--wrap` wraps them.
# Translate the new (empty or fuzzy) entries in locales/*/LC_MESSAGES/recolm.po, then run it again.
i18n: install
	$(BIN)/pybabel extract -F babel.cfg -k Message -o locales/recolm.pot --sort-by-file --no-wrap --project RecoLM .
	$(BIN)/pybabel update -i locales/recolm.pot -d locales -D recolm --no-wrap --ignore-obsolete
	$(BIN)/pybabel compile -d locales -D recolm --statistics
