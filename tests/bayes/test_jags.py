"""The bench's JAGS row (tools/bench_jags.py): skipped with a message without JAGS; with it, bhmbasket's way of
running JAGS agrees with the engine's one-off EXNEX posterior within Monte Carlo error.  JAGS is optional (not in
set-up or CI): the comparison is skipped where it is absent."""

import numpy as np
import pytest

from tools import bench_jags
from tools.bench_basket import _jags_row
from tools.bench_oneoff import model_and_data


def test_the_row_is_skipped_with_the_install_command_when_jags_is_missing(monkeypatch):
    monkeypatch.setattr(bench_jags.shutil, "which", lambda tool: None)
    row = _jags_row(0.1, 0.1, 0.005)
    assert set(row) == {"skipped"}
    assert "Rscript is not installed" in row["skipped"] and bench_jags.INSTALL in row["skipped"]


def test_the_comparison_flags_means_outside_monte_carlo_error():
    jags = {"mean": np.array([[0.30, 0.50], [0.31, 0.49]]), "sd": np.full((2, 2), 0.1), "ess": np.full((2, 2), 5000)}
    se = 0.1 / np.sqrt(10_000)  # 1e-3
    near = bench_jags.compare([0.305 + 2 * se, 0.495], jags)
    assert near["agree"] and near["z"][0] == pytest.approx(2.0)
    far = bench_jags.compare([0.305 + 5 * se, 0.495], jags)
    assert not far["agree"]


def test_only_bhmbasket_s_model_is_sent_to_jags():
    from analysis.bayes.engine import EngineModel

    with pytest.raises(ValueError, match="HalfNormal"):
        bench_jags.run_jags(EngineModel.exnex("Normal(0, 1)", "HalfCauchy(1)", (0, 2), 0.5), [1, 2], [10, 10])


@pytest.mark.slow
@pytest.mark.skipif(bench_jags.jags_missing() is not None, reason="JAGS with rjags is not installed")
def test_jags_agrees_with_the_engine_within_monte_carlo_error():
    from analysis.bayes.engine import posterior

    model, y, n, cut = model_and_data()
    jags = bench_jags.run_jags(model, y, n, cut=(cut,), seed=7, repeats=2)
    post = posterior(model, y, n)
    res = bench_jags.compare(post.mean, jags)
    assert res["agree"], res
    # P(p > 0.1): a proportion of 2 x 2 x 1e4 correlated draws; 0.02 is more than 4 of its MC standard errors
    np.testing.assert_allclose(jags["p_above"][:, 0].mean(0), post.prob_above(cut), atol=0.02)
