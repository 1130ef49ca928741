"""Benchmarks (``make bench`` -> ``results/bench.json``); never part of the unit tests.

- Samplers: min bulk ESS per second of wall-clock time (compilation
  included, since a user pays it) for PyMC's NUTS, nutpie and numpyro on the
  default hierarchical model, measured in the same run, and whether each
  passes the convergence gates.  The default sampler should be the fastest
  that passes.
- Pipeline: the time to fit every model of the paper (main and sensitivity).
- Design: the exact operating-characteristics grid against the same grid by
  simulation (:mod:`analysis.priors.bench`).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from analysis.bayes.models import DEFAULT_MODELS
from analysis.bayes.sampling import ConvergenceError, check_gates, diagnostics, sample
from analysis.bayes.units import index_units
from analysis.io import write_json
from analysis.priors.bench import bench_oc, bench_priors
from analysis.provenance import package_versions
from analysis.settings import SETTINGS

SAMPLERS = ("pymc", "nutpie", "numpyro")


def bench_samplers(repeats: int = 1) -> list[dict]:
    spec = DEFAULT_MODELS["hierarchical"]
    units = index_units()
    rows = []
    for sampler in SAMPLERS:
        mcmc = replace(SETTINGS.mcmc, sampler=sampler)
        best = None
        for _ in range(repeats):
            t0 = time.perf_counter()
            idata = sample(spec, units, mcmc)
            wall = time.perf_counter() - t0
            if best is None or wall < best[0]:
                best = (wall, idata)
        wall, idata = best
        diag = diagnostics(idata, spec)
        try:
            check_gates(diag)
            passes, why = True, ""
        except ConvergenceError as err:
            passes, why = False, str(err)
        min_ess = float(diag["ess_bulk"].min())
        rows.append(
            {
                "sampler": sampler,
                "wall_seconds": wall,
                "min_ess_bulk": min_ess,
                "min_ess_bulk_per_second": min_ess / wall,
                "divergences": int(diag["divergences"].iloc[0]),
                "passes_gates": passes,
                "gate_failures": why,
            }
        )
    return rows


def bench_pipeline(tmp: Path) -> dict:
    from analysis.bayes.sensitivity import run as run_sens
    from analysis.bayes.step import run as run_bayes

    t0 = time.perf_counter()
    run_bayes(out_dir=tmp)
    t1 = time.perf_counter()
    run_sens(out_dir=tmp)
    t2 = time.perf_counter()
    return {"bayes_seconds": t1 - t0, "sensitivity_seconds": t2 - t1, "total_fitting_seconds": t2 - t0}


def run(out: Path = Path("results/bench.json")) -> dict:
    import tempfile

    samplers = bench_samplers()
    passing = [r for r in samplers if r["passes_gates"]]
    fastest = max(passing, key=lambda r: r["min_ess_bulk_per_second"])["sampler"] if passing else None
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = bench_pipeline(Path(tmp))
    result = {
        "samplers": samplers,
        "fastest_passing_sampler": fastest,
        "default_sampler": SETTINGS.mcmc.sampler,
        "default_is_fastest": fastest == SETTINGS.mcmc.sampler,
        "pipeline": pipeline,
        "mcmc": SETTINGS.as_dict()["mcmc"],
        "packages": package_versions(),
    }
    result["oc"] = bench_oc()
    result["priors"] = bench_priors()
    write_json(out, result)
    return result
