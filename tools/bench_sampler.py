"""One sampler's fits for :func:`tools.bench.bench_samplers`, in a fresh process (compilation included):
``python -m tools.bench_sampler SAMPLER`` prints ``BENCH`` and a JSON record.

The first fit is the default hierarchical model, the second the same model with other priors (which a compiled
sampler serves without compiling again); each with its wall time, least bulk and tail ESS, divergences and
whether it passes the convergence gates.
"""

import time

T0 = time.perf_counter()  # before the analysis imports: their time is part of what a fresh process pays

import json  # noqa: E402
import sys  # noqa: E402
from dataclasses import replace  # noqa: E402

from analysis.bayes.models import DEFAULT_MODELS  # noqa: E402
from analysis.bayes.prior import Prior  # noqa: E402
from analysis.bayes.sampling import ConvergenceError, check_gates, diagnostics, sample  # noqa: E402
from analysis.bayes.units import index_units  # noqa: E402
from analysis.settings import SETTINGS  # noqa: E402


def main(sampler: str) -> dict:
    mcmc = replace(SETTINGS.mcmc, sampler=sampler)
    units = index_units()
    out: dict = {"import_seconds": time.perf_counter() - T0}
    hier = DEFAULT_MODELS["hierarchical"]
    for label, spec in (("first", hier), ("second", hier.with_priors(tau=Prior("HalfNormal", (0.5,))))):
        t = time.perf_counter()
        idata = sample(spec, units, mcmc)
        wall = time.perf_counter() - t
        diag = diagnostics(idata, spec)
        try:
            check_gates(diag)
            passes, why = True, ""
        except ConvergenceError as err:
            passes, why = False, str(err)
        out[label] = {
            "wall_seconds": wall,
            "min_ess_bulk": float(diag["ess_bulk"].min()),
            "min_ess_tail": float(diag["ess_tail"].min()),
            "divergences": int(diag["divergences"].iloc[0]),
            "passes_gates": passes,
            "gate_failures": why,
        }
    return out


if __name__ == "__main__":
    print("BENCH" + json.dumps(main(sys.argv[1])))
