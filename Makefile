# Two entry points that do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint reference clean install install-test browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamp files make a second `make` skip the install unless the build changed: pyproject.toml,
# setup.py, or an NLP module that setup.py may compile (installing compiles them again).
BUILD_INPUTS := pyproject.toml setup.py $(wildcard nlp/*.py)
$(VENV)/.installed: $(BUILD_INPUTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BUILD_INPUTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,transformers,dask,embeddings]"
	touch $@ $(VENV)/.installed

# The report's browser test needs Debian's chromium; install it where we may (root or passwordless
# sudo with apt-get), otherwise say so: that one test then skips with the reason.
APT_GET := $(shell [ "$$(id -u)" = 0 ] && echo apt-get || (sudo -n true 2>/dev/null && echo "sudo apt-get"))
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif [ -n "$(APT_GET)" ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian chromium for the report's browser test"; \
	  ($(APT_GET) update -qq && DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq chromium >/dev/null) \
	    || echo "could not install chromium: the browser test will skip"; \
	else echo "chromium is not installed and cannot be installed here: the browser test will skip"; fi

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/betrokken demo --out betrokken-demo

test: install-test browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check .

# The README's command reference, rewritten from the commands' --help (a test fails while it is stale).
reference: install
	$(BIN)/python -m flows.commands.reference

clean:
	rm -rf $(VENV) betrokken-demo .pytest_cache .mypy_cache build nlp/*.so nlp/compiled.json
