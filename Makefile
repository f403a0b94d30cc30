# The two commands of the README: `make run` and `make test`. Both set everything up first.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
QUICKSTART ?= experiments/quickstart.yaml

.PHONY: run test setup lint bench browser clean notebooks mutation

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/find_python.sh
	@python=$$(./scripts/find_python.sh) || exit 1; \
	  echo "Using $$python ($$($$python --version))"; \
	  [ -x $(PY) ] || $$python -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (jss-market)" >/dev/null
	@touch $@

run: $(STAMP)
	$(VENV)/bin/marketplace run $(QUICKSTART) --force
	@echo "Rebuild the report without simulating: $(VENV)/bin/marketplace report results/quickstart"
	@echo "Committed results of the canonical experiments: results/<name>/report.md (README: Results)"

test: $(STAMP) browser
	$(PY) -m pytest

# Debian's chromium for the dashboard browser test (apt-get when missing; Playwright never downloads one)
browser:
	@bash scripts/ensure_browser.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check marketplace tests benchmarks scripts

# Write the notebooks' cells (scripts/make_notebooks.py), then execute each on the committed
# results and save its outputs (notebooks whose results/<name>/ is missing are left without)
notebooks: $(STAMP)
	$(PY) scripts/make_notebooks.py
	$(PY) scripts/execute_notebooks.py

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache

# Mutation testing (not part of `make test`; CPU heavy, niced; see docs/mutation.md): every
# scoring mutant, then a seeded sample of the model's (MODEL_SAMPLE, 0 = all of them).
MODEL_SAMPLE ?= 60
MUTATION_JOBS ?= 2
mutation: $(STAMP)
	$(PY) scripts/mutation.py scoring --jobs $(MUTATION_JOBS)
	$(PY) scripts/mutation.py model --jobs $(MUTATION_JOBS) --sample $(MODEL_SAMPLE)
