"""One distribution type (analysis.bayes.prior): every family's conversions agree with each other and with
closed forms, and every reader of a distribution (models, CLI, engine, design files) takes the same spellings."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, stats

from analysis.bayes import engine
from analysis.bayes.models import DEFAULT_MODELS, PriorError
from analysis.bayes.prior import FAMILIES, Prior, accepted, as_prior

#: one valid prior of every built-in family
EXAMPLES = [
    "Normal(0.3, 1.5)",
    "HalfNormal(0.7)",
    "HalfCauchy(0.5)",
    "HalfStudentT(3, 1.2)",
    "Uniform(0, 2.5)",
    "LogNormal(-0.5, 0.8)",
    "Beta(2, 5)",
]


def test_every_builtin_family_has_an_example():
    assert {Prior.parse(s).dist for s in EXAMPLES} == set(FAMILIES)


@pytest.mark.parametrize("text", EXAMPLES)
def test_pymc_logp_equals_scipy_logpdf(text):
    """The PyMC random variable and the scipy distribution are the same density, so a prior means the same in
    the MCMC models as in the engine, the tables and the prior predictive.

    Parameters go in as float64 arrays, as the models pass them (``pm.Data``): PyTensor would otherwise cast a
    Python float such as 1.5 to float32 (it is exact there) and compute in float32.  Tolerance 1e-8: PyMC's
    half-Cauchy and half-t constants differ from scipy's by 1.9e-9 (all other families by < 1e-14); a wrong
    parameterisation (variance for sd, rate for scale) moves the log density by far more."""
    import pymc as pm

    prior = Prior.parse(text)
    x = prior.ppf(np.array([0.05, 0.3, 0.5, 0.8, 0.97]))
    with pm.Model():
        rv = prior.pymc("x", params=[np.array(v, "float64") for v in prior.params])
    got = np.array([float(pm.logp(rv, np.array(v)).eval()) for v in x])
    assert_allclose(got, prior.logpdf(x), rtol=0, atol=1e-8)


@pytest.mark.parametrize("text", EXAMPLES)
def test_draws_follow_the_distribution(text):
    """``rvs`` draws from the same distribution as ``frozen`` (Kolmogorov-Smirnov, seeded; p > 1e-3)."""
    prior = Prior.parse(text)
    draws = prior.rvs(20_000, np.random.default_rng(20))
    assert stats.kstest(draws, prior.cdf).pvalue > 1e-3


def test_half_student_t_moments_by_integration():
    """The half-t's mean and sd (closed forms in _HalfT) against numerical integration of its density."""
    prior = Prior("HalfStudentT", (5, 1.3))
    dens = lambda x: np.exp(prior.logpdf(x))  # noqa: E731
    assert integrate.quad(dens, 0, np.inf)[0] == pytest.approx(1, abs=1e-9)
    m1 = integrate.quad(lambda x: x * dens(x), 0, np.inf)[0]
    m2 = integrate.quad(lambda x: x * x * dens(x), 0, np.inf)[0]
    assert prior.frozen.mean() == pytest.approx(m1, rel=1e-8)
    assert prior.frozen.std() == pytest.approx(math.sqrt(m2 - m1**2), rel=1e-7)
    assert prior.ppf(prior.cdf(0.8)) == pytest.approx(0.8, rel=1e-10)


def test_value_object_repr_equality_and_one_spelling():
    p = Prior.parse(" HalfStudentT( 3 , 1 ) ")
    assert p == Prior("HalfStudentT", (3, 1)) == as_prior(("HalfStudentT", (3.0, 1.0))) == as_prior(p)
    assert repr(p) == "HalfStudentT(3, 1)" and hash(p) == hash(Prior("HalfStudentT", (3.0, 1.0)))
    assert p.params == (3.0, 1.0) and p.name == p.dist == "HalfStudentT"
    # the engine's distribution type is this one: a design file (engine.as_dist) and --prior (Prior.parse) read
    # and refuse the same spellings with the same messages
    assert engine.Dist is Prior and engine.as_dist is as_prior
    for bad, message in [
        ("Gamma(2, 1)", "unknown prior distribution 'Gamma'"),
        ("Normal(0)", "takes 2 parameter"),
        ("HalfNormal(-1)", "the scale must be > 0"),
        ("HalfStudentT(0, 1)", "degrees of freedom"),
        ("Uniform(2, 1)", "need lower < upper"),
        ("Normal(nan, 1)", "must be finite"),
        ("Normal 0 1", "cannot read prior"),
    ]:
        with pytest.raises(ValueError, match=message):
            Prior.parse(bad)
        with pytest.raises(ValueError, match=message):
            engine.as_dist(bad)
    with pytest.raises(ValueError, match="must be finite numbers"):
        Prior("Normal", ("0", 1))


def test_supports_decide_where_a_prior_may_go():
    assert Prior.parse("Uniform(0, 3)").support == "positive" and Prior.parse("Uniform(-1, 3)").support == "real"
    assert "HalfStudentT" in accepted("positive") and "Uniform" in accepted("real") and accepted("unit") == ["Beta"]
    spec = DEFAULT_MODELS["hierarchical"].with_priors(tau=Prior.parse("HalfStudentT(3, 1)"))
    assert spec.describe()["priors"]["tau"] == "HalfStudentT(3, 1)"
    with pytest.raises(PriorError, match=r"needs a prior on positive values; use one of \['HalfNormal'"):
        DEFAULT_MODELS["hierarchical"].with_priors(tau=Prior("Normal", (0, 1)))


def test_engine_takes_the_same_objects_and_strings_for_mu_tau_and_nex():
    """Model.exnex takes a Prior, its spelling or the (m, s) pair for nex, as for mu and tau; the posterior is the
    same whichever is given."""
    as_pair = engine.EngineModel.exnex((("Normal", (0, 1.5))), "HalfNormal(1)", nex=(0.5, 2), w=0.5)
    as_text = engine.EngineModel.exnex("Normal(0, 1.5)", Prior("HalfNormal", (1,)), nex="Normal(0.5, 2)", w=0.5)
    per_group = engine.EngineModel.exnex("Normal(0, 1.5)", "HalfNormal(1)", nex=["Normal(0.5, 2)", (0.5, 2)], w=0.5)
    assert as_pair == as_text and as_text.nex == (0.5, 2.0) and per_group.nex == ((0.5, 2.0), (0.5, 2.0))
    a, b = engine.posterior(as_pair, [4, 1], [6, 5]), engine.posterior(per_group, [4, 1], [6, 5])
    assert_allclose(a.mean, b.mean, rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"nex must be Normal\(m, s\), got HalfNormal\(1\)"):
        engine.EngineModel.exnex("Normal(0, 1.5)", "HalfNormal(1)", nex="HalfNormal(1)")
    # a positive tau prior of any family integrates
    t = engine.posterior(engine.EngineModel.hierarchical("Normal(0, 1.5)", "HalfStudentT(3, 1)"), [4, 1], [6, 5])
    assert np.all((t.mean > 0) & (t.mean < 1))


# -- a new prior family is one Family plus one registration line -------------------------------------------------
def _exponential():
    from analysis.bayes.prior import Family

    return Family(
        "Exponential",
        ("lam",),
        "positive",
        lambda p: None if p[0] > 0 else "the rate must be > 0",
        lambda p: stats.expon(scale=1 / p[0]),
        lambda rv, p, **kw: __import__("pymc").Exponential(rv, lam=p[0], **kw),
        lambda p, size, rng: rng.exponential(1 / p[0], size),
    )


@pytest.fixture
def toy_family():
    from analysis.bayes.prior import register_family, unregister_family

    family = register_family(_exponential())  # the one registration line
    yield family
    unregister_family(family.name)


def test_a_registered_prior_family_reaches_cli_models_engine_and_tables(toy_family):
    """A toy family registered here, with no other module edited, is accepted by --prior, set on a model (support
    checked), integrated by the engine, drawn from for the prior predictive and shown in the paper's
    hyperparameter table with its exact prior median (ln 2 / 2 for Exponential(2)); unregistered, it is refused
    by name."""
    import arviz as az
    import pandas as pd

    from analysis.bayes.summaries import hyperparameter_rows, prior_predictive
    from analysis.cli import _models, build_parser
    from analysis.publish.bayes import hyperparameter_table

    args = build_parser().parse_args(["bayes", "--model", "hierarchical", "--prior", "tau=Exponential(2)"])
    spec = _models(args)["hierarchical"]
    assert spec.priors["tau"] == Prior("Exponential", (2,)) and "Exponential" in accepted("positive")
    assert spec.describe()["priors"]["tau"] == "Exponential(2)"
    with pytest.raises(PriorError, match="needs a prior on the real line"):
        spec.with_priors(mu=Prior("Exponential", (1,)))
    post = engine.posterior(engine.EngineModel.hierarchical("Normal(0, 1.5)", "Exponential(2)"), [4, 1], [6, 5])
    assert np.all((post.mean > 0) & (post.mean < 1))
    pred = prior_predictive(spec, size=4000, seed=1)["p_d"]
    assert pred.shape == (4000,) and np.all((pred > 0) & (pred < 1))
    rng = np.random.default_rng(5)
    idata = az.from_dict(posterior={"mu": rng.normal(1, 0.5, (2, 300)), "tau": rng.exponential(0.5, (2, 300))})
    rows = pd.DataFrame(hyperparameter_rows(spec, idata))
    tau_prior = rows[(rows.parameter == "tau") & (rows.source == "prior")].iloc[0]
    assert tau_prior.q50 == pytest.approx(math.log(2) / 2, rel=1e-12)
    table = hyperparameter_table(rows)
    assert "Exponential(2)" in table and "0.35" in table.split("Exponential(2)")[1].splitlines()[0]


def test_an_unknown_family_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown prior distribution 'Exponential'; expected one of \['Normal'"):
        Prior.parse("Exponential(2)")


def test_a_registered_prior_family_is_accepted_by_a_basket_design_file(toy_family):
    """The same toy family in a basket design file: read by the design-file parser, integrated by the engine in
    the exact operating characteristics; unregistered, the parser refuses it naming method and key."""
    from analysis.basket.design import exact_oc
    from analysis.basket.spec import DesignError, parse
    from analysis.bayes.prior import register_family, unregister_family

    spec = {
        "design": {"name": "t", "oc": "exact"},
        "indication": [{"name": f"I{k}", "n": 6, "p0": 0.2, "target": 0.5, "c": 0.8} for k in range(2)],
        "method": {"m": {"type": "exnex", "mu": "Normal(0, 1.5)", "tau": "Exponential(2)", "nex": "Normal(0, 2)"}},
        "scenario": [{"name": "mixed", "p": [0.2, 0.5]}],
    }
    design = parse(spec)
    rows = exact_oc(design, design.methods[0])
    assert all(0 < r["go"] < 1 for r in rows)
    unregister_family("Exponential")
    try:
        with pytest.raises(DesignError, match=r"key 'tau'.*unknown prior distribution 'Exponential'"):
            parse(spec)
    finally:
        register_family(toy_family)
