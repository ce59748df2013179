# Two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export FLASK_APP := portal

.PHONY: run test e2e demo lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when pyproject.toml changes, so a second run is fast.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-e2e: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,e2e]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/flask db upgrade
	$(BIN)/flask plan import --if-empty
	@echo ""
	@echo "  The portal is at http://127.0.0.1:5000"
	@echo "  Create the first admin account with:"
	@echo "    $(BIN)/flask user create you@example.org --role admin"
	@echo ""
	$(BIN)/flask run --host 127.0.0.1 --port 5000

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/bandit -q -r portal
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# Real-browser journeys with axe-core; needs Debian's chromium (/usr/bin/chromium).
e2e: $(VENV)/.installed-e2e
	$(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance/*.db*
