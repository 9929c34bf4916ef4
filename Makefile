# The two commands of the README: `make run` and `make test`. Everything else serves them.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test faults services lint typecheck bench worker beat web static migrate clean

# The billing engine compiled with mypyc where a C compiler is present (pure Python
# otherwise): rebuilt whenever one of its sources or the venv changes. A stale build never
# runs: billing.rules checks the digest of the sources the build wrote (billing/rules/loader.py).
ENGINE_SOURCES := $(filter-out billing/rules/__init__.py billing/rules/loader.py,$(wildcard billing/rules/*.py))
ENGINE_BUILD := billing/rules/_compiled/SOURCES.sha256

install: $(STAMP) $(ENGINE_BUILD)

$(ENGINE_BUILD): $(STAMP) $(ENGINE_SOURCES) billing/rules/loader.py scripts/build_engine.py
	$(PY) scripts/build_engine.py

# uv fills the venv about ten times faster than pip; pip is the fallback.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv || true
	if [ -x $(VENV)/bin/uv ]; then \
	  $(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[dev]'; \
	else \
	  $(VENV)/bin/pip install --quiet -e '.[dev]'; \
	fi
	touch $(STAMP)

# Migrations connect as the owner of the tables (DATABASE_OWNER_URL, when set: README,
# Production); the application itself never does.
migrate: install
	DATABASE_ROLE=owner $(PY) manage.py migrate --noinput

# First run on the embedded defaults (SQLite, filesystem broker): demo data, web + worker.
run: migrate
	$(PY) manage.py seed_demo
	scripts/run_dev.sh

# Installs what the suite needs, starts PostgreSQL and Redis if they are not answering,
# then runs every test against them (browser tests drive Debian's Chromium).
test: install services
	$(PY) -m pytest
	$(MAKE) faults

# Fault tests: a private Redis they stop and start, and a PostgreSQL restart, so they run
# alone, after the suite.
faults: install services
	TEST_CELERY_BROKER_URL=redis://127.0.0.1:6391/0 TEST_CELERY_RESULT_BACKEND=redis://127.0.0.1:6391/0 \
	  $(PY) -m pytest tests/faults -m faults

services:
	scripts/ensure_services.sh

# The product at MSO scale, measured (docs/benchmarks.md); size from BENCH_PATIENTS and
# BENCH_ENTRIES (default 100000 and 2000000). Builds and drops its own database.
bench: install services
	$(PY) bench/run.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy --strict billing/rules ccm/services.py patients/services.py timelog/services.py billing/services.py patients/selectors.py timelog/selectors.py billing/selectors.py timelog/timer/services.py timelog/timer/selectors.py timelog/timer/span.py \
	  patients/imports/services.py billing/claims/services.py billing/claims/archives.py billing/claims/claims.py billing/claims/readiness.py

# The static files, hashed and compressed, where WhiteNoise serves them from (STATIC_ROOT):
# production pages name them through the manifest this writes.
static: install
	$(PY) manage.py collectstatic --noinput --verbosity 0

web: install static
	$(VENV)/bin/gunicorn ccm.wsgi:application --bind $${WEB_BIND:-0.0.0.0:8000} --workers $${WEB_CONCURRENCY:-2}

worker: install
	$(VENV)/bin/celery -A ccm worker --loglevel INFO --concurrency $${WORKER_CONCURRENCY:-2}

beat: install
	$(VENV)/bin/celery -A ccm beat --loglevel INFO --schedule $${BEAT_SCHEDULE_FILE:-.run/celerybeat-schedule}

clean:
	rm -rf $(VENV) .run staticfiles db.sqlite3 .pytest_cache artifacts billing/rules/_compiled build
