"""Statistical analysis of CD19 CAR T-cell therapy in autoimmune disease.

The package turns the published counts in ``data/raw/`` into results files
(``results/``), figures, tables and the numbers that the Quarto manuscript in
``manuscript/`` quotes.  Each module does one thing; ``python -m analysis``
lists the command-line verbs.
"""

__version__ = "0.1.0"
