# PromptLoop groovebox: `make run` starts the daemon with embedded defaults, `make test` runs every test.
# Both install what they need first (Debian packages when missing, a .venv with the package) and are
# quick when everything is already there.

VENV   ?= .venv
PYTHON ?= python3
ARGS   ?=
PYTEST_ARGS ?=

.PHONY: run test setup setup-test bench clean

run: setup
	$(VENV)/bin/groovebox run $(ARGS)

test: setup-test
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed-run
	@scripts/system-packages.sh run

setup-test: $(VENV)/.installed-test
	@scripts/system-packages.sh test

$(VENV)/.installed-run: pyproject.toml
	@scripts/system-packages.sh run
	@[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml
	@scripts/system-packages.sh test
	@[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[test]'
	@touch $@ $(VENV)/.installed-run

bench: setup
	$(VENV)/bin/groovebox bench engine --voices 16 --block 128 --json
	$(VENV)/bin/groovebox bench soak --seconds 60 --json

clean:
	rm -rf $(VENV) build *.egg-info
