# Every target is a file: an up-to-date step is skipped, a failed step leaves no output.
# `make help` lists the targets.
SHELL := /bin/bash
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# every step runs under analysis.timing: results/timings/STEP.json (seconds, peak memory) for the colophon and bench
TIME = $(PY) -m analysis.timing $(1) --
RUN := $(PY) -m analysis
# independent steps run in parallel (make -j); every step is a file target, so the graph orders them
JOBS ?= 2
# one BLAS thread per process: make runs JOBS steps at a time and pytest JOBS workers, so BLAS's own threads only
# oversubscribe the cores (the basket step used 22 s of CPU with OpenBLAS's threads and 13 s without)
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
# compiled MCMC samplers, kept with the environment and shared by every build, step and test (keyed by code, package
# versions, XLA flags and CPU: a program is traced and compiled only when no earlier run of the same code did)
export ANALYSIS_JAX_CACHE ?= $(abspath $(VENV))/.analysis-cache
# uv installs the lock (pinned here; installed with pip into .venv/.uv, outside the environment it syncs)
UV_VERSION := 0.13.9
UV := $(VENV)/.uv/bin/uv

# `make paper DATA=folder [SPEC=file] [OUT=folder]`: another cohort's report, built by `python -m analysis cohort`
# into its own folder (the paper's results/ and manuscript/ untouched); DATA names the paper's inputs otherwise
ifeq ($(origin DATA),command line)
COHORT_DATA := $(DATA)
endif
override DATA := data/raw/index_study.csv data/raw/published_cohorts.csv
CONTEXT_DATA := data/raw/study_characteristics.csv data/raw/endpoint_definitions.csv data/raw/study.yml \
                data/raw/statements.yml data/raw/response.yml manuscript/index.qmd manuscript/supplement.qmd
# code of each stage: a stage's step reruns when its code or an earlier stage's code changes
CORE := analysis/__init__.py analysis/settings.py analysis/io.py analysis/cli.py analysis/provenance.py \
        analysis/logitnormal.py analysis/results.py \
        $(wildcard analysis/data/*.py)
FREQ_CODE := $(wildcard analysis/frequentist/*.py)
# every module of the stage, its subpackages included (models/, engine/, sampling/)
BAYES_CODE := $(filter-out analysis/bayes/sensitivity.py,$(wildcard analysis/bayes/*.py analysis/bayes/*/*.py))
PRIORS_CODE := $(wildcard analysis/priors/*.py)
BASKET := results/basket/oc.csv results/basket/calibration.csv results/basket/design.json
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
MS_SRC := manuscript/index.qmd manuscript/supplement.qmd manuscript/_quarto.yml manuscript/references.bib $(wildcard manuscript/filters/*.lua) manuscript/style.css manuscript/preamble.typ manuscript/the-new-england-journal-of-medicine.csl analysis/publish/checklist.py
REPORT := manuscript/_variables.yml manuscript/tables/estimates.md manuscript/tables/safety.md \
          manuscript/tables/bounds.md manuscript/tables/meta.md manuscript/tables/colophon.md \
          manuscript/tables/bayes.md manuscript/tables/exceedance.md manuscript/tables/diagnostics.md \
          manuscript/tables/sensitivity.md manuscript/tables/priors.md manuscript/tables/design.md \
          manuscript/tables/hyperparameters.md manuscript/tables/characteristics.md \
          manuscript/tables/design-sensitivity.md manuscript/tables/design-calibration.md \
          manuscript/tables/priors-full.md manuscript/tables/basket.md \
          manuscript/tables/basket-methods.md manuscript/tables/basket-nominal.md \
          manuscript/tables/basket-calibration.md manuscript/tables/basket-lone.md \
          manuscript/tables/flow.md manuscript/tables/endpoints.md \
          manuscript/tables/statements.md manuscript/tables/response.md manuscript/tables/prisma.md
# the generated sections the manuscript includes (analysis/publish/narrative.py: SECTION_FILES, and front.yml)
REPORT_SECTIONS := $(foreach s,introduction patients evidence primary-methods sensitivity-methods priors-methods basket-methods \
          response safety meta borrowing priors-results basket-results discussion limitations conclusion \
          meta-methods supplement-meta supplement-priors supplement-design supplement-basket supplement-flow \
          supplement-prisma,manuscript/_sections/$(s).md) manuscript/_sections/front.yml
FIGS := manuscript/figures/forest-frequentist.png manuscript/figures/forest-bayes.png \
        manuscript/figures/shrinkage.png manuscript/figures/sensitivity.png manuscript/figures/prior-predictive.png \
        manuscript/figures/hyperparameters.png manuscript/figures/basket.png
PRIOR_FIGS := manuscript/figures/map-priors.png manuscript/figures/oc-sle_single_arm.png \
        manuscript/figures/prior-posterior-sle_single_arm.png
PAPER := $(foreach d,index supplement,$(foreach x,html pdf docx,manuscript/_manuscript/$(d).$(x)))

.PHONY: help setup results results-files paper test test-slow lint bench clean lock reproduce reference docs studio

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv from requirements.lock (when missing or stale)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required, found " + sys.version'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(UV) && $(UV) --version | grep -q ' $(UV_VERSION)' || \
	  $(PY) -m pip install --quiet --disable-pip-version-check --upgrade --target $(VENV)/.uv "uv==$(UV_VERSION)"
	$(UV) pip sync --quiet --python $(PY) --require-hashes --compile-bytecode requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	touch $@

lock: $(STAMP) ## re-resolve requirements.lock from pyproject.toml with uv (hashes; CPython 3.11)
	cp requirements.lock requirements.lock.tmp  # uv keeps the pins it finds there unless pyproject.toml rules them out
	$(UV) pip compile --quiet pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
	  --custom-compile-command "make lock" -o requirements.lock.tmp
	mv requirements.lock.tmp requirements.lock

# results copied from another data or code state are newer than the inputs they differ from, so make would see
# nothing to do and render them: when results/provenance.json disagrees with the current data or code in a way
# make cannot see, every step is forced (rebuilt, never rendered; the report step refuses such results too)
ifeq ($(filter-out help lint setup lock clean,$(or $(MAKECMDGOALS),help))$(COHORT_DATA),)
STALE :=
else ifneq ($(COHORT_DATA),)
STALE :=
else
STALE := $(shell test ! -f results/provenance.json -o ! -x $(PY) || $(PY) -m analysis provenance --check results/provenance.json >&2 || echo FORCE)
endif
$(if $(STALE),$(info results/provenance.json does not match the current data or code: rebuilding every step))
.PHONY: FORCE
FORCE:

$(FREQ) &: $(STAMP) $(DATA) $(CORE) $(FREQ_CODE) $(STALE)
	$(call TIME,frequentist) $(RUN) frequentist --out results/frequentist

# the MCMC steps' samplers (one program per model kind), traced and compiled first unless an earlier build stored
# them; the Bayesian, sensitivity and priors steps then load them instead of tracing them again (order only: the
# programs change no number, and a step whose program is missing traces it itself)
SAMPLERS := results/samplers.json
$(SAMPLERS): $(STAMP) $(DATA) config/follow_up.toml $(CORE) $(BAYES_CODE) analysis/bayes/sensitivity.py $(STALE)
	$(call TIME,samplers) $(RUN) samplers --out $@

$(BAYES) &: $(STAMP) data/raw/index_study.csv $(CORE) $(BAYES_CODE) $(STALE) | $(SAMPLERS)
	$(call TIME,bayes) $(RUN) bayes --out results/bayes

# beside the main fits, not after them: the two main-model scenarios are fitted last, so that the Bayesian step's
# fits stored meanwhile are reused (same cache key, same draws), and fitted here only when they are not stored yet
# config/follow_up.toml's [index_models] leave_out: the group one scenario leaves out (read by priors/datacheck.py)
$(SENS) &: $(STAMP) $(DATA) config/follow_up.toml $(CORE) $(BAYES_CODE) analysis/bayes/sensitivity.py analysis/frequentist/meta.py \
           analysis/priors/datacheck.py analysis/priors/schema.py $(STALE) | $(SAMPLERS)
	$(call TIME,sensitivity) $(RUN) sensitivity --spec config/follow_up.toml --out results/bayes

$(PRIORS) &: $(STAMP) config/follow_up.toml data/raw/published_cohorts.csv $(CORE) $(BAYES_CODE) $(PRIORS_CODE) analysis/frequentist/meta.py analysis/publish/figures.py $(STALE) | $(SAMPLERS)
	$(call TIME,priors) $(RUN) priors config/follow_up.toml --out results/priors

$(BASKET) &: $(STAMP) config/basket.toml $(CORE) $(BAYES_CODE) $(wildcard analysis/basket/*.py) $(STALE)
	$(call TIME,basket) $(RUN) design config/basket.toml --out results/basket --no-figures --workers 1

results/estimates.csv: $(ESTIMATES_IN) analysis/publish/combine.py analysis/publish/build.py $(STALE)
	$(call TIME,combine) $(RUN) combine $(ESTIMATES_IN) --out $@

# the commit, time and code hash of the colophon: rebuilt whenever any analysis code, data or config changes
ALL_CODE := $(wildcard analysis/*.py analysis/*/*.py analysis/*/*/*.py)
results/provenance.json: $(STAMP) $(DATA) $(CONTEXT_DATA) $(ALL_CODE) $(wildcard config/*.toml) $(STALE)
	$(call TIME,provenance) $(RUN) provenance --out $@

results: $(STAMP) ## run every analysis step that is out of date (JOBS=2 in parallel)
	+@$(MAKE) --no-print-directory -j$(JOBS) results-files

results-files: results/estimates.csv results/provenance.json $(SENS) $(PRIORS) $(BASKET)

$(FIGS) &: results/estimates.csv $(BAYES) $(SENS) $(BASKET) $(REPORT_CODE)
	$(call TIME,figures) $(RUN) figures --out manuscript/figures

manuscript/figures/%.png: results/priors/%.png
	mkdir -p $(@D)
	cp $< $@.tmp && mv $@.tmp $@

$(REPORT) $(REPORT_SECTIONS) &: $(DATA) $(CONTEXT_DATA) results/estimates.csv results/provenance.json $(FREQ) $(BAYES) $(SENS) $(PRIORS) $(BASKET) $(REPORT_CODE)
	$(call TIME,report) $(RUN) report --manuscript manuscript

$(PAPER) &: $(MS_SRC) $(REPORT) $(REPORT_SECTIONS) $(FIGS) $(PRIOR_FIGS) analysis/publish/render.py analysis/publish/shortcodes.py
	$(call TIME,render) $(RUN) render --manuscript manuscript

paper: $(STAMP) ## build the manuscript (HTML and PDF) from the data; DATA=folder [SPEC=file] [OUT=folder]: a cohort's
ifneq ($(COHORT_DATA),)
	$(RUN) cohort $(COHORT_DATA) $(if $(SPEC),--spec $(SPEC)) $(if $(OUT),--out $(OUT))
else
	+@$(MAKE) --no-print-directory -j$(JOBS) $(PAPER)
endif

test: $(STAMP) ## run the test suite (builds the paper first if it is out of date)
	$(MAKE) --no-print-directory paper
	$(PY) -m pytest -m "not slow" -n $(JOBS)

test-slow: $(STAMP) ## slow calibration tests (simulation-based calibration)
	$(PY) -m pytest -m slow

lint: $(STAMP) ## ruff check and format check
	$(PY) -m ruff check analysis tools tests
	$(PY) -m ruff format --check analysis tools tests

studio: $(STAMP) ## the design studio: a local web app for the basket design (PORT=N, DESIGN=FILE)
	$(RUN) studio $(if $(PORT),--port $(PORT)) $(if $(DESIGN),--design $(DESIGN))

bench: results/bench.json ## benchmarks (samplers, pipeline, OC grid) -> results/bench.json

results/bench.json: $(STAMP) $(DATA) $(CORE) $(BAYES_CODE) analysis/bayes/sensitivity.py $(wildcard tools/*.py) analysis/timing.py $(PRIORS_CODE) \
                    $(wildcard analysis/studio/*.py)
	$(RUN) bench --out $@

docs: $(STAMP) ## reference: API pages (pdoc, from the docstrings), design-file keys, map of the paper -> docs/_build
	rm -rf docs/_build.tmp
	$(PY) -m analysis.review.reference --out docs/_build.tmp
	rm -rf docs/_build && mv docs/_build.tmp docs/_build

# a clean room: a fresh clone, and its own program cache (nothing compiled by earlier builds)
reproduce: $(STAMP) ## rebuild every result from a clean copy of HEAD and compare with reference/
	rm -rf build/reproduce
	git clone --quiet --no-hardlinks . build/reproduce
	$(MAKE) --no-print-directory -C build/reproduce results VENV=$(abspath $(VENV)) STAMP= \
	  ANALYSIS_JAX_CACHE=$(abspath build/reproduce/.analysis-cache)
	$(PY) -m analysis reproduce --reference reference --results build/reproduce/results

reference: results ## copy the current results into reference/ (only when a change of numbers is intended)
	$(RUN) reproduce --update --reference reference --results results

clean: ## remove results and rendered outputs (not .venv)
	rm -rf results manuscript/_manuscript manuscript/_build manuscript/figures manuscript/tables manuscript/_sections \
	  manuscript/_variables.yml
