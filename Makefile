# The two commands a new user needs: `make run` (start Sprout) and `make test` (run the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test install index bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

index: $(STAMP)
	$(VENV)/bin/sprout index build

run: index
	$(VENV)/bin/sprout run

test: $(STAMP)
	$(PY) -m pytest

bench: index
	$(VENV)/bin/sprout bench --json

clean:
	rm -rf $(VENV) var/index var/*.db var/*.db-*
