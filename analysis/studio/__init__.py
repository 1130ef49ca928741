"""The design studio: a local web app (Shiny for Python) to design the follow-up basket trial interactively.

Every change of a field builds a design-file table (:mod:`analysis.studio.model`), checks it with the basket
designer's own reader (:func:`analysis.basket.spec.parse`, so the messages are the CLI's), and computes the
operating characteristics with the designer's functions (:mod:`analysis.basket.design`,
:mod:`analysis.basket.calibrate`), reusing the posterior summaries of the joint outcome space across
changes that do not alter them (thresholds, target rates, scenarios, calibration).  The app itself is
:mod:`analysis.studio.app`; ``python -m analysis studio`` (:mod:`analysis.studio.serve`) starts it.
"""
