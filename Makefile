# Customer Tiering: one way to set up, run and test.
#   make run    set up .venv, generate the demo company, grade it with every example rule
#               file, write the portfolio report (demo/report.html), then load the same
#               company into the web app (var/tiering.sqlite3) and serve it on
#               http://127.0.0.1:8000 with its demo accounts printed
#   make test   set up .venv, lint and type-check, run every test (what CI runs)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := demo
EXAMPLES := scorecard pareto rfm membership prospects clv collection
WEB    := $(BIN)/tiering-web
# The web app's secret key, made once (the app refuses to start without DEBUG and a key)
SECRET_KEY_FILE := $(or $(TIERING_SECRET_KEY_FILE),$(or $(TIERING_VAR_DIR),var)/secret_key)

.PHONY: install run demo web secret-key test lint format lock bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev,spark,postgres,web]"
	touch $@

run: demo
	@$(MAKE) --no-print-directory web

# The engine on files: the demo company graded by every example rule file, and the report.
demo: install
	$(BIN)/tiering demo-data $(DEMO) --customers 2000 --seed 1
	@for rules in $(EXAMPLES); do \
	  $(BIN)/tiering evaluate examples/$$rules.yaml --customers $(DEMO)/customers.xlsx \
	    --transactions $(DEMO)/交易记录.csv --payments $(DEMO)/回款记录.csv \
	    --out $(DEMO)/$$rules.xlsx || exit 1; \
	done
	$(BIN)/tiering report examples/pareto.yaml --customers $(DEMO)/customers.xlsx \
	  --transactions $(DEMO)/交易记录.csv --html $(DEMO)/report.html --xlsx $(DEMO)/report.xlsx

# The web app on SQLite (DATABASE_URL=postgres://... for PostgreSQL): schema, the demo
# company with two published quarters (once), then the server and its background worker
# (the demo's e-mails are written to var/mail/ instead of going to an SMTP server).
web: install secret-key
	$(WEB) migrate --verbosity 0
	$(WEB) load_demo --from $(DEMO)
	TIERING_EMAIL_FILE_PATH=var/mail $(WEB) serve 127.0.0.1:8000

# A random key in $(SECRET_KEY_FILE), readable by its owner only; kept once it exists.
secret-key: $(SECRET_KEY_FILE)

$(SECRET_KEY_FILE):
	@mkdir -p $(dir $@)
	@umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@.tmp
	@mv $@.tmp $@
	@echo "secret key written to $@"

# mypy type-checks the engine, src/tiering (configured in pyproject.toml).
lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# With TIERING_TEST_POSTGRES=postgres://... (set by .ci/run) the web tests run a second
# time against that PostgreSQL server.
test: lint
	$(BIN)/python -m pytest
	@if [ -n "$$TIERING_TEST_POSTGRES" ]; then \
	  echo "web tests on PostgreSQL"; \
	  DATABASE_URL="$$TIERING_TEST_POSTGRES" $(BIN)/python -m pytest tests/web -q; \
	fi

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# Re-pin every dependency after changing pyproject.toml.
lock: install
	$(BIN)/pip freeze --exclude-editable > requirements.lock

bench: install
	$(BIN)/python bench/evaluate.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .ruff_cache .mypy_cache
