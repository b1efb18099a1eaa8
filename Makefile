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

# Floors sit just under the figures in README.md (hybrid, all 142 questions), so a regression fails CI.
EVAL_FLOORS ?= --min-success1 0.89 --min-mrr 0.92 --min-ndcg 0.85 --min-recall 0.95 --min-gold-recall 0.86 \
               --min-success400 0.95 --min-party1 0.98 --min-abstention 0.80 --max-false-abstention 0.03
# Both backends: the shipped ONNX Runtime path and the torch one it falls back to.
eval-check: $(STAMP)
	$(VENV)/bin/chatbot eval --backend onnx $(EVAL_FLOORS)
	$(VENV)/bin/chatbot eval --backend torch $(EVAL_FLOORS)

## bench: speed and scale benchmark beside the textbook pipeline (~10 min; BENCH_ARGS=--quick for <1 min)
bench: $(DEVSTAMP)
	$(PY) eval/bench.py $(BENCH_ARGS)

clean-index:
	rm -rf index/current index/build-* index/.tmp-*
