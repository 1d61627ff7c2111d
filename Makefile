# tutorlib — the course's two commands (`make lab`, `make test`) and a few more.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# Offline machines (and CI) have a copy of the datasets next to the project, in ../shared/data
# (or where SHARED_DATA_DIR points); `make data` lays it out in ./data and points TUTORLIB_DATA there.
SHARED_DATA := $(firstword $(wildcard $(SHARED_DATA_DIR)/prepare.py ../shared/data/prepare.py))
ifneq ($(SHARED_DATA),)
ifeq ($(strip $(TUTORLIB_DATA)),)
TUTORLIB_DATA := $(CURDIR)/data
endif
export TUTORLIB_DATA
endif

.PHONY: lab test test-1thread setup data kernels book bench targets clean

$(STAMP): pyproject.toml
	@command -v python3 >/dev/null || { echo "python3 (>= 3.10) is required"; exit 1; }
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,grading]'
	touch $(STAMP)

data: $(STAMP)
ifneq ($(SHARED_DATA),)
	@$(PY) $(SHARED_DATA) "$(TUTORLIB_DATA)" | tail -n 1
else
	@echo "No ../shared/data here: datasets download into $${TUTORLIB_DATA:-~/.cache/tutorlib} on first use."
endif

# Compile every numba kernel into its on-disk cache now, not during the first lesson (~10 s once;
# a second or so when the cache is already warm).
kernels: $(STAMP)
	$(PY) -m tutorlib.warmup

setup: $(STAMP) data kernels

# Opens the first lesson; exercises/ holds the student notebooks. (--allow-root only when run as root.)
# lab/settings/overrides.json holds the course's lab settings (no news pop-up).
lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=. $(if $(filter 0,$(shell id -u)),--allow-root) \
	    --LabApp.app_settings_dir=$(CURDIR)/lab/settings $(LAB_ARGS) notebooks/ch00-quick-start.ipynb

# nbval reads a cell's messages only after the cell has finished; a progress bar that redraws 10
# times a second can overflow the kernel's message queue on a busy machine and drop the final
# "idle" message (nbval then fails the cell after 5 s). TQDM_MININTERVAL slows the bars while
# testing only.
TEST_ENV := TQDM_MININTERVAL=5

test: setup
	$(VENV)/bin/ruff check .
	$(TEST_ENV) $(PY) -m pytest -n 2 --dist loadscope --nbval --nbval-current-env \
	    --nbval-sanitize-with tests/nbval_sanitize.cfg \
	    tests tutorlib notebooks solutions

# The lessons and solutions again, on one BLAS/OpenMP thread: another thread count (or CPU) changes
# the last bits of every float sum, and the notebooks must pass anyway. CI runs this after `make test`.
test-1thread: setup
	$(TEST_ENV) OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -n 2 --dist loadscope --nbval \
	    --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks solutions

book: setup
	$(PY) book/build.py

bench: setup
	$(PY) benchmarks/train_step.py
	$(PY) benchmarks/dataloader.py

# The chapters' targets for 5 seeds (runs the notebooks themselves; ~20 min): benchmarks/README.md.
targets: setup
	$(PY) benchmarks/targets.py

clean:
	rm -rf $(VENV) book/_build .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
