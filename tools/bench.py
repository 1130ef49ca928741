"""Benchmarks (``make bench`` -> ``results/bench.json``); never part of the unit tests.

- Pipeline: a cold ``make paper`` (results absent, environment present) in a temporary copy of the
  project: wall-clock time, the wall and CPU time of every step (``results/timings``,
  :mod:`analysis.timing`), the peak resident memory of the largest process, each as a ratio to the times
  measured before the compiled sampler (issue 11), and the machine's load average while it ran; once
  with the compiled samplers that an earlier build of the same code stored (what every rebuild sees), and
  once without (``without_stored_samplers``: a fresh environment).
- Samplers: what the pipeline pays, compilation included.  For PyMC's NUTS, nutpie and numpyro (the
  compiled sampler of :mod:`analysis.bayes.sampling`) in one fresh process each: the first fit of the
  default hierarchical model (compilation included) and a second fit with other priors (which the
  compiled sampler serves without compiling again), min bulk ESS per second of each, whether each passes
  the convergence gates, and the estimated fitting time of the paper's MCMC fits
  (``first + (fits - 1) * second``).  The default sampler should be the fastest that passes.
- Design: the exact operating-characteristics grid against the same grid by simulation
  (:mod:`tools.bench_priors`).
- Studio: seconds from a changed field to the updated OC table in a real browser
  (:mod:`tools.bench_studio`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis.io import write_json
from analysis.provenance import package_versions
from analysis.settings import ROOT, SETTINGS

SAMPLERS = ("pymc", "nutpie", "numpyro")
#: cold ``make paper`` before the compiled sampler (issue 11: 2 cores, quiet machine), seconds (low, high)
BEFORE = {
    "total": (116, 168),
    "sensitivity": (55, 65),
    "priors": (25, 25),
    "bayes": (12, 18),
}
#: the MCMC fits of one build: 2 main, 10 sensitivity (2 reuse main fits), 3 MAP priors
PIPELINE_FITS = 15
_COPY = ("Makefile", "pyproject.toml", "requirements.lock", "analysis", "tools", "data", "config", "manuscript")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def bench_samplers(fits: int = PIPELINE_FITS) -> list[dict]:
    rows = []
    env = {**os.environ, "ANALYSIS_JAX_CACHE": ""}  # compilation included: no stored program (unset: the user's)
    for sampler in SAMPLERS:
        res = subprocess.run(
            [sys.executable, "-m", "tools.bench_sampler", sampler],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        line = [x for x in res.stdout.splitlines() if x.startswith("BENCH")]
        if res.returncode or not line:
            rows.append({"sampler": sampler, "error": res.stderr[-2000:]})
            continue
        r = json.loads(line[0][5:])
        first, second = r["first"], r["second"]
        rows.append(
            {
                "sampler": sampler,
                "first_fit_seconds": first["wall_seconds"],
                "next_fit_seconds": second["wall_seconds"],
                "pipeline_fitting_seconds_estimate": first["wall_seconds"] + (fits - 1) * second["wall_seconds"],
                "min_ess_bulk": first["min_ess_bulk"],
                "min_ess_tail": first["min_ess_tail"],
                "min_ess_bulk_per_second": first["min_ess_bulk"] / first["wall_seconds"],
                "divergences": first["divergences"],
                "passes_gates": first["passes_gates"] and second["passes_gates"],
                "gate_failures": first["gate_failures"] or second["gate_failures"],
                "load_average": _load(),
            }
        )
    return rows


def _build(work: Path, jobs: int, cache: Path) -> dict:
    """One ``make paper`` in ``work`` with results absent and the compiled samplers in ``cache``."""
    from analysis.timing import build_times

    subprocess.run(["make", "-C", str(work), "clean"], capture_output=True, check=False)
    load_before = _load()
    t0 = time.perf_counter()
    env = {**os.environ, "ANALYSIS_JAX_CACHE": str(cache)}
    res = subprocess.run(
        ["make", "-C", str(work), f"JOBS={jobs}", "STAMP=", "paper"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - t0
    times = build_times(work / "results")
    steps = times.get("steps", {})
    ratios = {
        k: {"seconds": steps.get(k, wall if k == "total" else None), "before": list(v)} for k, v in BEFORE.items()
    }
    ratios["total"]["seconds"] = wall
    for r in ratios.values():
        if r["seconds"] is not None:
            r["ratio_to_before"] = [round(r["seconds"] / b, 3) for b in r["before"]]
    return {
        "ok": res.returncode == 0,
        "error": "" if res.returncode == 0 else res.stderr[-3000:],
        "jobs": jobs,
        "wall_seconds": wall,
        "steps_seconds": steps,
        "sum_of_steps_seconds": times.get("sum_seconds"),
        "cpu_seconds": times.get("cpu_seconds"),
        "steps_cpu_seconds": {k: v.get("cpu_seconds") for k, v in times.get("steps_detail", {}).items()},
        "peak_rss_mb": times.get("peak_rss_mb", 0.0),
        "peak_rss_note": "largest single process of the build (steps run two at a time)",
        "vs_before": ratios,
        "load_average_before": load_before,
        "load_average_after": _load(),
        "cpu_count": os.cpu_count(),
    }


def bench_pipeline(jobs: int = 2) -> dict:
    """Two cold ``make paper`` (results absent, environment present) in a temporary copy of the project: first
    with no compiled samplers (a fresh environment), then with the ones the first build stored (every later
    build of the same code)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "project"
        work.mkdir()
        for name in _COPY:
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(
                    src,
                    work / name,
                    ignore=shutil.ignore_patterns("__pycache__", "_manuscript", "_build", "figures", "tables"),
                )
            else:
                shutil.copy2(src, work / name)
        (work / "manuscript" / "_variables.yml").unlink(missing_ok=True)
        (work / ".venv").symlink_to(Path(sys.prefix))
        cache = Path(tmp) / "programs"  # empty: nothing compiled yet
        fresh = _build(work, jobs, cache)
        stored = _build(work, jobs, cache)
    return {**stored, "without_stored_samplers": fresh}


def run(out: Path = Path("results/bench.json")) -> dict:
    from tools import bench_basket as basket_bench
    from tools import bench_studio as studio_bench
    from tools.bench_priors import bench_oc, bench_priors

    pipeline = bench_pipeline()
    samplers = bench_samplers()
    passing = [r for r in samplers if r.get("passes_gates")]
    fastest = min(passing, key=lambda r: r["pipeline_fitting_seconds_estimate"])["sampler"] if passing else None
    result = {
        "pipeline": pipeline,
        "samplers": samplers,
        "fastest_passing_sampler": fastest,
        "default_sampler": SETTINGS.mcmc.sampler,
        "default_is_fastest": fastest == SETTINGS.mcmc.sampler,
        "mcmc": SETTINGS.as_dict()["mcmc"],
        "packages": package_versions(),
    }
    result["oc"] = bench_oc()
    result["priors"] = bench_priors()
    result["basket"] = basket_bench.run()
    result["speed_targets"] = result["basket"]["designer"]["rows"]  # issue 21: target, measured, before, one a row
    result["studio"] = studio_bench.run()
    write_json(out, result)
    return result
