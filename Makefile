# The two commands a new user runs: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# Tests: one BLAS thread per process keeps the two nbdev_test workers from fighting on two cores.
# The demo keeps torch's default (all cores) unless you set OMP_NUM_THREADS yourself.
TEST_ENV := OMP_NUM_THREADS=$(or $(OMP_NUM_THREADS),1)

.PHONY: install demo figures test check-clean check-export lint nbtest pytest clean

install: $(VENV)/.installed

$(VENV)/.installed: settings.ini setup.py pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check -e ".[dev,bench]" 2>&1 | grep -v "is ignored: it is neither" || true
	$(BIN)/python -c "import vcore, nbdev" # fails loudly if the install did not complete
	touch $@

demo: install
	$(BIN)/vcore demo

# Everything the README's tables and figures/ report; finished runs in runs/figures are reused.
figures: install
	$(BIN)/vcore figures

# Every check, in the order a mistake is cheapest to find.
test: install check-clean check-export lint nbtest pytest

check-clean:
	$(BIN)/nbdev_clean
	git diff --exit-code -- nbs || (echo "notebooks are not clean: run nbdev_clean and commit" && exit 1)

check-export:
	$(BIN)/nbdev_export
	test -z "$$(git status --porcelain -- vcore nbs)" || (git status --porcelain -- vcore nbs; echo "vcore/ is not what nbs/ exports: run nbdev_export and commit" && exit 1)

lint:
	$(BIN)/ruff check --select F821,F401,F841 --exclude vcore/_modidx.py vcore

nbtest:
	$(TEST_ENV) timeout 900 $(BIN)/nbdev_test --n_workers 2

pytest:
	$(TEST_ENV) $(BIN)/python -m pytest -q tests

clean:
	rm -rf build dist *.egg-info _proc _docs
