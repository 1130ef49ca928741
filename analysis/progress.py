"""Progress of long command-line runs on standard error: done of total, time elapsed and an estimate of time left.

A :class:`Progress` line appears only on a terminal (or with ``--progress``,
which sets ``ANALYSIS_PROGRESS=1``; ``ANALYSIS_PROGRESS=0`` silences it) and
only once its task has run for a few seconds, so quick runs and logs stay
clean.  A background thread redraws it twice a second, so the elapsed time
moves even while one long call runs (a compilation, one MCMC fit); into a
log (not a terminal) it writes a line per finished item and one every
:data:`LOG_EVERY` seconds instead.  The
estimate of time left is the mean time per finished item times the items left
(shown from the first finished item on).  :func:`track` counts the calls of a
function as the items of a progress line, which is how the command line
follows the MCMC fits, compilations, simulations and searches of the steps
without their code knowing.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

#: a task shorter than this shows no progress line (``ANALYSIS_PROGRESS_AFTER`` seconds sets another)
MIN_SECONDS = 3.0
REDRAW = 0.5
#: off a terminal (``--progress`` into a log), a line per finished item and one every this many seconds
LOG_EVERY = 10.0


def enabled(stream: TextIO | None = None) -> bool:
    """Whether progress is shown: ``ANALYSIS_PROGRESS`` = 1 or 0 decides, else whether ``stream`` is a terminal.

    Parameters
    ----------
    stream : file, optional
        Where progress would go (default ``sys.stderr``).

    Returns
    -------
    bool
        ``True`` to show progress.
    """
    setting = os.environ.get("ANALYSIS_PROGRESS", "").strip()
    if setting in ("0", "1"):
        return setting == "1"
    stream = stream if stream is not None else sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def duration(seconds: float) -> str:
    """``"42 s"``, ``"3 min 05 s"`` or ``"1 h 02 min"``.

    Parameters
    ----------
    seconds : float
        A duration.

    Returns
    -------
    str
        The duration rounded to the second (minutes above an hour).
    """
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Progress:
    """A progress line: ``label: done/total, elapsed, about N left (current item)``.

    Parameters
    ----------
    label : str
        What is counted, e.g. ``MCMC fits``.
    total : int, optional
        How many items there are; without it, no estimate of time left.
    stream : file, optional
        Where the line goes (default ``sys.stderr``).
    show : bool, optional
        Show it (default: :func:`enabled`).
    min_seconds : float, optional
        Nothing is shown before the task has run this long (default ``ANALYSIS_PROGRESS_AFTER``, else
        :data:`MIN_SECONDS`).
    clock : callable
        The time source (a test's fake clock).
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        stream: TextIO | None = None,
        show: bool | None = None,
        min_seconds: float | None = None,
        clock=time.monotonic,
    ):
        self.label, self.total, self.done, self.current = label, total, 0, ""
        self.stream = stream if stream is not None else sys.stderr
        self.show = enabled(self.stream) if show is None else show
        if min_seconds is None:
            min_seconds = float(os.environ.get("ANALYSIS_PROGRESS_AFTER") or MIN_SECONDS)
        self.min_seconds, self.clock = min_seconds, clock
        self.start = clock()
        self.drawn = False
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._logged = (-1, self.start)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def text(self) -> str:
        """The line as it would be drawn now.

        Returns
        -------
        str
            Count, elapsed time, estimate of time left (once an item is done and the total is known) and the
            current item.
        """
        elapsed = self.clock() - self.start
        count = f"{self.done}/{self.total}" if self.total else f"{self.done} done"
        parts = [f"{self.label}: {count}", f"{duration(elapsed)} elapsed"]
        if self.total and 0 < self.done < self.total:
            parts.append(f"about {duration(elapsed / self.done * (self.total - self.done))} left")
        line = ", ".join(parts)
        return f"{line} ({self.current})" if self.current else line

    def draw(self, final: bool = False) -> None:
        """Redraw the line (when shown and the task has run ``min_seconds``).

        Parameters
        ----------
        final : bool
            End the line: the task is over.
        """
        with self._lock:
            now = self.clock()
            if not self.show or (now - self.start < self.min_seconds and not self.drawn):
                return
            if self.tty:  # one line, redrawn in place
                self.stream.write("\r\033[K" + self.text() + ("\n" if final else ""))
            elif final or self.done != self._logged[0] or now - self._logged[1] >= LOG_EVERY:
                self.stream.write(self.text() + "\n")  # a log: a line per item, and one every LOG_EVERY s
                self._logged = (self.done, now)
            self.stream.flush()
            self.drawn = not final

    def advance(self, n: int = 1, current: str = "") -> None:
        """Count ``n`` items as done.

        Parameters
        ----------
        n : int
            Items finished.
        current : str
            What runs now (shown in brackets).
        """
        self.done += n
        self.current = current
        self.draw()

    def __enter__(self) -> Progress:
        if self.show:
            self._thread = threading.Thread(target=self._redraw, daemon=True)
            self._thread.start()
        return self

    def _redraw(self) -> None:
        while not self._stop.wait(REDRAW):
            self.draw()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.drawn:
            self.draw(final=True)


@contextlib.contextmanager
def track(owner: object, name: str, progress: Progress, describe=None, count: bool = True) -> Iterator[Progress]:
    """Count every call of ``owner.name`` as one item of ``progress`` while the block runs.

    Parameters
    ----------
    owner : module or class
        Where the function is looked up by the code that calls it.
    name : str
        The function's name there; it must exist (a renamed function is an error, not silence).
    progress : Progress
        The line to advance.
    describe : callable, optional
        ``describe(*args, **kwargs)`` -> the text shown while a call runs.
    count : bool
        Count the calls; ``False``: only show what runs (e.g. a compilation inside a counted fit).

    Yields
    ------
    Progress
        ``progress``.
    """
    original = getattr(owner, name)  # AttributeError when the function moved: the test of the command line sees it

    @functools.wraps(original)
    def counted(*args, **kwargs):
        if describe is not None:
            progress.current = describe(*args, **kwargs)
        try:
            return original(*args, **kwargs)
        finally:
            if count:
                progress.advance(current="")

    setattr(owner, name, counted)
    try:
        yield progress
    finally:
        setattr(owner, name, original)


__all__ = ["Progress", "duration", "enabled", "track"]
