# Kruzhok developer commands. `make demo` and `make test` are the two a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Two workers fit the 2-core machines; override with `make test PYTEST_WORKERS=0`.
PYTEST_WORKERS ?= 2

.PHONY: install demo serve test test-browser lint fmt migrations-check deploy-check screenshots messages clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py demo_logins
	$(PY) manage.py runserver 127.0.0.1:8000

serve: install
	$(PY) manage.py runserver 127.0.0.1:8000

test: install
	$(PY) -m pytest -n $(PYTEST_WORKERS) -m "not browser"

test-browser: install
	$(PY) -m pytest -m browser -p no:xdist

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run

# Production settings must pass Django's deployment checklist with no warnings.
deploy-check: install
	KRUZHOK_ENV=production SECRET_KEY="ci-$$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')" \
	ALLOWED_HOSTS=kruzhok.example REDIS_URL=redis://127.0.0.1:6379/0 \
	DATABASE_URL=$${DATABASE_URL:-sqlite:///var/deploy-check.sqlite3} \
	$(PY) manage.py check --deploy --fail-level WARNING

# Screenshots of the main pages at phone and desktop widths, into screenshots/.
screenshots: install
	KRUZHOK_SCREENSHOTS=screenshots $(PY) -m pytest -m browser -p no:xdist

messages:
	cd kruzhok && ../$(PY) ../manage.py makemessages -l en --no-obsolete
	$(PY) manage.py compilemessages

clean:
	rm -rf $(VENV) var staticfiles
