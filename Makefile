# Two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export FLASK_APP := portal

.PHONY: run test e2e demo sso-demo saml-demo lint bench clean reliability audit audit-refresh pins privacy-audit

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Exactly the versions in constraints.txt (README, "Dependencies"). Reinstall only when
# pyproject.toml or the pins change, so a second run is fast.
PIP_INSTALL := $(BIN)/python -m pip install --quiet -c constraints.txt

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e '.[test]'
	touch $@

$(VENV)/.installed-e2e: pyproject.toml constraints.txt $(VENV)/.installed
	$(PIP_INSTALL) -e '.[test,e2e]'
	touch $@

# Known vulnerabilities in the pins: pip-audit online, else the local snapshot
# audit/advisories.json, else "not checked" (exit 0 with a warning).
audit: $(VENV)/.installed
	$(BIN)/python tools/audit_deps.py check

# Where a network is available: download the OSV advisories of every pinned package.
audit-refresh: $(VENV)/.installed
	$(BIN)/python tools/audit_deps.py refresh

# New pins: the newest versions pyproject.toml allows, frozen (commit constraints.txt).
pins: | $(BIN)/python
	rm -rf $(VENV)/pins
	$(PYTHON) -m venv $(VENV)/pins
	$(VENV)/pins/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/pins/bin/python -m pip install --quiet -e '.[test]'
	{ sed -n '1,2p' constraints.txt; $(VENV)/pins/bin/python -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(VENV)/pins
	@echo "constraints.txt refreshed: run make test and make audit, then commit it."

run: $(VENV)/.installed
	$(BIN)/flask db upgrade
	$(BIN)/flask plan import --if-empty
	@echo ""
	@echo "  The portal is at http://127.0.0.1:5000"
	@echo "  Create the first admin account with:"
	@echo "    $(BIN)/flask user create you@example.org --role admin"
	@echo ""
	@# The job worker (mail, campaigns, scheduled work) runs beside the web server and
	@# stops with it.
	$(BIN)/flask jobs worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/flask run --host 127.0.0.1 --port 5000

# A separate SQLite database full of realistic demo data (make demo DEMO_MEMBERS=50000).
DEMO_DB       := $(CURDIR)/instance/demo.db
DEMO_MEMBERS  ?= 2000
DEMO_SEED     ?= 1
DEMO_PASSWORD ?= $(shell $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(9))')
# Expand once: the password printed must be the one the demo accounts got.
DEMO_PASSWORD := $(DEMO_PASSWORD)
DEMO_ENV      := DATABASE_URL=sqlite:///$(DEMO_DB) SSO_SECRETS_DIR=$(CURDIR)/instance/sso-secrets

demo: $(VENV)/.installed
	mkdir -p instance
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm $(CURDIR)/instance/demo.jobs.db*
	$(DEMO_ENV) $(BIN)/flask db upgrade
	$(DEMO_ENV) $(BIN)/flask plan import --if-empty
	$(DEMO_ENV) $(BIN)/flask demo-data --members $(DEMO_MEMBERS) --seed $(DEMO_SEED) --password '$(DEMO_PASSWORD)'
	@echo ""
	@echo "  The demo portal is at http://127.0.0.1:5000 (database $(DEMO_DB))"
	@echo "  Demo logins, password '$(DEMO_PASSWORD)':"
	@echo "    member  demo-member@example.org"
	@echo "    leader  demo-leader@example.org   (Leadership reports: /reports/)"
	@echo "    admin   demo-admin@example.org"
	@echo ""
	$(DEMO_ENV) $(BIN)/flask jobs worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(DEMO_ENV) $(BIN)/flask run --host 127.0.0.1 --port 5000

# The local OpenID Connect provider (oidc-provider) for the tests and sso-demo.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# Single sign-on against `make demo` (run that first, in another terminal): starts a local
# OpenID Connect provider on 127.0.0.1:8899, sets it up as the provider "demo" in the demo
# database and keeps it running until Ctrl-C. Members sign in with login M-1001, password
# member-pass (M-1002 / lapsed-pass is a lapsed member the portal turns away).
SSO_DEMO_PORT ?= 8899
sso-demo: $(VENV)/.installed node_modules/.package-lock.json
	mkdir -p instance/sso-secrets
	@set -e; \
	$(BIN)/python -m tools.sso_idp --port $(SSO_DEMO_PORT) \
	  --redirect-uri http://127.0.0.1:5000/sso/demo/callback \
	  --post-logout-uri http://127.0.0.1:5000/sso/signed-out \
	  --secret-file instance/sso-secrets/demo-client-secret & idp=$$!; \
	trap 'kill $$idp 2>/dev/null || true' EXIT INT TERM; \
	for _ in $$(seq 1 40); do \
	  curl -fs http://127.0.0.1:$(SSO_DEMO_PORT)/.well-known/openid-configuration >/dev/null && break; \
	  sleep 0.5; \
	done; \
	$(DEMO_ENV) $(BIN)/flask sso set-provider --slug demo --name "ALA member records (demo)" \
	  --button-label "Sign in with your ALA membership" \
	  --discovery-url http://127.0.0.1:$(SSO_DEMO_PORT)/.well-known/openid-configuration \
	  --client-id portal --secret-ref file:demo-client-secret \
	  --scopes "openid email profile membership" --mapping-file tools/sso-idp/demo-mapping.json; \
	echo ""; \
	echo "  Open http://127.0.0.1:5000/auth/login and press 'Sign in with your ALA membership'."; \
	echo "  Ctrl-C stops the provider."; \
	wait $$idp

# The same with SAML 2.0: Debian's SimpleSAMLphp (apt-get install simplesamlphp php-cli
# php-xml php-mbstring xmlsec1, as .ci/run does) on 127.0.0.1:8898 as the provider
# "demo-saml" of the demo database. Same logins as sso-demo.
SAML_DEMO_PORT ?= 8898
saml-demo: $(VENV)/.installed
	@set -e; \
	$(BIN)/python -m tools.saml_idp --port $(SAML_DEMO_PORT) --slug demo-saml & idp=$$!; \
	trap 'kill $$idp 2>/dev/null || true' EXIT INT TERM; \
	for _ in $$(seq 1 40); do \
	  curl -fs http://127.0.0.1:$(SAML_DEMO_PORT)/saml2/idp/metadata.php >/dev/null && break; \
	  sleep 0.5; \
	done; \
	$(DEMO_ENV) $(BIN)/flask sso set-provider --protocol saml --slug demo-saml \
	  --name "ALA member records (SAML demo)" --button-label "Sign in with your ALA membership (SAML)" \
	  --discovery-url http://127.0.0.1:$(SAML_DEMO_PORT)/saml2/idp/metadata.php \
	  --mapping-file tools/sso-idp/demo-mapping.json; \
	echo ""; \
	echo "  Open http://127.0.0.1:5000/auth/login and press 'Sign in with your ALA membership (SAML)'."; \
	echo "  Ctrl-C stops the provider."; \
	wait $$idp

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/bandit -q -r portal
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# Benchmarks (bench/README.md): HTTP throughput against a bare Flask ceiling, leadership
# page times, export memory, demo-data time and campaign queueing and delivery, each printing its figures and targets
# (about 20 minutes at full scale on a 2-core machine). Installs wrk when it is missing.
# A quick check: make bench BENCH_MEMBERS=2000 BENCH_SECONDS=3
# PostgreSQL too: make bench BENCH_POSTGRES=postgresql://postgres@127.0.0.1:5432/postgres
# (each benchmark creates a scratch database on that server and drops it afterwards).
BENCH_MEMBERS  ?= 50000
BENCH_SECONDS  ?= 10
BENCH_POSTGRES ?=
BENCH_PG_ARG    = $(if $(BENCH_POSTGRES),--postgres '$(BENCH_POSTGRES)')

bench: $(VENV)/.installed
	command -v wrk || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	@status=0; \
	for b in "bench_http --seconds $(BENCH_SECONDS)" \
	         "bench_reports --members $(BENCH_MEMBERS)" \
	         "bench_exports --members $(BENCH_MEMBERS)" \
	         "bench_demo_data --members $(BENCH_MEMBERS)" \
	         "bench_campaign --members $(BENCH_MEMBERS)"; do \
	  echo ""; echo "== $(BIN)/python -m bench.$$b $(BENCH_PG_ARG)"; \
	  $(BIN)/python -m bench.$$b $(BENCH_PG_ARG) || status=1; \
	done; exit $$status

# Real-browser journeys with axe-core; needs Debian's chromium (/usr/bin/chromium).
e2e: $(VENV)/.installed-e2e
	$(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

# Load and faults under gunicorn on PostgreSQL, SQLite and Redis, plus sqlmap (~10 min).
# Needs PostgreSQL and Redis on 127.0.0.1 and may restart the PostgreSQL cluster.
$(VENV)/.installed-reliability: pyproject.toml constraints.txt $(VENV)/.installed
	$(PIP_INSTALL) -e '.[test,reliability]'
	touch $@

reliability: $(VENV)/.installed-reliability
	@status=0; $(BIN)/python -m pytest tests/reliability -p no:xdist -rA $(PYTEST_ARGS) || status=$$?; \
	  $(BIN)/python -m tests.reliability.cleanup || true; exit $$status

# The disclosure auditor over everything leaders could read on fresh demo data
# (issue "Disclosure control"): exits 1 naming any slice where a hidden cell can be
# narrowed below PRIVACY_MIN_N possible values.
AUDIT_DB      := $(CURDIR)/instance/privacy-audit.db
AUDIT_MEMBERS ?= 3000
privacy-audit: $(VENV)/.installed
	mkdir -p instance
	rm -f $(AUDIT_DB) $(AUDIT_DB)-wal $(AUDIT_DB)-shm
	DATABASE_URL=sqlite:///$(AUDIT_DB) $(BIN)/flask db upgrade
	DATABASE_URL=sqlite:///$(AUDIT_DB) $(BIN)/flask demo-data --members $(AUDIT_MEMBERS) --seed 1 --password '$(shell $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(12))')'
	DATABASE_URL=sqlite:///$(AUDIT_DB) $(BIN)/flask reports snapshots
	DATABASE_URL=sqlite:///$(AUDIT_DB) $(BIN)/flask privacy audit

lint: $(VENV)/.installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance/*.db*
