"""Benchmarks of the priors package (part of ``make bench``).

- :func:`bench_oc`: exact one-sample operating characteristics against simulation;
- :func:`bench_priors`: EM time for 8,000 and 100,000 draws, and ``oc2S`` first-call and
  repeat-call times at n = 100 per arm (target: repeat call < 10 ms).
"""

from __future__ import annotations

import time

import numpy as np

from analysis.priors.decision1S import decision1S
from analysis.priors.decision2S import decision2S
from analysis.priors.mixfit import automixfit
from analysis.priors.mixture import BetaMixture
from analysis.priors.oc1S import oc1S
from analysis.priors.oc2S import oc2S

#: A robust three-component prior of the size a MAP prior typically has.
BENCH_PRIOR = BetaMixture([(0.5, 7.0, 20.0), (0.3, 35.0, 100.0), (0.2, 1.0, 1.0)])


def simulate_oc1S(prior: BetaMixture, n: int, decision, p_true, trials: int, rng: np.random.Generator) -> np.ndarray:
    """The one-sample OC by brute force: simulate trials, compute each posterior, apply the rule."""
    out = []
    for p in np.atleast_1d(np.asarray(p_true, float)):
        y = rng.binomial(n, p, size=trials)
        out.append(np.mean(decision.success_stat(prior, y, n)))
    return np.array(out)


def bench_oc(
    n: int = 200, p0: float = 0.3, c: float = 0.95, rates: int = 101, trials: int = 10_000, seed: int = 1
) -> dict:
    grid = np.linspace(0, 1, rates)
    decision = decision1S(c, p0, lower_tail=False)
    t0 = time.perf_counter()
    exact = oc1S(BENCH_PRIOR, n, decision)(grid)
    t_exact = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim = simulate_oc1S(BENCH_PRIOR, n, decision, grid, trials, np.random.default_rng(seed))
    t_sim = time.perf_counter() - t0
    mc_se = np.sqrt(np.maximum(exact * (1 - exact), 1e-12) / trials)
    return {
        "prior": repr(BENCH_PRIOR),
        "n": n,
        "p0": p0,
        "c": c,
        "rates": rates,
        "trials": trials,
        "exact_seconds": t_exact,
        "simulation_seconds": t_sim,
        "speedup": t_sim / t_exact,
        "target_speedup": 100,
        "meets_target": t_sim / t_exact >= 100,
        "max_abs_difference": float(np.max(np.abs(exact - sim))),
        "max_z": float(np.max(np.abs(exact - sim) / np.maximum(mc_se, 1 / trials))),
    }


def bench_priors(seed: int = 1, n_per_arm: int = 100, repeats: int = 50) -> dict:
    """EM and oc2S timings (seconds)."""
    true = BetaMixture([(0.6, 20, 60), (0.4, 5, 5)])
    out: dict = {}
    for n in (8_000, 100_000):
        x = true.rvs(n, np.random.default_rng(seed))
        t0 = time.perf_counter()
        mix, _ = automixfit(x)
        out[f"em_{n}_seconds"] = time.perf_counter() - t0
        out[f"em_{n}_components"] = len(mix)
    dec = decision2S(0.975, 0.0, lower_tail=False)
    t0 = time.perf_counter()
    design = oc2S(BetaMixture([(1, 1, 1)]), BENCH_PRIOR, n_per_arm, n_per_arm, dec)
    design(0.5, 0.3)
    out["oc2S_first_call_seconds"] = time.perf_counter() - t0
    rates = np.linspace(0.3, 0.8, repeats)
    t0 = time.perf_counter()
    for p in rates:
        design(p, 0.3)
    out["oc2S_repeat_call_seconds"] = (time.perf_counter() - t0) / repeats
    out["oc2S_repeat_target_seconds"] = 0.010
    out["oc2S_meets_target"] = out["oc2S_repeat_call_seconds"] < 0.010
    out["oc2S_n_per_arm"] = n_per_arm
    out["oc2S_type1_at_0.3"] = float(design(0.3, 0.3))
    return out
