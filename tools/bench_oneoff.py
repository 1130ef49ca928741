"""A one-off EXNEX posterior in a fresh process, for :func:`tools.bench_basket.one_off_exnex`:
``python -m tools.bench_oneoff`` prints, in seconds: the engine's import, the cold posterior (tables built on
the way) and its CPU time, the warm one (a new data vector, every count's table built) and its CPU time, the
same data again through ``posterior`` (its engine kept) and its CPU time, one new count; then the posterior
means.

The prior is Neuenschwander et al. (2016) Table V's: two exchangeable components and a non-exchangeable one,
over 4 strata.
"""

import time

T0 = time.perf_counter()  # before the engine's import: its time is part of what a fresh process pays

from analysis.bayes.engine import Engine, EngineModel, posterior  # noqa: E402


def main() -> tuple:
    t_import = time.perf_counter() - T0
    m = EngineModel(
        (("Normal(-2.1972246, 3.18)", "HalfNormal(1)"), ("Normal(-0.8472979, 1.94)", "HalfNormal(1)")),
        weights=[0.25, 0.25],
        nex=(-1.3862944, 2.5),
    )
    y, n = [2, 5, 1, 4], [20, 20, 10, 10]
    t0, c0 = time.perf_counter(), time.process_time()
    post = posterior(m, y, n)
    post.prob_above(0.1)
    cold, cold_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(5):  # the same data again: posterior() keeps its engine
        posterior(m, y, n).prob_above(0.1)
    repeat, repeat_cpu = (time.perf_counter() - t0) / 5, (time.process_time() - c0) / 5
    t0 = time.perf_counter()
    posterior(m, [3, 5, 1, 4], n).prob_above(0.1)  # one new count
    new_count = time.perf_counter() - t0
    eng = Engine(m, 60)
    eng.posterior(y, n, thresholds=[0.1]).prob_above(0.1)  # tables of every count built once
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(5):
        post = eng.posterior([3, 5, 1, 4], n, thresholds=[0.1])
        post.prob_above(0.1)
    warm, warm_cpu = (time.perf_counter() - t0) / 5, (time.process_time() - c0) / 5
    return t_import, cold, cold_cpu, warm, warm_cpu, repeat, repeat_cpu, new_count, list(post.mean)


if __name__ == "__main__":
    *times, means = main()
    print(*times, *means)
