# Two commands: `make figures` (main job) and `make test`. Both create/refresh .venv on their own.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.mailviz-installed
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0
# one OpenMP thread: on a shared 2-core machine two threads can be 20-70x slower
export MAILVIZ_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
# processes side by side (model preparation, notebooks, pytest-xdist): one per core
WORKERS ?= 2

.PHONY: figures site student test lint unit notebooks site-check browser-deps venv clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev,zoo,site]'
	@touch $@

venv: $(STAMP)

## make figures: train the lessons' models (all replicates) in $(WORKERS) processes, then run every
## notebook through papermill at the quick profile, $(WORKERS) at a time -> figures/, build/notebooks/
figures: $(STAMP)
	$(BIN)/mailviz figures --profile quick --workers $(WORKERS)

## make site: the offline course site (Sphinx) from the lessons `make figures` executed -> build/site/
site: $(STAMP)
	$(BIN)/mailviz site

## make test: lint + pytest (unit, property, training, browser) + nbval over the notebooks + the
## course site built from nbval's run and opened page by page in Chromium
test: lint browser-deps unit notebooks site-check

## make student: the lessons without their solution cells -> build/student/
student: $(STAMP)
	$(BIN)/python -m mailviz.student

# The end-to-end widget test drives Debian's Chromium. Install it when missing and we are root
# (CI is); otherwise that one test skips with a message saying how to install it.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian chromium for the browser test (apt-get)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	      >/dev/null) || echo "chromium install failed: the browser test will be skipped"; \
	  else echo "chromium missing and not root: the browser test will be skipped"; fi; }

lint: $(STAMP)
	$(BIN)/ruff check mailviz tests benchmarks notebooks

unit: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider -n $(WORKERS) tests

# the lessons' models and cached evaluations first (parallel), then nbval, one notebook per worker
notebooks: $(STAMP)
	$(BIN)/mailviz prepare --profile quick --workers $(WORKERS) --times build/prepare-times.csv
	$(BIN)/python -m pytest -p no:cacheprovider -n $(WORKERS) --dist loadfile --nbval-lax \
	  --nbval-current-env -p mailviz.nbval_capture --nbval-save build/notebooks notebooks

# the site from the lessons exactly as nbval executed them in `notebooks` (kept in build/notebooks
# with their inline figures by mailviz.nbval_capture), then every page in Chromium
site-check: notebooks
	$(BIN)/mailviz site
	MAILVIZ_REQUIRE_SITE=1 $(BIN)/python -m pytest -p no:cacheprovider -s \
	  tests/test_site.py::test_site_in_chromium

clean:
	rm -rf build .pytest_cache .ruff_cache
