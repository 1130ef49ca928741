"""Stage 3, Bayesian: priors, the model registry, sampling with gates, summaries, sensitivity.

- :mod:`~analysis.bayes.prior`: the :class:`Prior` value object and supports;
- :mod:`~analysis.bayes.models`: the registry, one model kind per file;
- :mod:`~analysis.bayes.units`: the binomial units a model is fitted to;
- :mod:`~analysis.bayes.sampling`: NUTS, convergence gates, the compiled-program store, the fit cache
  (a package, one module per role);
- :mod:`~analysis.bayes.engine`: the deterministic posterior engine (quadrature, no MCMC; a package,
  one module per section);
- :mod:`~analysis.bayes.summaries`: rows of the results files;
- :mod:`~analysis.bayes.step` and :mod:`~analysis.bayes.sensitivity`: the pipeline steps
  writing ``results/bayes/``.
"""
