"""How the per-disease estimates move with the priors and with the data used.

Scenarios (each a fit; hierarchical model unless stated).  A scenario identical to a main fit (the
default priors; EXNEX with w = 0.5) reuses that fit, by cache key, when the Bayesian step has stored it
in ``out_dir``; every other scenario is sampled from the model kind's compiled sampler with its own
hyperparameters (:mod:`analysis.bayes.sampling`):

- the default priors, for reference;
- tau ~ HalfNormal(0.25), HalfNormal(0.5) and HalfNormal(2) (less or more heterogeneity; second review,
  issue 25);
- tau ~ HalfCauchy(0.5) and HalfCauchy(1) (heavier tails), computed exactly by the deterministic engine
  (:mod:`analysis.bayes.engine`: numerical integration over mu and tau), not sampled.  With every patient
  responding, the data cannot rule out any large heterogeneity, so the posterior of tau keeps the prior's
  Cauchy tail (draws of tau in the hundreds), and at such tau each disease's likelihood is a step in its
  ``z``: NUTS diverged in every parametrisation tried (non-centred: 132 and 73 divergent transitions at
  scales 1 and 0.5, target_accept 0.99; partially centred, ``theta = mu + tau / sqrt(c^2 + tau^2) * z``,
  ``z ~ Normal(0, sqrt(c^2 + tau^2))`` with c = 0.3, 1 or 3: 0 to 33 divergences, more with longer runs,
  and a bulk ESS of tau of 74 to 242 at the paper's 2000 draws per chain against the gate's 400, also at
  target_accept 0.999).  The gates are not loosened: an exact computation needs none (``mcse`` 0, no
  diagnostics row);
- mu ~ Normal(0, 1), Normal(0, 2.5), Normal(-1, 1.5) and Normal(1, 1.5);
- EXNEX with prior exchangeability weight 0.25, 0.5 and 0.75, and EXNEX with a unimodal
  non-exchangeable prior nex ~ Normal(0, 1) instead of the U-shaped unit-information Normal(0, 2)
  (on the probability scale a normal logit is unimodal only for an SD up to the square root of 2);
- one group left out, when the priors spec declares it (``[index_models] leave_out``; the paper's
  ``config/follow_up.toml`` leaves out the group whose endpoint is weaker than remission): scenario
  ``no_<group>``, labelled "<group> left out" (:func:`scenarios`); without the setting there is no such scenario;
- the external cohorts added as further exchangeable units (one row per
  overlap group, leaving out every row that may share patients with the
  index study, and the systematic-review rows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from analysis.bayes.models import DEFAULT_MODELS, Model
from analysis.bayes.prior import Prior
from analysis.bayes.sampling import cache_key, prepare
from analysis.bayes.units import Units, index_units
from analysis.data import load_cohorts, load_index
from analysis.frequentist.meta import SCENARIOS, select
from analysis.io import write_csv
from analysis.provenance import sha256
from analysis.settings import COHORTS, INDEX_STUDY, LEVEL, MCMC, NEW_GROUP, SETTINGS


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    model: str = "hierarchical"
    priors: dict[str, Prior] = field(default_factory=dict)
    exnex_weight: float | None = None
    #: the index-study groups to fit (``None``: every group in the data); ``drop`` leaves groups out
    groups: tuple[str, ...] | None = None
    drop: tuple[str, ...] = ()
    external: bool = False
    #: computed by the deterministic engine instead of NUTS (exact to its quadrature; no draws, no gates)
    exact: bool = False

    def spec(self) -> Model:
        spec = DEFAULT_MODELS[self.model].with_priors(**self.priors)
        return replace(spec, exnex_weight=self.exnex_weight) if self.exnex_weight is not None else spec


SCENARIOS_BAYES = (
    Scenario("default", "Default priors"),
    Scenario("tau_0.25", "tau ~ HalfNormal(0.25)", priors={"tau": Prior("HalfNormal", (0.25,))}),
    Scenario("tau_0.5", "tau ~ HalfNormal(0.5)", priors={"tau": Prior("HalfNormal", (0.5,))}),
    Scenario("tau_2", "tau ~ HalfNormal(2)", priors={"tau": Prior("HalfNormal", (2,))}),
    Scenario("tau_c0.5", "tau ~ HalfCauchy(0.5), exact", priors={"tau": Prior("HalfCauchy", (0.5,))}, exact=True),
    Scenario("tau_c1", "tau ~ HalfCauchy(1), exact", priors={"tau": Prior("HalfCauchy", (1,))}, exact=True),
    Scenario("mu_sd1", "mu ~ Normal(0, 1)", priors={"mu": Prior("Normal", (0, 1))}),
    Scenario("mu_sd2.5", "mu ~ Normal(0, 2.5)", priors={"mu": Prior("Normal", (0, 2.5))}),
    Scenario("mu_loc-1", "mu ~ Normal(-1, 1.5)", priors={"mu": Prior("Normal", (-1, 1.5))}),
    Scenario("mu_loc1", "mu ~ Normal(1, 1.5)", priors={"mu": Prior("Normal", (1, 1.5))}),
    Scenario("exnex_w0.25", "EXNEX, w = 0.25", model="exnex", exnex_weight=0.25),
    Scenario("exnex_w0.5", "EXNEX, w = 0.5", model="exnex", exnex_weight=0.5),
    Scenario("exnex_w0.75", "EXNEX, w = 0.75", model="exnex", exnex_weight=0.75),
    Scenario("exnex_nex1", "EXNEX, nex ~ Normal(0, 1)", model="exnex", priors={"nex": Prior("Normal", (0, 1))}),
    Scenario("external", "External cohorts added", external=True),
)
#: how a leave-one-group-out scenario's label ends (:mod:`analysis.publish.bayes` reads the group back from it)
LEFT_OUT = " left out"


def leave_out_scenario(group: str) -> Scenario:
    """The hierarchical model refitted without ``group``: id ``no_<group in lower case>`` (a safe file name: any
    run of other characters than letters, digits, '.' and '-' becomes '_'), label '<group> left out'."""
    name = re.sub(r"[^a-z0-9.-]+", "_", group.lower())
    return Scenario(f"no_{name}", f"{group}{LEFT_OUT}", drop=(group,))


def scenarios(leave_out: str | None = None, external: bool = True) -> tuple[Scenario, ...]:
    """The scenarios of the sensitivity analysis in table order: :data:`SCENARIOS_BAYES`, with the
    leave-one-group-out scenario of ``leave_out`` (:func:`analysis.priors.datacheck.leave_out_setting`, the priors
    spec's ``[index_models] leave_out``) before the external cohorts; without the external cohorts' scenario when
    ``external`` is false (a cohort with no eligible external cohort: :func:`has_external`)."""
    *before, last = SCENARIOS_BAYES
    if leave_out is not None:
        before.append(leave_out_scenario(leave_out))
    return (*before, last) if external else tuple(before)


def has_external(index_path: Path = INDEX_STUDY, cohorts_path: Path = COHORTS) -> bool:
    """Whether the external cohorts' scenario adds any unit to the index study's (not without an evidence base)."""
    last = SCENARIOS_BAYES[-1]
    return len(scenario_units(last, index_path, cohorts_path).labels) > len(index_units(index_path).labels)


def external_units(cohorts: pd.DataFrame, index_groups: set[str]) -> pd.DataFrame:
    """Primary cohorts, one per overlap group, none that may overlap the index study."""
    chosen = select(cohorts, SCENARIOS[0])
    return chosen[~chosen["overlap_group"].isin(index_groups)]


def scenario_units(s: Scenario, index_path: Path, cohorts_path: Path) -> Units:
    units = index_units(index_path, groups=s.groups)
    if s.drop:
        keep = [i for i, g in enumerate(units.labels) if g not in s.drop]
        units = Units(*(tuple(v[i] for i in keep) for v in (units.labels, units.events, units.n)))
    if not s.external:
        return units
    cohorts = load_cohorts(cohorts_path)
    index_ids = set(load_index(index_path)["study_id"])
    index_groups = set(cohorts.loc[cohorts["study_id"].str.split("_").str[0].isin(index_ids), "overlap_group"]) - {""}
    ext = external_units(cohorts, index_groups)
    return Units(
        units.labels + tuple(ext["study_id"]),
        units.events + tuple(int(x) for x in ext["n_responders"]),
        units.n + tuple(int(x) for x in ext["n_treated"]),
    )


def scenario_fits(
    index_path: Path = INDEX_STUDY, cohorts_path: Path = COHORTS, scenarios: tuple[Scenario, ...] = SCENARIOS_BAYES
) -> list[tuple[Model, Units]]:
    """Each sampled scenario's model and data (read once), for the fits and for compiling their samplers
    beforehand (the exact scenarios, computed by the engine, have no sampler)."""
    return [(s.spec(), scenario_units(s, index_path, cohorts_path)) for s in scenarios if not s.exact]


def exact_rows(spec: Model, units: Units, groups: list[str], level: float = LEVEL) -> dict[str, dict]:
    """The posterior mean, median and equal-tailed interval of each group's rate and of a new group's, computed
    by the deterministic engine; MCSE 0 and ESS infinite, as for every exact posterior of the results."""
    import numpy as np

    from analysis.bayes.engine import posterior

    # the table path's rule (direct=False): the one-off rows agree to about 2e-8 here, above the 1e-9 at which
    # `make reproduce` compares exact numbers with reference/
    post = posterior(spec.engine_model(list(units.labels)), list(units.events), list(units.n), direct=False)
    qs = [(1 - level) / 2, 0.5, (1 + level) / 2]
    q = post.quantile(qs)  # (3, K)
    out = {}
    for k, g in enumerate(units.labels):
        if g in groups:
            out[g] = dict(estimate=float(post.mean[k]), lower=q[0, k], median=q[1, k], upper=q[2, k])
    lo, med, hi = post.new_quantile(qs)
    out[NEW_GROUP] = dict(estimate=float(post.new_mean), lower=lo, median=med, upper=hi)
    mc = {**dict.fromkeys(("mcse", "mcse_median", "mcse_lower", "mcse_upper"), 0.0), "ess": np.inf}
    return {g: {k: float(r[k]) for k in ("estimate", "lower", "upper", "median")} | mc for g, r in out.items()}


def run(
    index_path: Path = INDEX_STUDY,
    cohorts_path: Path = COHORTS,
    out_dir: Path = Path("results/bayes"),
    mcmc: MCMC = SETTINGS.mcmc,
    scenarios: tuple[Scenario, ...] = SCENARIOS_BAYES,
) -> pd.DataFrame:
    from analysis.bayes.step import fit_model  # here: the samplers step imports this module for scenario_fits only
    from analysis.bayes.summaries import summarise_draws

    out_dir = Path(out_dir)
    checksums = {str(p): sha256(p) for p in (index_path, cohorts_path) if Path(p).exists()}
    rows, diags = [], []
    sampled = [s for s in scenarios if not s.exact]
    fits = scenario_fits(index_path, cohorts_path, scenarios)
    prepare(fits, mcmc)
    index_groups = set(index_units(index_path).labels)
    # the scenarios that are main models (their fits may be stored by the Bayesian step, which runs beside this one)
    # are fitted last, so that a main fit stored meanwhile is reused; each fit depends on its own seed only
    main = {cache_key(m, index_units(index_path), mcmc) for m in DEFAULT_MODELS.values() if not m.closed_form}
    order = sorted(range(len(fits)), key=lambda i: cache_key(*fits[i], mcmc) in main)
    fitted = {}
    for i in order:
        spec, units = fits[i]
        fitted[sampled[i].name] = fit_model(
            spec, units, out_dir / "sensitivity", mcmc, checksums, tag=sampled[i].name, reuse=(out_dir,)
        )
    for s in scenarios:
        spec, units = s.spec(), scenario_units(s, index_path, cohorts_path)
        groups = [d for d in units.labels if d in index_groups]
        if s.exact:
            summaries = exact_rows(spec, units, groups)
        else:
            idata, _, diag = fitted[s.name]
            diags.append(diag)
            post = idata.posterior
            summaries = {g: summarise_draws(post["p"].sel(unit=g), LEVEL) for g in groups}
            summaries[NEW_GROUP] = summarise_draws(post["p_new"], LEVEL)
        for g in [*groups, NEW_GROUP]:
            rows.append(
                dict(
                    scenario=s.name,
                    label=s.label,
                    model=spec.name,
                    method=spec.method,
                    group=g,
                    priors="; ".join(f"{k} ~ {v}" for k, v in spec.priors.items())
                    + "".join(f"; w = {v:g}" for k, v in spec.settings().items() if k == "exnex_weight"),
                    units=len(units.labels),
                    **summaries[g],
                    level=LEVEL,
                )
            )
    table = pd.DataFrame(rows)
    write_csv(out_dir / "sensitivity_diagnostics.csv", pd.concat(diags, ignore_index=True))
    write_csv(out_dir / "sensitivity.csv", table)
    return table
