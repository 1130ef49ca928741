"""Speed and agreement of the basket engine: ``run()`` returns a dict for ``make bench``.

- per-trial MCMC (PyMC NUTS, one fit per simulated trial) vs the deterministic engine on the same
  4-indication EXNEX design, with the largest |difference| of posterior means;
- engine time per posterior (tabulated) and exact OC time of 3 x 24 patients with JSD borrowing;
- simulated trials per second through the executor with 1 and 2 local workers.
"""

from __future__ import annotations

import time

import numpy as np


def _design4():
    from analysis.basket.design import Design, Indication, Method, Scenario

    inds = [Indication(f"I{k}", 20, 0.3, 0.6, 0.95) for k in range(4)]
    m = Method("exnex", "exnex", {"mu": "Normal(-0.4, 1.5)", "tau": "HalfNormal(1)", "nex": (-0.4, 2.0), "w": 0.5})
    return Design("bench4", inds, [m], [Scenario("mixed", (0.3, 0.6, 0.3, 0.6))], oc="simulate", n_sim=2000, chunk=500)


def mcmc_vs_engine(n_trials: int = 5, draws: int = 500, tune: int = 500, seed: int = 1) -> dict:
    import pymc as pm
    import pytensor.tensor as pt

    from analysis.basket.methods.logit_normal import method_engine

    d = _design4()
    m = d.methods[0]
    eng = method_engine(m, 80)
    rng = np.random.default_rng(seed)
    n = np.array([i.n for i in d.indications])
    Y = rng.binomial(n, d.scenarios[0].p, size=(n_trials, 4))
    eng.posterior(Y[0], n)  # build tables (timed separately)
    t0 = time.perf_counter()
    posts = [eng.posterior(y, n) for y in Y]
    t_engine = (time.perf_counter() - t0) / n_trials
    t0 = time.perf_counter()
    eng.batch(Y, n, d.p0)
    t_batch = (time.perf_counter() - t0) / n_trials
    diffs, t_mcmc = [], 0.0
    for i, y in enumerate(Y):
        t0 = time.perf_counter()
        with pm.Model():
            mu = pm.Normal("mu", -0.4, 1.5)
            tau = pm.HalfNormal("tau", 1.0)
            z = pm.Normal("z", 0, 1, shape=4)
            u = pm.Normal("u", 0, 1, shape=4)
            th_ex, th_nex = mu + tau * z, -0.4 + 2.0 * u
            a = np.log(0.5) + pm.logp(pm.Binomial.dist(n=n, logit_p=th_ex), y)
            b = np.log(0.5) + pm.logp(pm.Binomial.dist(n=n, logit_p=th_nex), y)
            pm.Potential("lik", pt.logaddexp(a, b).sum())
            pm.Deterministic("pex", pt.sigmoid(a - b))
            idata = pm.sample(
                draws,
                tune=tune,
                chains=2,
                cores=1,
                random_seed=seed + i,
                progressbar=False,
                target_accept=0.95,
                compute_convergence_checks=False,
            )
        t_mcmc += time.perf_counter() - t0
        post = idata.posterior
        pe = post["pex"].values
        p = pe * _expit(post["mu"].values[..., None] + post["tau"].values[..., None] * post["z"].values) + (
            1 - pe
        ) * _expit(-0.4 + 2.0 * post["u"].values)
        diffs.append(float(np.max(np.abs(p.reshape(-1, 4).mean(0) - posts[i].mean))))
    t_mcmc /= n_trials
    return {
        "trials": n_trials,
        "mcmc_seconds_per_trial": t_mcmc,
        "engine_seconds_per_trial": t_engine,
        "engine_batch_seconds_per_trial": t_batch,
        "speedup": t_mcmc / t_engine,
        "speedup_batch": t_mcmc / t_batch,
        "max_abs_diff_posterior_mean": max(diffs),
        "note": "MCMC means use Rao-Blackwellised draws E[p | theta, indicator]; differences are Monte Carlo error",
    }


def _expit(x):
    return 1 / (1 + np.exp(-x))


def exact_jsd_seconds() -> float:
    from analysis.basket.design import Design, Indication, Method, Scenario, exact_oc

    inds = [Indication(f"B{i}", 24, 0.2, 0.5, 0.99) for i in range(3)]
    m = Method("jsd", "jsd", {"prior": (1, 1), "epsilon": 2.0, "tau": 0.5})
    d = Design("jsd", inds, [m], [Scenario("null", (0.2,) * 3)])
    t0 = time.perf_counter()
    exact_oc(d, m)
    return time.perf_counter() - t0


def throughput(workers: int) -> float:
    """Simulated trials per second of the 4-indication design, the engine's table rows built in the run (no table
    store: ``--no-cache``)."""
    from analysis.basket.executor import Executor
    from analysis.basket.run import operating_characteristics

    d = _design4()
    _clear_caches()
    with _no_store():
        t0 = time.perf_counter()
        operating_characteristics(d, Executor(workers=workers))
        return d.n_sim / (time.perf_counter() - t0)


def run(mcmc: bool = True) -> dict:
    out = {"exact_oc_jsd_3x24_seconds": exact_jsd_seconds()}
    out["trials_per_second"] = {"1_worker": throughput(1), "2_workers": throughput(2)}
    if mcmc:
        out["mcmc_vs_engine"] = mcmc_vs_engine()
    out["designer"] = designer()
    return out


#: the speed targets of the designer (issue 21, "Speed and scale") as measured before this work, for the ratios:
#: ``session`` the previous session's figures (a heavily loaded machine); ``head`` commit 3799ddb re-measured on
#: the 2-core machine shared with other jobs: CPU seconds (which the load inflates least) and wall seconds at a
#: load average of 2-4 (calibration, one-off) or CPU per trial (simulation, the tables built beforehand)
BEFORE = {
    "calibrate_config": {"session_wall_seconds": 82.0, "head_cpu_seconds": 13.4, "head_wall_seconds": 23.6},
    "one_off_cold": {"session_wall_seconds": 5.6, "head_cpu_seconds": 0.84, "head_wall_seconds": 1.84},
    "one_off_warm": {"session_wall_seconds": 0.8, "head_wall_seconds": 0.225},
    "ten_indications": {
        "session_trials_per_second": 7.9,
        "head_tables_cpu_seconds_per_process": 18.0,
        "head_trials_per_cpu_second_tables_built": 139.0,
    },
}


def _clear_caches() -> None:
    """Forget the engines and tables of earlier benchmarks in this process (each target is timed from scratch)."""
    from analysis.basket.methods import logit_normal

    logit_normal._ENGINES.clear()
    logit_normal._SHIFTED.clear()


def calibrate_config_seconds(path: str = "config/basket.toml") -> dict:
    """Exact calibration of every method of the paper's design file (outcome space, summaries, thresholds)."""
    from analysis.basket.calibrate import calibrate
    from analysis.basket.design import exact_space
    from analysis.basket.spec import load

    d = load(path)
    _clear_caches()
    per = {}
    t0, c0 = time.perf_counter(), time.process_time()
    for m in d.methods:
        t1 = time.perf_counter()
        calibrate(d, m, d.calibration, space=exact_space(d, m))
        per[m.name] = time.perf_counter() - t1
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "seconds": total,
        "cpu_seconds": cpu,
        "per_method": per,
        "target_seconds": 10.0,
        "ratio_to_target": total / 10.0,
    }


def one_off_exnex() -> dict:
    """A one-off EXNEX posterior (4 strata, two exchangeable components: Neuenschwander et al. 2016 Table V prior,
    P(p > 0.1) included) in a fresh process after import (cold), then in the same process: the same data again
    through :func:`~analysis.bayes.engine.posterior` (its engine kept), one new count, and any data with the
    tables of every count built (warm)."""
    import subprocess
    import sys

    from analysis.settings import ROOT

    out = subprocess.run(
        [sys.executable, "-m", "tools.bench_oneoff"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    t_import, cold, cold_cpu, warm, warm_cpu, repeat, repeat_cpu, new_count = map(float, out.stdout.split()[:8])
    return {
        "import_seconds": t_import,
        "cold_seconds": cold,
        "cold_cpu_seconds": cold_cpu,
        "warm_seconds": warm,
        "warm_cpu_seconds": warm_cpu,
        "repeat_one_off_seconds": repeat,
        "repeat_one_off_cpu_seconds": repeat_cpu,
        "one_new_count_seconds": new_count,
        "cold_ratio_to_100ms": cold / 0.1,
        "warm_ratio_to_5ms": warm / 0.005,
        "jags": _jags_row(cold, cold_cpu, warm),
    }


def _jags_row(engine_seconds: float, engine_cpu_seconds: float, engine_warm_seconds: float, repeats: int = 3) -> dict:
    """The one-off posterior by JAGS as bhmbasket runs it (:mod:`tools.bench_jags`: 2 chains, 1e4 iterations,
    seeded), ``repeats`` times: median seconds per analysis (wall and CPU, from model compilation to the last draw;
    R's start-up excluded), its ratio to the engine's cold one-off (wall and CPU) and warm posteriors, and the posterior means against the engine's in Monte Carlo standard errors; skipped with a message
    when JAGS or rjags is missing."""
    from tools.bench_jags import compare, jags_missing, run_jags
    from tools.bench_oneoff import model_and_data

    why = jags_missing()
    if why is not None:
        return {"skipped": why}
    from analysis.bayes.engine import posterior

    model, y, n, cut = model_and_data()
    post = posterior(model, y, n)
    jags = run_jags(model, y, n, cut=(cut,), n_iter=10_000, n_chains=2, seed=20160101, repeats=repeats)
    sec, cpu = float(np.median(jags["elapsed"])), float(np.median(jags["cpu"]))
    return {
        "seconds_per_analysis": sec,
        "cpu_seconds_per_analysis": cpu,
        "ratio_to_engine_cold": sec / engine_seconds,
        "cpu_ratio_to_engine_cold": cpu / engine_cpu_seconds,
        "ratio_to_engine_warm": sec / engine_warm_seconds,
        "chains": 2,
        "iterations": 10_000,
        "analyses": repeats,
        "engine_mean": post.mean.tolist(),
        "engine_p_above": post.prob_above(cut).tolist(),
        "jags_p_above": jags["p_above"][:, 0].mean(0).tolist(),
        **compare(post.mean, jags),
    }


def _sarcoma10(n_sim: int):
    from analysis.basket.design import Design, Indication, Method, Scenario

    sizes = [15, 13, 12, 28, 29, 29, 26, 5, 2, 20]  # Chugh et al. (2009) via Neuenschwander et al. (2016), App. 5.3
    inds = [Indication(f"S{k}", n, 0.2, 0.4, 0.9) for k, n in enumerate(sizes)]
    m = Method("exnex", "exnex", {"mu": "Normal(-1.4, 2)", "tau": "HalfNormal(1)", "nex": (-1.4, 2.0), "w": 0.5})
    return Design("sarcoma10", inds, [m], [Scenario("mixed", (0.2, 0.4) * 5)], oc="simulate", n_sim=n_sim, chunk=500)


def _fresh_run(workers: int, n_sim: int, cache: str) -> dict:
    """One run of the sarcoma design in a fresh process (:mod:`tools.bench_tables`) with the cache folder
    ``cache`` (its table store), and the machine's load average when it ended."""
    import os
    import subprocess
    import sys

    from analysis.settings import ROOT

    env = {**os.environ, "ANALYSIS_JAX_CACHE": cache}
    out = subprocess.run(
        [sys.executable, "-m", "tools.bench_tables", str(workers), str(n_sim)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, cpu, t_import, before, after = out.stdout.split()[:5]
    return {
        "trials_per_second": n_sim / float(seconds),
        "seconds": float(seconds),
        "cpu_seconds": float(cpu),
        "trials_per_cpu_second": n_sim / float(cpu),
        "import_seconds": float(t_import),
        "stored_rows_before": int(before),
        "stored_rows_after": int(after),
        "load_average_1min": os.getloadavg()[0],
    }


#: trials of the longer cold run: the table rows built are a fixed cost that a run of this size spreads
LONG_RUN = 20_000


def ten_indications_throughput(workers: int = 2, n_sim: int = 4000) -> dict:
    """Simulated OC of a 10-indication EXNEX design (the sarcoma strata sizes of Neuenschwander et al. 2016,
    Appendix 5.3) on the probability scale: trials per second with ``workers`` local processes, end to end in a
    fresh process (import excluded): ``cold`` with an empty table store (:mod:`analysis.bayes.engine.store`: the
    workers build every row the trials meet, each once, the first run in a fresh clone), ``warm`` in a second
    fresh process reading the rows the first stored, ``no_store`` under ``--no-cache`` (rows built once in a
    temporary store of the run); and per core in this process once the rows are built (the rate of long runs)."""
    import tempfile

    from analysis.basket.design import analyze

    with tempfile.TemporaryDirectory(prefix="bench-tables-") as tmp:
        cold = _fresh_run(workers, n_sim, tmp)
        warm = _fresh_run(workers, n_sim, tmp)
    with tempfile.TemporaryDirectory(prefix="bench-tables-") as tmp:
        cold_long = _fresh_run(workers, LONG_RUN, tmp)  # the rows a run meets level off (about 120): a longer run
    no_store = _fresh_run(workers, n_sim, "")
    d = _sarcoma10(n_sim)
    m = d.methods[0]
    rng = np.random.default_rng(d.seed)
    n = np.tile([i.n for i in d.indications], (n_sim, 1))
    y = rng.binomial(n, d.scenarios[0].p)
    with _no_store():
        _clear_caches()
        c0 = time.process_time()
        analyze(d, m, n, y)  # this process's rows (the counts these trials meet), then the trials
        first = time.process_time() - c0
        c0 = time.process_time()
        analyze(d, m, n, y)  # the same trials, the rows built
        again = time.process_time() - c0
    tables_cpu, per_core = first - again, n_sim / again
    rate = cold["trials_per_second"]
    return {
        "trials_per_second": rate,
        "store": "cold (empty table store: every row built in the run)",
        "cold": cold,
        "warm": warm,
        "cold_long": cold_long,
        "no_store": no_store,
        "workers": workers,
        "n_sim": n_sim,
        "target": 1000,
        "ratio_to_target": rate / 1000,
        "warm_ratio_to_target": warm["trials_per_second"] / 1000,
        "tables_cpu_seconds_per_process": tables_cpu,
        "trials_per_cpu_second_tables_built": per_core,
    }


def _no_store():
    """A block in which the engine's table rows are neither read nor stored (``--no-cache``)."""
    import contextlib
    import os

    @contextlib.contextmanager
    def block():
        saved = os.environ.get("ANALYSIS_JAX_CACHE")
        os.environ["ANALYSIS_JAX_CACHE"] = ""
        try:
            yield
        finally:
            if saved is None:
                del os.environ["ANALYSIS_JAX_CACHE"]
            else:
                os.environ["ANALYSIS_JAX_CACHE"] = saved

    return block()


def components_k7_j4() -> dict:
    """A posterior with several exchangeable components at scale: K = 7 strata, J = 4 components (and NEX), one
    data vector, from a fresh engine (target: seconds, not minutes)."""
    from analysis.bayes.engine import EngineModel, posterior

    comps = tuple((f"Normal({m}, 1.5)", "HalfNormal(1)") for m in (-2.0, -1.0, 0.0, 1.0))
    model = EngineModel(comps, weights=[0.2, 0.2, 0.2, 0.2], nex=(-1.0, 2.0), name="k7j4")
    y, n = [1, 3, 5, 8, 10, 2, 12], [14, 14, 14, 14, 14, 10, 20]
    t0, c0 = time.perf_counter(), time.process_time()
    post = posterior(model, y, n, reuse=False)
    post.prob_above(0.2)
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0, "target_seconds": 10.0}


def designer() -> dict:
    """The designer's speed targets (issue 21: calibration, one-off posterior, 10 indications, K = 7 and J = 4):
    each a row with its target, the measured value and the value before (:data:`BEFORE`)."""
    cal = calibrate_config_seconds()
    one = one_off_exnex()
    ten = ten_indications_throughput()
    big = components_k7_j4()
    rows = [
        _row(
            "calibrate config/basket.toml, 5 methods, exact",
            "s",
            "<",
            10.0,
            cal["seconds"],
            cal["cpu_seconds"],
            BEFORE["calibrate_config"],
        ),
        _row(
            "one-off EXNEX posterior, fresh process after import",
            "s",
            "<",
            0.1,
            one["cold_seconds"],
            one["cold_cpu_seconds"],
            BEFORE["one_off_cold"],
        ),
        _row(
            "EXNEX posterior, warm (tables built)",
            "s",
            "<",
            0.005,
            one["warm_seconds"],
            one["warm_cpu_seconds"],
            BEFORE["one_off_warm"],
        ),
        _row(
            "simulated OC, 10 indications, 2 workers, fresh process, empty table store",
            "trials/s",
            ">=",
            1000.0,
            ten["trials_per_second"],
            None,
            BEFORE["ten_indications"],
        ),
        _row(
            "simulated OC, 10 indications, 2 workers, fresh process, table rows stored by an earlier run",
            "trials/s",
            ">=",
            1000.0,
            ten["warm"]["trials_per_second"],
            None,
            BEFORE["ten_indications"],
        ),
        _row(
            "simulated OC, 10 indications, 2 workers, fresh process, empty table store, 20,000 trials",
            "trials/s",
            ">=",
            1000.0,
            ten["cold_long"]["trials_per_second"],
            None,
            {},
        ),
        _row("posterior, K = 7 strata, J = 4 components", "s", "<", 10.0, big["seconds"], big["cpu_seconds"], {}),
        {"target": "EXNEX posterior vs JAGS (2 chains, 1e4 iterations)", **one["jags"]},
    ]
    return {"rows": rows, "calibrate_config": cal, "one_off_exnex": one, "ten_indications": ten, "k7_j4": big}


def _row(what: str, unit: str, op: str, target: float, measured: float, cpu: float | None, before: dict) -> dict:
    met = measured < target if op == "<" else measured >= target
    return {
        "target": what,
        "unit": unit,
        "goal": f"{op} {target:g}",
        "measured": measured,
        "cpu": cpu,
        "met": bool(met),
        "before": before,
    }
