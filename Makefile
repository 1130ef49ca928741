# Every target is a file: an up-to-date step is skipped, a failed step leaves no output.
# `make help` lists the targets.
SHELL := /bin/bash
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN := $(PY) -m analysis

DATA := data/raw/index_study.csv data/raw/published_cohorts.csv
CONTEXT_DATA := data/raw/study_characteristics.csv
# code of each stage: a stage's step reruns when its code or an earlier stage's code changes
CORE := analysis/__init__.py analysis/settings.py analysis/io.py analysis/cli.py analysis/provenance.py \
        $(wildcard analysis/data/*.py)
FREQ_CODE := $(wildcard analysis/frequentist/*.py)
BAYES_CODE := $(filter-out analysis/bayes/sensitivity.py,$(wildcard analysis/bayes/*.py analysis/bayes/models/*.py))
PRIORS_CODE := $(wildcard analysis/priors/*.py)
BASKET := results/basket/oc.csv results/basket/design.json
PRIORS := results/priors/priors.json results/priors/designs.json results/priors/map-priors.png \
          results/priors/oc-sle_single_arm.png results/priors/prior-posterior-sle_single_arm.png
REPORT_CODE := $(filter-out analysis/publish/render.py,$(wildcard analysis/publish/*.py))
FREQ := results/frequentist/estimates.csv results/frequentist/tests.csv results/frequentist/meta.csv
BAYES := results/bayes/estimates.csv results/bayes/exceedance.csv results/bayes/diagnostics.csv \
         results/bayes/ppc.csv results/bayes/prior_predictive.csv results/bayes/hyperparameters.csv \
         results/bayes/exchangeability.csv results/bayes/crosscheck.csv \
         results/bayes/lodo.csv
SENS := results/bayes/sensitivity.csv results/bayes/sensitivity_diagnostics.csv
ESTIMATES_IN := results/frequentist/estimates.csv results/bayes/estimates.csv
MS_SRC := manuscript/index.qmd manuscript/supplement.qmd manuscript/_quarto.yml manuscript/references.bib manuscript/filters/crossref.lua manuscript/filters/tables.lua manuscript/style.css manuscript/preamble.typ manuscript/the-new-england-journal-of-medicine.csl analysis/publish/checklist.py
REPORT := manuscript/_variables.yml manuscript/tables/estimates.md manuscript/tables/safety.md \
          manuscript/tables/bounds.md manuscript/tables/meta.md manuscript/tables/colophon.md \
          manuscript/tables/bayes.md manuscript/tables/exceedance.md manuscript/tables/diagnostics.md \
          manuscript/tables/sensitivity.md manuscript/tables/priors.md manuscript/tables/design.md \
          manuscript/tables/hyperparameters.md manuscript/tables/characteristics.md \
          manuscript/tables/design-sensitivity.md manuscript/tables/design-calibration.md \
          manuscript/tables/priors-full.md manuscript/tables/basket.md
FIGS := manuscript/figures/forest-frequentist.png manuscript/figures/forest-bayes.png \
        manuscript/figures/shrinkage.png manuscript/figures/sensitivity.png manuscript/figures/prior-predictive.png \
        manuscript/figures/hyperparameters.png manuscript/figures/basket.png
PRIOR_FIGS := manuscript/figures/map-priors.png manuscript/figures/oc-sle_single_arm.png \
        manuscript/figures/prior-posterior-sle_single_arm.png
PAPER := $(foreach d,index supplement,$(foreach x,html pdf docx,manuscript/_manuscript/$(d).$(x)))

.PHONY: help setup results paper test test-slow lint bench clean lock reproduce reference

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv from requirements.lock (when missing or stale)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

lock: ## re-pin requirements.lock from the current .venv
	( echo "# Pinned environment for reviewers: every package of .venv, from 'make lock'."; \
	  echo "# Python 3.11. Install with: pip install -r requirements.lock"; \
	  $(PY) -m pip freeze --all --exclude-editable | grep -vE '^(-e|pip==)' ) > requirements.lock.tmp
	mv requirements.lock.tmp requirements.lock

$(FREQ) &: $(STAMP) $(DATA) $(CORE) $(FREQ_CODE)
	$(RUN) frequentist --out results/frequentist

$(BAYES) &: $(STAMP) data/raw/index_study.csv $(CORE) $(BAYES_CODE)
	$(RUN) bayes --out results/bayes

$(SENS) &: $(STAMP) $(DATA) $(CORE) $(BAYES_CODE) analysis/bayes/sensitivity.py analysis/frequentist/meta.py
	$(RUN) sensitivity --out results/bayes

$(PRIORS) &: $(STAMP) config/follow_up.toml data/raw/published_cohorts.csv $(CORE) $(BAYES_CODE) $(PRIORS_CODE) analysis/frequentist/meta.py analysis/publish/figures.py
	$(RUN) priors config/follow_up.toml --out results/priors

$(BASKET) &: $(STAMP) config/basket.toml $(CORE) $(BAYES_CODE) $(wildcard analysis/basket/*.py)
	$(RUN) design config/basket.toml --out results/basket --no-figures

results/estimates.csv: $(ESTIMATES_IN) analysis/publish/combine.py
	$(RUN) combine $(ESTIMATES_IN) --out $@

# the commit, time and code hash of the colophon: rebuilt whenever any analysis code, data or config changes
ALL_CODE := $(wildcard analysis/*.py analysis/*/*.py analysis/*/*/*.py)
results/provenance.json: $(STAMP) $(DATA) $(CONTEXT_DATA) $(ALL_CODE) $(wildcard config/*.toml)
	$(RUN) provenance --out $@

results: results/estimates.csv results/provenance.json $(SENS) $(PRIORS) $(BASKET) ## run every analysis step that is out of date

$(FIGS) &: results/estimates.csv $(BAYES) $(SENS) $(BASKET) $(REPORT_CODE)
	$(RUN) figures --out manuscript/figures

manuscript/figures/%.png: results/priors/%.png
	mkdir -p $(@D)
	cp $< $@.tmp && mv $@.tmp $@

$(REPORT) &: $(DATA) $(CONTEXT_DATA) results/estimates.csv results/provenance.json $(FREQ) $(BAYES) $(SENS) $(PRIORS) $(BASKET) $(REPORT_CODE)
	$(RUN) report --manuscript manuscript

$(PAPER) &: $(MS_SRC) $(REPORT) $(FIGS) $(PRIOR_FIGS) analysis/publish/render.py
	$(RUN) render --manuscript manuscript

paper: $(PAPER) ## build the manuscript (HTML and PDF) from the data, setting up if needed

test: $(STAMP) ## run the test suite (builds the paper first if it is out of date)
	$(MAKE) --no-print-directory paper
	$(PY) -m pytest -m "not slow"

test-slow: $(STAMP) ## slow calibration tests (simulation-based calibration)
	$(PY) -m pytest -m slow

lint: $(STAMP) ## ruff check and format check
	$(PY) -m ruff check analysis tests
	$(PY) -m ruff format --check analysis tests

bench: results/bench.json ## benchmarks (samplers, pipeline, OC grid) -> results/bench.json

results/bench.json: $(STAMP) $(DATA) $(CORE) $(BAYES_CODE) analysis/bayes/sensitivity.py analysis/bench.py $(PRIORS_CODE)
	$(RUN) bench --out $@

reproduce: $(STAMP) ## rebuild every result from a clean copy of HEAD and compare with reference/
	rm -rf build/reproduce
	git clone --quiet --no-hardlinks . build/reproduce
	$(MAKE) --no-print-directory -C build/reproduce results VENV=$(abspath $(VENV)) STAMP=
	$(PY) -m analysis reproduce --reference reference --results build/reproduce/results

reference: results ## copy the current results into reference/ (only when a change of numbers is intended)
	$(RUN) reproduce --update --reference reference --results results

clean: ## remove results and rendered outputs (not .venv)
	rm -rf results manuscript/_manuscript manuscript/_build manuscript/figures manuscript/tables manuscript/_variables.yml
