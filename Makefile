# The two commands: `make run` and `make test`. Each installs what it needs
# into .venv first (Python 3.11 and make are all a fresh machine needs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench profile clean

# Quiet on stdout: `make run` prints one line, the playground's address (progress goes to stderr).
$(STAMP): pyproject.toml
	@echo "Installing ce-bot and its dependencies into $(VENV) (a minute, the first time)" >&2
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip >&2
	@$(BIN)/pip install --quiet -e '.[test]' >&2
	@touch $(STAMP)

run: $(STAMP)
	@$(BIN)/ce-bot run

# pytest exits 5 when it ran no test: that is a failure here.
test: $(STAMP)
	@$(BIN)/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest ran no test: failing"; exit 1; fi; \
	exit $$status

# The benchmark (bench/README.md): ce-bot against bare Bolt apps, 4-7 minutes; prints one table
# and writes bench/results.json.
bench: $(STAMP)
	$(BIN)/python -m bench

# Where ce-bot's time goes, in-process, next to the baselines (bench/README.md): a table of CPU per
# ack and per job, and pyinstrument's profiles in bench/profiles/.
profile: $(STAMP)
	$(BIN)/python -m bench.profile

lint: $(STAMP)
	$(BIN)/cfn-lint templates/*.yaml

clean:
	rm -rf $(VENV) .pytest_cache .ce-bot
