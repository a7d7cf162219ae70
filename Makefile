# The two commands (see README.md):
#   make lab    set everything up, then JupyterLab on notebooks/ (embedded SQLite store)
#   make test   set everything up, then lint, type check, unit, notebook and browser tests
# Both are fast the second time: the environment is rebuilt only when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp-installed
HOST ?= 127.0.0.1
PORT ?= 8888
WORKSPACE := $(CURDIR)/var/workspace

.PHONY: lab test setup system lint typecheck unit notebooks browser postgres clean

lab: setup
# the same job as on a laptop without make: workbench/lab.py (offline flags, --allow-root as root)
	$(VENV)/bin/workbench lab --host=$(HOST) --port=$(PORT) --workspace=$(WORKSPACE) \
		--notebooks=$(CURDIR)/notebooks

test: setup system
	@WORKBENCH_TEST_POSTGRES_URL=$$(bash scripts/postgres.sh) && export WORKBENCH_TEST_POSTGRES_URL \
		&& export WORKBENCH_REQUIRE_POSTGRES=1 WORKBENCH_REQUIRE_BROWSER=1 \
		&& $(MAKE) --no-print-directory lint typecheck \
		&& $(PY) -m pytest -p no:cacheprovider -q --doctest-modules workbench \
		&& $(PY) -m pytest -p no:cacheprovider -q tests

setup: $(STAMP) var/.ready

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version' 
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,postgres]'
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (workbench)" >/dev/null
	touch $(STAMP)

# The embedded default store: var/workspace/, SQLite files prepared once from the
# committed sample history (workbench.workspace()); kept across runs.
var/.ready: $(STAMP) data/sample/ticketing.sqlite
	mkdir -p var
	WORKBENCH_WORKSPACE=$(WORKSPACE) $(PY) -c 'import workbench; workbench.workspace()'
	$(VENV)/bin/workbench info $(WORKSPACE)/ticketing.sqlite >/dev/null
	touch var/.ready

system:
	@bash scripts/system-deps.sh

postgres: system
	@bash scripts/postgres.sh

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(PY) -m pytest -q tests -m "not browser and not notebook"

notebooks: setup
	$(PY) -m pytest -q tests -m notebook

browser: setup system
	$(PY) -m pytest -q tests -m browser

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
