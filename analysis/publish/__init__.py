"""Stage 5, publish: tables, figures and quoted numbers from ``results/``, and the rendered manuscript.

- :mod:`~analysis.publish.sections`: what each manuscript section shows (declared once);
- :mod:`~analysis.publish.frequentist`, :mod:`~analysis.publish.bayes`,
  :mod:`~analysis.publish.priors`, :mod:`~analysis.publish.colophon`: each section's tables and variables;
- :mod:`~analysis.publish.figures`: the figures; :mod:`~analysis.publish.format`: number and table formats;
- :mod:`~analysis.publish.build`: the build step; :mod:`~analysis.publish.render`: Quarto or pandoc + Typst;
- :mod:`~analysis.publish.combine`: the combined ``results/estimates.csv``.
"""
