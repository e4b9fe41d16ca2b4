# Samlokal: `make run` and `make test` do all the set-up on a machine with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
CATALOGUES := $(wildcard office/translations/*/LC_MESSAGES/messages.po seminars/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)
# Every template folder but seminars' belongs to office.
OFFICE_TEMPLATES := $(filter-out templates/seminars,$(wildcard templates/*))

.PHONY: run test test-sqlite test-postgresql bench translations extract-messages screenshots clean

run: $(INSTALLED) $(COMPILED)
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed-demo-if-empty
	@echo "Samlokal is starting on http://127.0.0.1:5000 (Ctrl-C stops it)"
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port 5000

# The whole suite on SQLite and then on a throwaway PostgreSQL cluster (see .ci/test).
test: $(INSTALLED) $(COMPILED)
	bash .ci/test

bench: $(INSTALLED) $(COMPILED)
	bash .ci/bench

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(INSTALLED)

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
	rm -rf $(VENV) $(COMPILED)
