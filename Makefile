# Two commands for a new machine:  `make run`  and  `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP    := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: run ask build test test-fast eval eval-check bench clean-index

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first, pinned to the local CPU build; otherwise pip pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e .
	touch $@

$(DEVSTAMP): $(STAMP)
	$(PIP) install --quiet -e '.[dev]'
	touch $@

## run: install, build the index if needed, start the web chat on http://127.0.0.1:7860
run: $(STAMP)
	$(PY) app.py

## ask: an example question from the command line
ask: $(STAMP)
	$(VENV)/bin/chatbot ask "What does Venstre want for LAR?"

build: $(STAMP)
	$(VENV)/bin/chatbot build

## test: install with dev extras and run every test (unit, real model, web, browser)
test: $(DEVSTAMP)
	$(PY) -m pytest

test-fast: $(DEVSTAMP)
	$(PY) -m pytest -m "not model and not browser"

eval: $(STAMP)
	$(VENV)/bin/chatbot eval --compare --report eval/report.md

# Floors sit just under the figures in README.md, so a regression fails CI.
eval-check: $(STAMP)
	$(VENV)/bin/chatbot eval $(EVAL_FLOORS)

bench: $(STAMP)
	$(PY) eval/bench.py

clean-index:
	rm -rf index/current index/build-* index/.tmp-*
