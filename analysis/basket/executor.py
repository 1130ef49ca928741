"""One executor for simulation studies: local processes, or a Dask distributed cluster.

Tasks are plain picklable ``(function, args)`` pairs; results come back in
task order.  Randomness never depends on the executor: every simulation
chunk seeds its own generator from the design seed and its
(design, method, scenario, chunk) key (:func:`analysis.basket.design.seed_for`),
so one worker, two processes or a cluster give identical results.

Local worker processes stop with their parent: Ctrl-C (or any failure) in the parent cancels the queued tasks
and terminates the workers at once (a pool's own shutdown waits for every running task, minutes), the workers
ignore Ctrl-C themselves (the parent handles it, without a traceback from each worker), and a worker whose
parent died (``kill -9``) exits within a second instead of computing on forever.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

#: how often a worker checks that its parent is alive (seconds)
PARENT_POLL = 0.5


#: the address schemes of Dask's communication backends
SCHEMES = ("tcp", "tls", "ucx", "ws", "wss", "inproc")


def scheduler_address(text: str) -> str:
    """A Dask scheduler address (``tcp://host:port``, ``host:port``, ...), checked before any work.

    Parameters
    ----------
    text : str
        The ``--scheduler`` option's value.

    Returns
    -------
    str
        ``text``, unchanged.

    Raises
    ------
    argparse.ArgumentTypeError
        Saying what is wrong and what is expected (``'not a url'`` used to fail after the design was set up, as an
        internal error).
    """
    import argparse

    expected = f"expected SCHEME://HOST:PORT (SCHEME one of {', '.join(SCHEMES)}) or HOST:PORT"
    scheme, _, rest = text.rpartition("://") if "://" in text else ("tcp", "", text)
    if scheme not in SCHEMES or not rest or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a scheduler address; {expected}")
    if scheme != "inproc":
        host, sep, port = rest.rpartition(":")
        if not (sep and host.strip("[]") and port.isascii() and port.isdigit() and 0 < int(port) < 65536):
            raise argparse.ArgumentTypeError(f"{text!r} is not a scheduler address; {expected}")
    return text


def _call(task):
    fn, args = task
    return fn(*args)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(PARENT_POLL)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(1)  # the parent is gone: nobody will read our results
        except PermissionError:  # the pid was reused by another user's process: the parent is gone too
            os._exit(1)


def _worker_init(parent: int) -> None:
    """In each worker: leave Ctrl-C to the parent, and exit when the parent dies (even by ``kill -9``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="parent-watch").start()


def _stop(pool: ProcessPoolExecutor, futures) -> None:
    """Cancel what is queued and terminate the workers now (the pool's own shutdown waits for running tasks)."""
    for f in futures:
        f.cancel()
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(timeout=5)


class Executor:
    """``Executor(workers=2)`` (local processes; 1 = in this process) or ``Executor(scheduler='tcp://...')``.

    ``client`` may be an existing ``distributed.Client`` (e.g. on a
    ``LocalCluster``).  ``progress``: print a progress line to stderr.
    """

    def __init__(self, workers: int | None = None, scheduler: str | None = None, client=None, progress: bool = False):
        self.workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        self.scheduler = scheduler
        self._client = client
        self.progress = progress

    @property
    def kind(self) -> str:
        if self._client is not None or self.scheduler:
            return "dask"
        return "inline" if self.workers == 1 else "processes"

    def _report(self, done: int, total: int, t0: float) -> None:
        if self.progress:
            rate = done / max(time.perf_counter() - t0, 1e-9)
            print(
                f"\r  {done}/{total} tasks ({rate:.1f}/s)",
                end="" if done < total else "\n",
                file=sys.stderr,
                flush=True,
            )

    def map(self, fn: Callable, arg_list: Sequence[tuple]) -> list:
        tasks = [(fn, tuple(a)) for a in arg_list]
        t0 = time.perf_counter()
        n = len(tasks)
        if self.kind == "inline":
            out = []
            for i, t in enumerate(tasks, 1):
                out.append(_call(t))
                self._report(i, n, t0)
            return out
        if self.kind == "processes":
            out = [None] * n
            # a forked child of a process running JAX's threads can deadlock: start workers from a clean server then
            import multiprocessing

            ctx = multiprocessing.get_context("forkserver" if "jax" in sys.modules else None)
            pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),)
            )
            futs: dict = {}
            try:
                futs = {pool.submit(_call, t): i for i, t in enumerate(tasks)}
                for done, f in enumerate(as_completed(futs), 1):
                    out[futs[f]] = f.result()
                    self._report(done, n, t0)
            except BaseException:  # Ctrl-C or a failed task: stop the workers within seconds
                _stop(pool, futs)
                raise
            pool.shutdown(wait=True)
            return out
        return self._dask_map(tasks, t0)

    def _dask_map(self, tasks, t0):
        from distributed import Client
        from distributed import as_completed as dask_completed

        try:
            client = self._client or Client(self.scheduler)
        except OSError as err:  # unreachable or refused: name the option and the address
            raise OSError(f"--scheduler {self.scheduler}: cannot connect to the Dask scheduler ({err})") from err
        try:
            futs = client.map(_call, tasks, pure=False)
            index = {f.key: i for i, f in enumerate(futs)}
            out = [None] * len(tasks)
            for done, f in enumerate(dask_completed(futs), 1):
                out[index[f.key]] = f.result()
                self._report(done, len(tasks), t0)
            return out
        finally:
            if self._client is None:
                client.close()
