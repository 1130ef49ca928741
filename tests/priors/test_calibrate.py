"""Calibrated thresholds (analysis.priors.calibrate), checked by brute force and against closed forms.

Sources: Kopp-Schneider, Calderazzo & Wiesenfarth (2020), Biometrical Journal 62:361-374 (with the
type I error at p0 controlled, borrowing cannot raise the power of a one-arm binomial test: the
calibrated rule is the exact binomial test); RBesT's decision1S/oc1S conventions (success iff
P(p > p0 | y) > c).  The exact binomial test of H0: p <= 0.5 with n = 20 at one-sided 5% rejects
for y >= 15, size sum_{k=15}^{20} C(20, k) / 2^20 = 21700 / 1048576 (any binomial table).
"""

from math import comb

import numpy as np
import pytest

from analysis.priors.calibrate import calibrate1S
from analysis.priors.decision1S import decision1S
from analysis.priors.mixture import BetaMixture
from analysis.priors.oc1S import oc1S

VAGUE = BetaMixture([(1.0, 1.0, 1.0)])
# a robust MAP-like prior concentrated near 1 (the shape of the SLE MAP prior)
MAP = BetaMixture([(0.4, 6.03, 1.0), (0.3, 22.4, 1.02), (0.1, 1.09, 1.0), (0.2, 1.0, 1.0)])
SKEPTIC = BetaMixture([(0.8, 3.0, 12.0), (0.2, 1.0, 1.0)])


def test_binomial_table_value():
    cal = calibrate1S(VAGUE, 20, 0.5, 0.05)
    assert cal.boundary == 15
    assert cal.type1 == pytest.approx(sum(comb(20, k) for k in range(15, 21)) / 2**20, rel=1e-12)
    assert 21700 / 1048576 == pytest.approx(cal.type1, rel=1e-12)


@pytest.mark.parametrize("prior", [VAGUE, MAP, SKEPTIC], ids=["vague", "map", "skeptic"])
@pytest.mark.parametrize("n,p0,alpha", [(20, 0.5, 0.05), (20, 0.5, 0.10), (15, 0.3, 0.05), (30, 0.7, 0.025)])
def test_calibrated_threshold_matches_brute_force(prior, n, p0, alpha):
    cal = calibrate1S(prior, n, p0, alpha)
    # brute force: every threshold that changes the rule is a posterior probability q(y); try each
    # of them and the midpoints, keep those with type I error <= alpha, and take the best power
    q = prior.post_sf(p0, np.arange(n + 1, dtype=float), n)
    cands = np.unique(np.clip(np.r_[q, (q[1:] + q[:-1]) / 2], 1e-12, 1 - 1e-12))
    best = None
    for c in cands:
        oc = oc1S(prior, n, decision1S(float(c), p0, lower_tail=False))
        t1 = float(oc(p0))
        if t1 <= alpha and (best is None or t1 > best[0] + 1e-15):
            best = (t1, float(oc(min(p0 + 0.2, 0.99))), int(oc.boundary) + 1)
    assert best is not None
    oc = oc1S(prior, n, decision1S(cal.c, p0, lower_tail=False))
    assert float(oc(p0)) == pytest.approx(best[0], abs=1e-14)
    assert cal.type1 == pytest.approx(best[0], abs=1e-14)
    assert int(oc.boundary) + 1 == cal.boundary == best[2]
    assert float(oc(min(p0 + 0.2, 0.99))) == pytest.approx(best[1], abs=1e-14)
    # any c in [c, c_upper) gives the same rule, c_upper does not
    mid = (cal.c + cal.c_upper) / 2
    assert int(oc1S(prior, n, decision1S(mid, p0, lower_tail=False)).boundary) + 1 == cal.boundary
    if cal.c_upper < 1:
        assert int(oc1S(prior, n, decision1S(cal.c_upper, p0, lower_tail=False)).boundary) + 1 > cal.boundary


def test_same_type1_same_power_kopp_schneider():
    """At a common type I error all priors give the exact binomial test's boundary, hence equal power."""
    for n, p0, alpha in [(20, 0.5, 0.05), (40, 0.3, 0.1)]:
        cals = [calibrate1S(m, n, p0, alpha) for m in (VAGUE, MAP, SKEPTIC)]
        assert len({c.boundary for c in cals}) == 1
        powers = {
            round(float(oc1S(m, n, decision1S(c.c, p0, lower_tail=False))(0.8)), 14)
            for m, c in zip((VAGUE, MAP, SKEPTIC), cals)
        }
        assert len(powers) == 1
        # while the thresholds differ: an optimistic prior needs a larger c
        assert cals[1].c > cals[0].c > cals[2].c


def test_impossible_target_is_an_error():
    with pytest.raises(ValueError, match="no boundary"):
        calibrate1S(VAGUE, 5, 0.5, 0.01)  # P(Y = 5) = 1/32 > 0.01
