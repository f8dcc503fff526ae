# Kruzhok developer commands. `make demo` and `make test` are the two a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Two workers fit the 2-core machines; override with `make test PYTEST_WORKERS=0`.
PYTEST_WORKERS ?= 2

.PHONY: eval bench install demo serve test test-browser lint fmt migrations-check deploy-check screenshots messages clean

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

# Regenerate the catalogs of every app: locale/en (the English interface) and locale/ru (only the
# three Russian plural forms; other Russian entries stay empty, the msgid is already Russian).
# kruzhok/demo has no interface strings (its seeded data is content) and kruzhok/api has its own catalog.
messages: install
	$(PY) manage.py makemessages -l en -l ru --no-obsolete -i ".venv/*" -i "tests/*" -i "*/migrations/*" \
		-i "kruzhok/demo/*" -i "kruzhok/api/*" -i "var/*" -i "staticfiles/*"
	$(PY) manage.py compilemessages -l en -l ru -i .venv -i "kruzhok/*"

clean:
	rm -rf $(VENV) var staticfiles

# Early warning (docs/risk.md): backtest on OULAD (read in place from ../shared/data/oulad) and the
# nightly scoring speed on a 30,000-child demo network in its own database.
eval: install
	$(PY) manage.py risk_oulad_convert --out var/eval/oulad
	$(PY) manage.py risk_backtest --enrollments var/eval/oulad/enrollments.csv --events var/eval/oulad/events.csv \
		--as-of-days 28,56 --split temporal --json var/eval/oulad/backtest.json
	# The same without the third-party click aggregates: the reference LightGBM uses no clicks either.
	$(PY) manage.py risk_oulad_convert --no-derived-activity --out var/eval/oulad-no-activity
	$(PY) manage.py risk_backtest --enrollments var/eval/oulad-no-activity/enrollments.csv \
		--events var/eval/oulad-no-activity/events.csv --as-of-days 28,56 --split temporal \
		--json var/eval/oulad-no-activity/backtest.json
	# The demo network (`make demo` seeds it): how many days before leaving a child is flagged (weekly replay).
	$(PY) manage.py risk_leadtime --weeks 26
	# sentiment (docs/sentiment.md): retrain on SentiRuEval-2015, test on the 2016 etalons beside the baselines
	$(PY) manage.py sentiment_train --data ../shared/data --out var/eval/sentiment-model
	$(PY) manage.py sentiment_sentirueval --data ../shared/data --model var/eval/sentiment-model \
		--json var/eval/sentiment-2016.json

BENCH_DB ?= sqlite:///$(CURDIR)/var/bench.sqlite3
BENCH_PG_DB ?= postgres://postgres@127.0.0.1:5432/kruzhok_bench
bench: install
	# sentiment: one text on one core, trained model beside the lexicon baseline (no database)
	$(PY) manage.py sentiment_bench
	DATABASE_URL=$(BENCH_DB) $(PY) manage.py migrate --noinput
	DATABASE_URL=$(BENCH_DB) $(PY) manage.py seed_demo --students 30000 --if-empty
	DATABASE_URL=$(BENCH_DB) $(PY) manage.py risk_bench
	DATABASE_URL=$(BENCH_DB) $(PY) manage.py gamification_bench
	DATABASE_URL=$(BENCH_DB) $(PY) manage.py analytics_bench
	# analytics: the same dashboards on PostgreSQL (createdb -h 127.0.0.1 -U postgres kruzhok_bench first)
	DATABASE_URL=$(BENCH_PG_DB) $(PY) manage.py migrate --noinput
	DATABASE_URL=$(BENCH_PG_DB) $(PY) manage.py seed_demo --students 30000 --if-empty
	DATABASE_URL=$(BENCH_PG_DB) $(PY) manage.py analytics_bench
	DATABASE_URL=$(BENCH_PG_DB) $(PY) manage.py risk_bench
