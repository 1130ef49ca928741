"""Reused outcome spaces give the numbers of a fresh computation, whatever the thresholds.

End states and their probabilities are identical; the posterior summaries agree to rounding (the
hierarchical contraction over more states may round the last bit differently, 1e-15 measured), and the
decisions they lead to, hence the go probabilities, are identical.
"""

import numpy as np
import pytest
from scipy import stats

from analysis.basket import spec as basket_spec
from analysis.basket.design import decide, exact_space
from analysis.basket.methods.tails import MIN_SIZE, beta_sf
from analysis.studio.spaces import Reuse, reachable_states


def _design(c, interim="borrow", methods=None):
    methods = methods or {
        "independent": {"prior": [1, 1]},
        "hierarchical": {"scale": "null", "mu": "Normal(0.65, 1.5)", "tau": "HalfNormal(1)"},
        "mem": {"prior": [1, 1], "inclusion": 0.5},
        "jsd": {"prior": [1, 1], "epsilon": 2.0, "tau": 0.5},
    }
    inds = [
        {"name": "A", "n": 10, "p0": 0.3, "target": 0.6, "c": c[0], "interim_n": 5, "futility": 0.1},
        {"name": "B", "n": 8, "p0": 0.2, "target": 0.5, "c": c[1], "interim_n": 4, "futility": 0.2},
    ]
    spec = {"design": {"name": "t", "interim": interim}, "indication": inds, "method": methods}
    spec["scenarios"] = {"generate": ["null"]}
    return spec, basket_spec.parse(spec, "test design")


@pytest.mark.parametrize("interim", ["borrow", "own"])
def test_reused_spaces_equal_fresh_ones(interim):
    reuse = Reuse()
    for c in ((0.95, 0.9), (0.8, 0.97), (0.6, 0.6), (0.95, 0.9)):
        spec, design = _design(c, interim)
        for m in design.methods:
            kept, fresh = reuse.space(design, m, spec["method"][m.name]), exact_space(design, m)
            np.testing.assert_array_equal(kept.n, fresh.n)
            np.testing.assert_array_equal(kept.y, fresh.y)
            np.testing.assert_array_equal(kept.flags, fresh.flags)
            assert kept.summ.keys() == fresh.summ.keys()
            for key in fresh.summ:
                np.testing.assert_allclose(
                    kept.summ[key], fresh.summ[key], rtol=1e-13, atol=1e-15, err_msg=f"{m.name} {key} at {c}"
                )
            p = np.array([0.45, 0.35])
            np.testing.assert_array_equal(kept.probabilities(p), fresh.probabilities(p))
            go_kept, go_fresh = (decide(design, sp.summ, sp.flags) for sp in (kept, fresh))
            np.testing.assert_array_equal(go_kept, go_fresh)


def test_thresholds_change_the_end_states_that_reuse_must_follow():
    """The reuse would be pointless (and its test empty) if the end states did not move with the thresholds."""
    _, loose = _design((0.6, 0.6))
    _, strict = _design((0.99, 0.99))
    m = loose.methods[0]
    assert len(exact_space(loose, m).n) != len(exact_space(strict, m).n)


def test_reachable_states_hold_every_interim_and_final_count():
    _, design = _design((0.9, 0.9))
    reach = reachable_states(design)
    assert [len(s) for s in reach] == [6 + 11, 5 + 9]
    assert sorted(set(reach[1].n.tolist())) == [4, 8]


def test_beta_sf_is_scipys_value_for_every_element():
    rng = np.random.default_rng(7)
    a = rng.integers(1, 30, size=(400, 5)).astype(float)
    b = rng.integers(1, 30, size=(400, 5)).astype(float)
    a[:, 4] += rng.random(400)  # non-integer shapes too (JSD's weighted counts)
    x = np.array([0.1, 0.2, 0.3, 0.3, 0.5])
    assert a.size >= MIN_SIZE  # the de-duplicating path
    np.testing.assert_array_equal(beta_sf(x, a, b), stats.beta.sf(x, a, b))
    np.testing.assert_array_equal(beta_sf(0.3, a[:3, :2], b[:3, :2]), stats.beta.sf(0.3, a[:3, :2], b[:3, :2]))
    a[0, 0] = np.nan
    got, want = beta_sf(x, a, b), stats.beta.sf(x, a, b)
    assert np.isnan(got[0, 0]) and np.isnan(want[0, 0])
    np.testing.assert_array_equal(got[1:], want[1:])
