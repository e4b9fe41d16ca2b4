# Samlokal: `make run` and `make test` do all the set-up on a machine with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
LOCK := requirements.lock
LOCK_TOOLS := .venv-tools
CATALOGUES := $(wildcard office/translations/*/LC_MESSAGES/messages.po seminars/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)
# Every template folder but seminars' belongs to office.
OFFICE_TEMPLATES := $(filter-out templates/seminars,$(wildcard templates/*))

.PHONY: run test test-sqlite test-postgresql bench bench-quick translations extract-messages lock screenshots clean

run: $(INSTALLED) $(COMPILED)
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed-demo-if-empty
	@echo "Samlokal is starting on http://127.0.0.1:5000 (Ctrl-C stops it)"
	@echo "Mail: a send-mail worker runs alongside (instance/outbox/*.eml unless MAIL_SERVER is set)"
	@$(BIN)/flask --app wsgi send-mail --loop --interval 2 & mailer=$$!; \
	trap 'kill -TERM $$mailer 2>/dev/null; wait $$mailer 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port 5000

# The whole suite on SQLite and then on a throwaway PostgreSQL cluster (see .ci/test).
test: $(INSTALLED) $(COMPILED)
	bash .ci/test

bench: $(INSTALLED) $(COMPILED)
	bash .ci/bench

# The booking, feed and growth figures on smaller data, under two minutes, with the same summary.
bench-quick: $(INSTALLED) $(COMPILED)
	bash .ci/bench --quick

# Every package (runtime, test and the build backend) at the version and hashes of the lock
# file, so a fresh clone installs what the suite last passed with; then the project itself
# (--no-deps: pip check then fails when pyproject.toml asks for a package the lock lacks).
$(INSTALLED): $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check || { echo "requirements.lock lacks what pyproject.toml asks for: run make lock" >&2; exit 1; }
	touch $(INSTALLED)

# Re-resolve the lock after a change of pyproject.toml (the other pins stay). To move
# everything to the newest versions pyproject.toml allows: make lock LOCK_FLAGS=--upgrade
# (or LOCK_FLAGS="--upgrade-package sqlalchemy"), then `make test` before committing it.
lock: $(LOCK_TOOLS)/bin/pip-compile
	$(LOCK_TOOLS)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --all-build-deps \
		--extra test --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_FLAGS) \
		-o $(LOCK) pyproject.toml

$(LOCK_TOOLS)/bin/pip-compile:
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/python -m pip install --quiet "pip-tools ~= 7.4"

translations: $(COMPILED)

# The main pages at 1280×800 and 390×844, in Swedish and English, on the demo data:
# docs/screenshots/<language>-<size>-<page>.png (Playwright with Debian's Chromium).
screenshots: $(INSTALLED) $(COMPILED)
	$(BIN)/python -m tests.browser.screenshots --out docs/screenshots

%.mo: %.po $(INSTALLED)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ -l $(word 3,$(subst /, ,$<))

# Refresh the catalogues after changing strings; then translate the new entries in the .po files.
extract-messages: $(INSTALLED)
	$(BIN)/pybabel extract -F office/babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 --no-location -o office/translations/messages.pot wsgi.py office $(OFFICE_TEMPLATES)
	$(BIN)/pybabel update -N -i office/translations/messages.pot -d office/translations
	$(BIN)/pybabel extract -F office/babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 --no-location -o seminars/translations/messages.pot seminars templates/seminars
	$(BIN)/pybabel update -N -i seminars/translations/messages.pot -d seminars/translations
	$(BIN)/python office/translations/fill_english.py $(wildcard */translations/en/LC_MESSAGES/messages.po)

clean:
	rm -rf $(VENV) $(LOCK_TOOLS) $(COMPILED)

# The date-sensitive tests (marker `dates`) under a faked clock at six hard dates: .ci/test-dates.
.PHONY: test-dates
test-dates: $(INSTALLED) $(COMPILED)
	bash .ci/test-dates
