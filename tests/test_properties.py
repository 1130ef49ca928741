"""Property-based tests (hypothesis) for the mathematics: laws that hold for every input, not just examples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats

from analysis.bayes.conjugate import beta_posterior
from analysis.frequentist.intervals import interval, upper_bound
from analysis.priors import BetaMixture

METHODS = ["clopper-pearson", "wilson", "jeffreys"]
counts = st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(counts, st.sampled_from(METHODS), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_interval_contains_the_estimate_and_lies_in_0_1(xn, method, level):
    x, n = xn
    lo, hi = interval(x, n, method, level)
    assert 0.0 <= lo <= x / n <= hi <= 1.0


@given(st.integers(1, 200), st.sampled_from(METHODS), st.floats(0.05, 0.95))
def test_interval_narrows_with_n_at_a_fixed_proportion(n, method, p):
    """Four times the patients at the same observed proportion gives a narrower interval."""
    x = round(p * n)
    lo1, hi1 = interval(x, n, method)
    lo4, hi4 = interval(4 * x, 4 * n, method)
    assert hi4 - lo4 < hi1 - lo1


@given(counts, st.sampled_from([0.8, 0.9, 0.95]))
def test_wider_level_gives_wider_interval(xn, level):
    x, n = xn
    lo, hi = interval(x, n, "clopper-pearson", level)
    lo2, hi2 = interval(x, n, "clopper-pearson", min(0.999, level + 0.04))
    assert lo2 <= lo and hi <= hi2


@given(st.integers(1, 300))
def test_one_sided_bound_for_zero_events_is_exact(n):
    assert upper_bound(0, n) == pytest.approx(1 - 0.05 ** (1 / n), rel=1e-9)


batches = st.lists(counts, min_size=1, max_size=6)


@settings(deadline=None)  # scipy per example: a loaded machine would trip the 200 ms default
@given(batches, st.floats(0.1, 10), st.floats(0.1, 10))
def test_conjugate_update_is_bayes_rule_and_commutes_with_batching(data, a, b):
    """The Beta-binomial update is Bayes' rule: its posterior density is prior x likelihood up to a constant
    (checked by the log-density differences between rates, independently of the update's formula), so it is
    Beta(a + events, b + non-events); and updating batch by batch, in any order, equals one update with the
    totals.  Commuting alone holds for any additive update, a wrong one (events and non-events swapped) too."""
    events, total = sum(x for x, _ in data), sum(n for _, n in data)
    post_a, post_b = beta_posterior(events, total, a, b)
    assert (post_a, post_b) == pytest.approx((a + events, b + total - events), rel=1e-12)
    p = np.array([0.05, 0.3, 0.5, 0.8, 0.95])
    log_post = stats.beta.logpdf(p, post_a, post_b)
    log_bayes = stats.beta.logpdf(p, a, b) + sum(stats.binom.logpmf(x, n, p) for x, n in data)
    assert_allclose(np.diff(log_post), np.diff(log_bayes), rtol=1e-9, atol=1e-8)
    seq_a, seq_b = a, b
    for x, n in data:
        seq_a, seq_b = beta_posterior(x, n, seq_a, seq_b)
    rev_a, rev_b = a, b
    for x, n in reversed(data):
        rev_a, rev_b = beta_posterior(x, n, rev_a, rev_b)
    assert (seq_a, seq_b) == pytest.approx((post_a, post_b)) and (rev_a, rev_b) == pytest.approx((post_a, post_b))


@given(batches)
def test_mixture_posterior_commutes_with_batching(data):
    prior = BetaMixture([(0.7, 4.0, 6.0), (0.3, 1.0, 1.0)])
    seq = prior
    for x, n in data:
        seq = seq.posterior(x, n)
    tot = prior.posterior(sum(x for x, _ in data), sum(n for _, n in data))
    for (w1, a1, b1), (w2, a2, b2) in zip(seq.components, tot.components):
        assert (w1, a1, b1) == pytest.approx((w2, a2, b2), rel=1e-9, abs=1e-12)


components = st.lists(
    st.tuples(st.floats(0.05, 1.0), st.floats(0.5, 30.0), st.floats(0.5, 30.0)), min_size=1, max_size=3
)


@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(components, st.integers(0, 2**32 - 1))
def test_mixture_moments_match_sampling(comps, seed):
    total = sum(w for w, _, _ in comps)
    mix = BetaMixture([(w / total, a, b) for w, a, b in comps])
    rng = np.random.default_rng(seed)
    size = 200_000
    which = rng.choice(len(comps), size=size, p=[w for w, _, _ in mix.components])
    a = np.array([c[1] for c in mix.components])[which]
    b = np.array([c[2] for c in mix.components])[which]
    draws = rng.beta(a, b)
    se_mean = draws.std() / np.sqrt(size)
    assert abs(draws.mean() - mix.mean()) < 5 * se_mean
    # the sd of the sample sd is about sd / sqrt(2 size) for these bounded variables; allow 5 of it plus kurtosis slack
    assert abs(draws.std() - mix.sd()) < 5 * mix.sd() * np.sqrt(2 / size) + 1e-3


@settings(max_examples=25, deadline=None)
@given(st.integers(5, 60), st.floats(0.1, 0.8), st.floats(0.8, 0.99))
def test_operating_characteristics_rise_with_the_true_rate(n, p0, c):
    from analysis.priors import decision1S, oc1S

    prior = BetaMixture([(0.8, 3.0, 3.0), (0.2, 1.0, 1.0)])
    rates = np.linspace(0.0, 1.0, 41)
    power = np.asarray(oc1S(prior, n, decision1S(c, p0, lower_tail=False))(rates), float)
    assert np.all(np.diff(power) >= -1e-12)
    assert power[0] <= 1e-12 or power[0] == pytest.approx(power[-1])
