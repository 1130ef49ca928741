"""Simulated OC of the 10-indication sarcoma design in a fresh process, for
:func:`tools.bench_basket.ten_indications_throughput`: ``python -m tools.bench_tables WORKERS N_SIM`` prints the
seconds of :func:`~analysis.basket.run.operating_characteristics` end to end (drawing, building or reading the
engine's table rows, the trials), its CPU seconds in this process and its worker processes (the machine's load
inflates them least), the import's seconds, and the table rows stored before and after the run (the table store is ``ANALYSIS_JAX_CACHE``'s, as the caller sets it).
"""

import resource
import sys
import time

T0 = time.perf_counter()

from analysis.basket.executor import Executor  # noqa: E402
from analysis.basket.run import operating_characteristics  # noqa: E402
from analysis.bayes.engine.store import table_store  # noqa: E402
from tools.bench_basket import _sarcoma10  # noqa: E402


def _rows() -> int:
    folder = table_store()
    return 0 if folder is None or not folder.is_dir() else len(list(folder.glob("*.row")))


def main(workers: int, n_sim: int) -> tuple:
    t_import = time.perf_counter() - T0
    before = _rows()
    d = _sarcoma10(n_sim)
    t0, c0, k0 = time.perf_counter(), time.process_time(), _children_cpu()
    operating_characteristics(d, Executor(workers=workers))
    cpu = time.process_time() - c0 + _children_cpu() - k0
    return time.perf_counter() - t0, cpu, t_import, before, _rows()


def _children_cpu() -> float:
    """CPU seconds of this process's ended (and waited for) child processes: the workers."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


if __name__ == "__main__":
    print(*main(int(sys.argv[1]), int(sys.argv[2])))
