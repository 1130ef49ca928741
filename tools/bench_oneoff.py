"""A one-off EXNEX posterior in a fresh process, for :func:`tools.bench_basket.one_off_exnex`:
``python -m tools.bench_oneoff`` prints the engine's import time, the cold posterior (tables built on the way)
and the warm one (a new data vector, tables reused), in seconds, and the posterior means.

The prior is Neuenschwander et al. (2016) Table V's: two exchangeable components and a non-exchangeable one,
over 4 strata.
"""

import time

T0 = time.perf_counter()  # before the engine's import: its time is part of what a fresh process pays

from analysis.bayes.engine import Engine, EngineModel, posterior  # noqa: E402


def main() -> tuple[float, float, float, list[float]]:
    t_import = time.perf_counter() - T0
    m = EngineModel(
        (("Normal(-2.1972246, 3.18)", "HalfNormal(1)"), ("Normal(-0.8472979, 1.94)", "HalfNormal(1)")),
        weights=[0.25, 0.25],
        nex=(-1.3862944, 2.5),
    )
    y, n = [2, 5, 1, 4], [20, 20, 10, 10]
    t0 = time.perf_counter()
    post = posterior(m, y, n)
    post.prob_above(0.1)
    cold = time.perf_counter() - t0
    eng = Engine(m, 60)
    eng.posterior(y, n, thresholds=[0.1]).prob_above(0.1)  # tables built once
    t0 = time.perf_counter()
    for _ in range(5):
        post = eng.posterior([3, 5, 1, 4], n, thresholds=[0.1])
        post.prob_above(0.1)
    warm = (time.perf_counter() - t0) / 5
    return t_import, cold, warm, list(post.mean)


if __name__ == "__main__":
    print(*main())
