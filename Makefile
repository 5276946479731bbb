# The two commands of the README: `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-dates bench lint dist

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	$(PY) -m worker demo

test: $(VENV)/.installed
	./scripts/check

# the tests that read the clock, at dates where date arithmetic goes wrong (needs faketime)
test-dates: $(VENV)/.installed
	./scripts/check-dates

bench: $(VENV)/.installed
	$(PY) -m scripts.bench $(if $(SMALL),--small)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy domain worker tasks && $(VENV)/bin/lint-imports

# the WHMCS addon zip, the worker's wheel and sdist, the operator's release archive, into
# dist/, named by the version of worker/version.py (docs/releasing.md)
dist: $(VENV)/.installed
	$(PY) scripts/dist.py dist
