# The two commands of the README: `make run` (default pipeline) and `make test` (test suite).
# Each creates .venv and installs rootml with its pinned dependencies when missing.
VENV ?= .venv
PYTHON ?= python3
CORES ?= all
STAMP := $(VENV)/.rootml-installed
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: run test lint bench dryrun clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/snakemake --cores $(CORES) --configfile config/config.yaml

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks workflow_scripts
	$(VENV)/bin/snakefmt --check Snakefile rules
	CONDOR_CONFIG=/dev/null $(VENV)/bin/snakemake --lint --configfile config/config.yaml --directory $$(mktemp -d)

test: lint
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(VENV)/bin/python -m pip install --quiet --no-deps weaver-core==0.5.3  # the ParticleNet peer, benchmark only
	for script in benchmarks/*.py; do $(VENV)/bin/python $$script || exit 1; done

dryrun: $(STAMP)
	$(VENV)/bin/snakemake --cores $(CORES) --configfile config/config.yaml --dry-run

clean:
	rm -rf data results logs .snakemake
