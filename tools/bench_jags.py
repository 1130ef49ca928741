"""The bench's JAGS row: the one-off EXNEX posterior of :mod:`tools.bench_oneoff` by JAGS, run as bhmbasket runs
it (``tools/jags_exnex.R``: 2 chains, ``floor(n_iter / 3)`` adaptation and burn-in iterations, then ``n_iter``
per chain), against the engine's posterior: seconds per analysis, their ratio, and whether the posterior means
agree within Monte Carlo error.

Monte Carlo error: ``repeats`` independent analyses (seeded from ``seed``); each stratum's MC standard error of
one analysis' mean is its posterior sd over the square root of coda's effective sample size (both chains), and
of the mean over the analyses that over the summed effective sample sizes.  The spread of the analyses' means
about their average is reported beside it, as a check of the effective sample sizes.  The means agree when
every stratum's average is within ``Z_AGREE`` standard errors of the engine's.

JAGS is optional: without ``Rscript``, ``jags`` or the R package rjags the row is skipped with a message (the
Debian packages ``jags`` and ``r-cran-rjags``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).with_name("jags_exnex.R")
Z_AGREE = 4.0  # |engine - JAGS| / MC se, every stratum (4 strata: a false alarm about 0.03% of the time)
INSTALL = "apt-get install -y jags r-cran-rjags"


def jags_missing() -> str | None:
    """Why JAGS cannot run here, or None."""
    for tool in ("Rscript", "jags"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: {INSTALL}): no JAGS comparison"
    probe = subprocess.run(
        ["Rscript", "-e", 'quit(status = as.integer(!requireNamespace("rjags", quietly = TRUE)))'],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"the R package rjags is not installed (Debian: {INSTALL}): no JAGS comparison"
    return None


def run_jags(model, y, n, cut=(0.1,), n_iter: int = 10_000, n_chains: int = 2, seed: int = 1, repeats: int = 3) -> dict:
    """``repeats`` JAGS analyses of data ``y`` of ``n`` under ``model`` (an
    :class:`~analysis.bayes.engine.EngineModel` with EXNEX's ``HalfNormal`` tau priors): per analysis its elapsed
    and CPU seconds, and per stratum the posterior means, sds, effective sample sizes and P(p > x)."""
    K, J = len(y), model.J
    if any(c.tau.dist != "HalfNormal" for c in model.components) or not model.is_exnex:
        raise ValueError("the JAGS comparison runs EXNEX with HalfNormal priors on tau (bhmbasket's model)")
    W = model.group_weights(K)
    if not np.allclose(W, W[0]):
        raise ValueError("bhmbasket's model has one set of weights for all strata")
    nex = model.group_nex(K)
    lines = {
        "r": y,
        "n": n,
        "mu_mean": [c.mu.params[0] for c in model.components],
        "mu_sd": [c.mu.params[1] for c in model.components],
        "tau_scale": [c.tau.params[0] for c in model.components],
        "nex_mean": nex[:, 0],
        "nex_sd": nex[:, 1],
        "w": W[0],
        "cut": cut,
        "n_iter": [n_iter],
        "n_chains": [n_chains],
        "seed": [seed],
        "repeats": [repeats],
    }
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp, "input.txt"), Path(tmp, "output.txt")
        src.write_text("".join(f"{k} {' '.join(repr(float(v)) for v in vs)}\n" for k, vs in lines.items()))
        subprocess.run(["Rscript", str(SCRIPT), str(src), str(dst)], check=True, capture_output=True, text=True)
        rows = np.array([[float(v) for v in line.split()[1:]] for line in dst.read_text().splitlines()])
    if rows.shape != (repeats, 2 + K * (3 + len(cut))):
        raise ValueError(
            f"{SCRIPT.name}: expected {repeats} rows of {2 + K * (3 + len(cut))} numbers, got {rows.shape}"
        )
    return {
        "elapsed": rows[:, 0],
        "cpu": rows[:, 1],
        "mean": rows[:, 2 : 2 + K],
        "sd": rows[:, 2 + K : 2 + 2 * K],
        "ess": rows[:, 2 + 2 * K : 2 + 3 * K],
        "p_above": rows[:, 2 + 3 * K :].reshape(repeats, len(cut), K),
        "J": J,
    }


def compare(engine_mean, jags: dict) -> dict:
    """Engine vs the JAGS analyses' average, in MC standard errors (see the module's docstring)."""
    mean = jags["mean"].mean(0)
    sd = jags["sd"].mean(0)
    se = sd / np.sqrt(jags["ess"].sum(0))
    reps = jags["mean"].shape[0]
    spread = jags["mean"].std(0, ddof=1) / np.sqrt(reps) if reps > 1 else np.full(mean.size, np.nan)
    z = (np.asarray(engine_mean) - mean) / se
    return {
        "jags_mean": mean.tolist(),
        "mc_se_of_average": se.tolist(),
        "mc_se_one_analysis": (sd / np.sqrt(jags["ess"].mean(0))).tolist(),
        "mc_se_from_replicates": spread.tolist(),
        "z": z.tolist(),
        "agree": bool(np.all(np.abs(z) <= Z_AGREE)),
    }
