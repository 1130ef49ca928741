"""A one-off EXNEX posterior in a fresh process, for :func:`tools.bench_basket.one_off_exnex`:
``python -m tools.bench_oneoff`` prints, in seconds: the engine's import, the cold posterior (the default
one-off path, :class:`~analysis.bayes.engine.direct.DirectEngine`) and its CPU time, the warm one (a new data
vector, every count's table built; median of 101 calls) and its CPU time, the same data again through
``posterior`` (its engine kept; median of 101) and its CPU time, one new count; then the cold posterior's
means.

The prior is Neuenschwander et al. (2016) Table V's: two exchangeable components and a non-exchangeable one,
over 4 strata.
"""

import statistics
import time

T0 = time.perf_counter()  # before the engine's import: its time is part of what a fresh process pays

from analysis.bayes.engine import Engine, EngineModel, posterior  # noqa: E402


def model_and_data() -> tuple:
    """The model (Neuenschwander et al. 2016, Table V), the data ``y`` of ``n``, the threshold of P(p > x)."""
    m = EngineModel(
        (("Normal(-2.1972246, 3.18)", "HalfNormal(1)"), ("Normal(-0.8472979, 1.94)", "HalfNormal(1)")),
        weights=[0.25, 0.25],
        nex=(-1.3862944, 2.5),
    )
    return m, [2, 5, 1, 4], [20, 20, 10, 10], 0.1


def _median(call, times: int = 101) -> tuple[float, float]:
    """Median wall and CPU seconds of ``times`` calls (a shared machine's stalls fall in the upper half)."""
    wall, cpu = [], []
    for _ in range(times):
        t0, c0 = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main() -> tuple:
    t_import = time.perf_counter() - T0
    m, y, n, x = model_and_data()
    t0, c0 = time.perf_counter(), time.process_time()
    post = posterior(m, y, n)
    post.prob_above(x)
    cold, cold_cpu = time.perf_counter() - t0, time.process_time() - c0
    # the same data again: posterior() keeps its engine (rows and tails)
    repeat, repeat_cpu = _median(lambda: posterior(m, y, n).prob_above(x))
    t0 = time.perf_counter()
    posterior(m, [3, 5, 1, 4], n).prob_above(x)  # one new count
    new_count = time.perf_counter() - t0
    eng = Engine(m, 60)
    eng.posterior(y, n, thresholds=[x]).prob_above(x)  # tables of every count built once
    warm, warm_cpu = _median(lambda: eng.posterior([3, 5, 1, 4], n, thresholds=[x]).prob_above(x))
    return t_import, cold, cold_cpu, warm, warm_cpu, repeat, repeat_cpu, new_count, list(post.mean)


if __name__ == "__main__":
    *times, means = main()
    print(*times, *means)
