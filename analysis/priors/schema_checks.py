"""The checks of the priors-and-designs schema that span fields or tables (:mod:`analysis.priors.schema`).

A prior's source must be one the builder has a model for, and a key must have an effect (issue 23: such keys
were ignored, or failed while building); a design's priors must exist, be of one family and fit its keys.  The
functions read the validated models by attribute and raise ``ValueError`` with the table and field, which
:func:`analysis.priors.schema_errors.validate_spec` prefixes with the file.
"""

from __future__ import annotations


def prior_sources(p) -> None:
    """Refuse the sources the builder has no model for (they failed while building or built the wrong prior)."""
    if p.disease is not None and p.family != "beta":
        raise ValueError(
            f"field 'disease': gives a MAP prior of a response rate (binomial cohorts, a Beta mixture); family "
            f"{p.family!r} cannot use it: give 'studies' or 'mixture'"
        )
    if p.studies is not None and p.family == "gamma" and p.likelihood == "exp":
        raise ValueError(
            "field 'likelihood': 'studies' {y, exposure} give a MAP prior of an event rate (Poisson likelihood); "
            "there is no MAP model for likelihood 'exp': give a Gamma 'mixture'"
        )
    if p.studies is not None and p.family == "normal" and p.sigma is None:
        raise ValueError(
            "field 'sigma': missing; family 'normal' with 'studies' needs it, the reference scale of the fitted "
            "Normal mixture (the known standard deviation of one observation)"
        )


def prior_idle_keys(p) -> None:
    """Refuse keys the builder would ignore: a key that has no effect is most likely a mistake."""
    if p.robust_weight is None:
        for key in ("robust_mean", "robust_n"):
            if getattr(p, key) is not None:
                raise ValueError(
                    f"field '{key}': sets the robust component, which only 'robust_weight' adds; without it "
                    f"'{key}' has no effect"
                )
    if p.mixture is not None:
        for key in ("max_components", "mu", "tau"):
            if getattr(p, key) is not None:
                raise ValueError(
                    f"field '{key}': a setting of the MAP fit, and a given 'mixture' is not fitted, so it has no effect"
                )
    if p.sigma is not None and p.family != "normal":
        raise ValueError(
            f"field 'sigma': the reference scale of a Normal prior; family {p.family!r} has none, so it has no effect"
        )
    if p.likelihood is not None and p.family not in ("gamma", "poisson"):
        raise ValueError(
            f"field 'likelihood': that of a Gamma prior (family \"gamma\"); family {p.family!r} has its own, so it "
            "has no effect"
        )
    if p.family == "poisson" and p.likelihood == "exp":
        raise ValueError(
            "field 'likelihood': family 'poisson' is the Poisson likelihood; for exponential event times give "
            'family "gamma" with likelihood "exp"'
        )


def references(priors: list, designs: list) -> None:
    """Names unique, every prior a design names defined and fit for it, and the design's keys in range."""
    names = [p.name for p in priors]
    for what, items in (("prior", priors), ("design", designs)):
        seen = set()
        for x in items:
            if x.name in seen:
                raise ValueError(f"two [[{what}]] tables are named {x.name!r}; names must be unique")
            seen.add(x.name)
    families = {p.name: p.family for p in priors}
    for i, d in enumerate(designs, start=1):
        for key in ("prior", "design_prior", "prior_treatment", "prior_control"):
            ref = getattr(d, key, None)
            if families.get(ref) == "mvnormal":
                raise ValueError(
                    f"[[design]] #{i} {d.name!r}, field '{key}': prior {ref!r} is multivariate normal, a prior "
                    "for a model (as_pymc), not for a design"
                )
    for i, d in enumerate(designs, start=1):
        at = f"[[design]] #{i} {d.name!r}"
        grid_range = getattr(d, "grid_range", None)
        if grid_range is not None and not grid_range[0] < grid_range[1]:
            raise ValueError(f"{at}, field 'grid_range': {list(grid_range)} must be [low, high] with low < high")
        refs = [
            getattr(d, k) for k in ("prior", "design_prior", "prior_treatment", "prior_control") if getattr(d, k, None)
        ]
        for ref in [*refs, *getattr(d, "compare", [])]:
            if ref not in names:
                raise ValueError(f"{at}: prior {ref!r} is not defined; defined: {names}")
        cal = getattr(d, "calibration", None)
        if cal is not None and cal.match is not None and cal.match not in [d.prior, *d.compare]:
            raise ValueError(
                f"{at}, [design.calibration], field 'match': {cal.match!r} is not a prior of the design; "
                f"allowed: {[d.prior, *d.compare]} (its 'prior' and 'compare')"
            )
        if d.type == "adaptive-two-sample":
            for key in ("prior_treatment", "prior_control"):
                if families[getattr(d, key)] != "beta":
                    raise ValueError(f"{at}, field '{key}': the adaptive design needs a Beta prior (binary endpoint)")
            continue
        _one_family(d, at, {p.name: _endpoint(p) for p in priors})
        _ranges(d, at, families)
        _effective(d, at, {p.name: p for p in priors})


def _ranges(d, at: str, families: dict[str, str]) -> None:
    """Rates of a Beta prior are in (0, 1): p0, power_rate and report_rates are true values of the design's
    (treatment) prior, p_c of the control prior, and an identity-link delta a difference of both."""
    if d.type == "one-sample":
        main = families[d.prior]
        rates = [("p0", d.p0, main, False), ("power_rate", d.power_rate, main, False)]
        rates += [("report_rates", r, main, True) for r in d.report_rates]
    else:
        control, main = families[d.prior_control], families[d.prior_treatment]
        rates = [("p_c", d.p_c, control, True), ("power_rate", d.power_rate, main, False)]
        if d.link == "identity" and main == control == "beta" and not -1 < d.delta < 1:
            raise ValueError(f"{at}, field 'delta': {d.delta} must be a difference in (-1, 1)")
    for key, v, family, closed in rates:
        if v is not None and family == "beta" and not (0 <= v <= 1 if closed else 0 < v < 1):
            raise ValueError(f"{at}, field '{key}': {v} must be a rate in {'[0, 1]' if closed else '(0, 1)'}")


def _effective(d, at: str, priors: dict) -> None:
    """Refuse design keys that would have no effect with the design's prior (issue 23: they were ignored)."""
    key = "prior" if d.type == "one-sample" else "prior_treatment"
    main = priors[getattr(d, key)]
    if main.family == "beta" and d.grid_range is not None:
        raise ValueError(
            f"{at}, field 'grid_range': the OC grid of a Beta prior spans [0, 1] (prior {main.name!r}, field "
            f"'{key}'), so 'grid_range' has no effect"
        )
    if d.type != "one-sample":
        return
    if main.family != "beta":
        for k, what in (
            ("interim_n", "the interim look"),
            ("sensitivity", "the sensitivity grid"),
            ("calibration", "the calibration"),
        ):
            if getattr(d, k) is not None:
                raise ValueError(
                    f"{at}, field '{k}': {what} is computed for Beta priors (binary data) only, and prior "
                    f"{main.name!r} (field 'prior') is {_endpoint(main)}, so it has no effect"
                )
    sens = d.sensitivity
    if sens is None:
        return
    if main.robust_weight is None:
        raise ValueError(
            f"{at}, [design.sensitivity], field 'robust_weight': the grid varies the robust weight of the design's "
            f"prior {main.name!r}, which has no 'robust_weight' (robustify it, or drop the table)"
        )
    for p0 in sens.p0:
        if round(p0 + sens.delta, 10) >= 1:  # as the run computes it: 0.7 + 0.3 is 1 there
            raise ValueError(
                f"{at}, [design.sensitivity], field 'delta': the power is computed at p0 + delta, and {p0:g} + "
                f"{sens.delta:g} = {p0 + sens.delta:g} is not a rate below 1"
            )


def _endpoint(p) -> str:
    """The endpoint a prior is for, in words: priors of one design must agree on it."""
    if p.family == "beta":
        return "a Beta prior (a binary endpoint)"
    if p.family == "normal":
        return "a normal prior (a continuous endpoint)"
    return f"a Gamma prior ({p.likelihood or 'poisson'} likelihood)"


def _one_family(d, at: str, endpoints: dict[str, str]) -> None:
    """Refuse a design whose priors are of different families (a Normal prior in ``compare`` of a binomial design
    was evaluated as a continuous design; mixed Normal and Beta arms failed with a traceback)."""
    key = "prior" if d.type == "one-sample" else "prior_treatment"
    main = getattr(d, key)
    others = [(k, getattr(d, k, None)) for k in ("design_prior", "prior_control")]
    others += [("compare", c) for c in getattr(d, "compare", [])]
    cal = getattr(d, "calibration", None)
    others.append(("calibration.match", cal.match if cal is not None else None))
    for k, ref in others:
        if ref is not None and endpoints[ref] != endpoints[main]:
            raise ValueError(
                f"{at}, field '{k}': prior {ref!r} is {endpoints[ref]}, but the design's prior {main!r} (field "
                f"'{key}') is {endpoints[main]}; every prior of a design must be of one family"
            )
