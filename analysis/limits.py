"""Resource estimates before work: a step estimates its memory and time from the sizes and refuses what would
exceed the machine or an hour (exit 2, the estimate and the limit in the message).

The estimates are arithmetic on the sizes only (nothing is allocated): each mirrors the loop or the arrays of the
code it stands for, with the constants measured on this project's machine (2 cores, 24 GiB).  They are upper
bounds in spirit, not predictions: their purpose is to refuse a basket prior ``Normal(0, 1e6)`` (a quadrature
grid of billions of points), ``n = 1e5`` in the cross-check (238 GiB of likelihood tables), a priors design of
n = 100,000 with an interim (about a day) or ``n_sim = 1e9`` before any of them starts.

Where they are called: :mod:`analysis.cli` (basket designs, before the design runs), and the owners of the
steps (the engine's grid, the priors designs, the cross-check) through :func:`require`.
"""

from __future__ import annotations

import math

GiB = 2**30
#: the most memory one step may plan to use: a third of the 24 GiB machine, which make shares between two steps
MAX_BYTES = 8 * GiB
#: the most time one step may plan to take
MAX_SECONDS = 3600.0
#: simulated basket trials per second and (method, scenario), one worker: ``make bench`` measured 180 per second
#: for a 4-indication EXNEX design including its tables; the simpler methods are faster
SIM_TRIALS_PER_SECOND = 1_000.0


class ResourceError(ValueError):
    """A step would exceed the memory or time limit; the message gives the estimate and the limit."""


def _size(nbytes: float) -> str:
    return f"{nbytes / GiB:.3g} GiB" if nbytes >= 0.1 * GiB else f"{nbytes / 2**20:.3g} MiB"


def _duration(seconds: float) -> str:
    if seconds == 3600:
        return "1 hour"
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.3g} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.3g} hours"
    if seconds >= 120:
        return f"{seconds / 60:.3g} minutes"
    return f"{seconds:.3g} s"


def require(
    what: str,
    *,
    nbytes: float = 0.0,
    seconds: float = 0.0,
    max_bytes: float | None = None,
    max_seconds: float | None = None,
) -> None:
    """Refuse work whose estimated memory or time exceeds the limits.

    Parameters
    ----------
    what : str
        What is estimated, naming the file and key where it comes from (e.g. ``"config/x.toml, design 'a'"``).
    nbytes, seconds : float
        The estimates.
    max_bytes, max_seconds : float, optional
        The limits; by default :data:`MAX_BYTES` and :data:`MAX_SECONDS` as they are when called (a test may lower
        them to check that a step asks before it allocates).

    Raises
    ------
    ResourceError
        With the estimate and the limit.
    """
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    max_seconds = MAX_SECONDS if max_seconds is None else max_seconds
    if not (math.isfinite(nbytes) and nbytes <= max_bytes):
        raise ResourceError(
            f"{what}: would need about {_size(nbytes)} of memory, above the limit of {_size(max_bytes)}; "
            "reduce the size"
        )
    if not (math.isfinite(seconds) and seconds <= max_seconds):
        raise ResourceError(
            f"{what}: would take about {_duration(seconds)}, above the limit of {_duration(max_seconds)}; "
            "reduce the size"
        )


def engine_grid_points(comp, n_total: int, resolution: float = 1.0) -> int:
    """Points of the deterministic engine's (mu, tau) grid of one component, before pruning.

    Mirrors :func:`analysis.bayes.engine.make_grid` without allocating: ``n_t`` Gauss-Legendre nodes in log tau
    plus the two ends, and per node a trapezoid grid of ``ceil(16 s / h) + 1`` points in mu.

    Parameters
    ----------
    comp
        A component with ``mu.params = (m, s)`` and a ``tau`` prior with ``ppf``, ``name`` and ``params``.
    n_total : int
        Patients over all groups (the spacing shrinks as ``1 / sqrt(n_total)``).
    resolution : float
        The engine's resolution factor.

    Returns
    -------
    int
        The number of grid points.
    """
    _, s = (float(v) for v in comp.mu.params)
    if not (math.isfinite(s) and s > 0):
        return 0  # the prior's own check reports it
    h_mu = min(0.25 * s, 2.4 / math.sqrt(max(n_total, 1))) / resolution
    tp = comp.tau
    t_lo = max(float(tp.ppf(1e-12)), 1e-3)
    t_hi = min(float(tp.ppf(1 - 1e-9)), 1e3)
    if tp.name == "Uniform":
        t_hi = min(t_hi, float(tp.params[1]) * (1 - 1e-12))
    if not t_hi > t_lo:
        return 0
    n_t = int(math.ceil((math.log(t_hi) - math.log(t_lo)) / (0.25 / resolution))) + 1
    import numpy as np

    x, _ = np.polynomial.legendre.leggauss(n_t)
    lt = np.concatenate([[math.log(t_lo)], math.log(t_lo) + (x + 1) / 2 * (math.log(t_hi) - math.log(t_lo))])
    tau = np.exp(np.concatenate([lt, [math.log(t_hi)]]))
    h = np.minimum(h_mu, np.maximum(tau, h_mu / 4))
    return int(np.sum(np.ceil(16 * s / h) + 1))


def engine_bytes(grid_points: int, group_sizes: list[int], arrays: int = 4) -> float:
    """Memory of the engine's tables: per group a (n + 1) x grid table of log likelihoods, and the grid itself.

    Parameters
    ----------
    grid_points : int
        Points of all components' grids (:func:`engine_grid_points`).
    group_sizes : list of int
        Patients per group (one table row per possible count 0..n).
    arrays : int
        Float64 arrays kept per grid point besides the tables (mu, tau, weights, a temporary).

    Returns
    -------
    float
        Bytes.
    """
    return 8.0 * grid_points * (arrays + sum(int(n) + 1 for n in group_sizes))


def interim_seconds(n: int, interim_n: int) -> float:
    """Time of the exact OC of a one-sample design with an interim futility look (:mod:`analysis.priors.interim`).

    One predictive probability per interim count, each finding the final boundary and summing a predictive pmf of
    ``n - interim_n`` terms: measured 0.2, 0.5, 1.8 and 7 s for n = 100, 200, 400, 800 with ``interim_n = n / 2``,
    that is ``(interim_n + 1) * (3e-3 + 2e-5 n)`` seconds.
    """
    return (int(interim_n) + 1) * (3e-3 + 2e-5 * int(n))


def priors_design_seconds(
    n: int, interim_n: int | None = None, grid: int = 101, priors: int = 1, sensitivity_rows: int = 0
) -> float:
    """Time of one priors design: its OC under each prior, with the interim look if any, and its sensitivity rows.

    Parameters
    ----------
    n, interim_n : int
        Sample size and interim sample size (``None``: no interim).
    grid : int
        True rates at which the OC is evaluated.
    priors : int
        Priors the design is evaluated under (its own and ``compare``).
    sensitivity_rows : int
        Rows of ``[design.sensitivity]``: ``len(p0) * (len(robust_weight) + compared priors)``.

    Returns
    -------
    float
        Seconds.
    """
    one = 1e-2 + 1e-6 * int(n) * int(grid)  # boundary search and binomial tails on the grid
    if interim_n:
        one += interim_seconds(n, interim_n)
    return priors * one + sensitivity_rows * one


def simulation_seconds(n_sim: int, methods: int, scenarios: int, rate: float = SIM_TRIALS_PER_SECOND) -> float:
    """Time of simulated operating characteristics: ``n_sim`` trials per method and scenario, at ``rate``."""
    return float(n_sim) * int(methods) * int(scenarios) / rate
