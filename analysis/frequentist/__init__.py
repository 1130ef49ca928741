"""Stage 2, frequentist: exact intervals, tests against benchmark rates, heterogeneity, meta-analysis.

One method per module (:mod:`~analysis.frequentist.intervals`,
:mod:`~analysis.frequentist.benchmarks`, :mod:`~analysis.frequentist.heterogeneity`,
:mod:`~analysis.frequentist.meta`); :mod:`~analysis.frequentist.step` runs them
and writes ``results/frequentist/``.
"""
