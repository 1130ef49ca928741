"""How long each step of the build took: ``results/timings/<step>.json``, read back by :func:`build_times`.

The Makefile runs every analysis step as ``python -m analysis.timing STEP -- COMMAND ...``: the command
runs as a child process; its wall-clock time, start and end (Unix seconds), CPU time (user plus system
seconds of the command and the children it waited for: on a shared machine a steadier measure of work than
wall time; workers started by a ``forkserver`` are the server's children and are not counted), peak
resident memory (MB, of the largest process in it) and exit status are written atomically to
``results/timings/STEP.json``, and its exit status is passed on.  Standard library only (a base module), so that any stage may read it.

These files record *when and how fast* a build ran, not what it computed: a comparison of two builds
should skip ``results/timings/``.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: the step names of ``make paper``, in pipeline order (others may be recorded too)
STEPS = ("frequentist", "bayes", "sensitivity", "priors", "combine", "provenance", "figures", "report", "render")


def record(step: str, command: list[str], results_dir: Path | str = "results") -> int:
    """Run ``command``, write ``results_dir/timings/<step>.json``; return the command's exit status."""
    start = time.time()
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)  # totals over the children waited for so far
    # Ctrl-C reaches the command too (same process group): it stops and reports; this wrapper only waits for it
    # and passes its status on, without a KeyboardInterrupt traceback of its own.  A Python handler (not SIG_IGN)
    # is reset to the default in the child at exec, so the command still receives Ctrl-C.
    previous = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        status = subprocess.call(command)
    finally:
        signal.signal(signal.SIGINT, previous)
    if status < 0:  # killed by a signal: the shell's convention, 128 + signal number
        status = 128 - status
    seconds = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb = usage.ru_maxrss / 1024  # Linux: kilobytes
    out = Path(results_dir) / "timings"
    out.mkdir(parents=True, exist_ok=True)
    rec = {
        "step": step,
        "seconds": round(seconds, 3),
        "start": round(start, 3),
        "end": round(start + seconds, 3),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime, 3),
        "peak_rss_mb": round(peak_mb, 1),
        "status": status,
        "command": command,
    }
    fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{step}.", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(rec, fh, indent=2, sort_keys=True)
        fh.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, out / f"{step}.json")
    return status


def build_times(results_dir: Path | str = "results") -> dict:
    """The recorded step times of the last build.

    Returns ``{"steps": {step: seconds}, "sum_seconds": total of the step times, "wall_seconds": first
    start to last end (less than the sum when steps ran in parallel), "cpu_seconds": total CPU time of the steps
    (``None`` when a record predates it), "peak_rss_mb": largest process,
    "steps_detail": {step: the full record}}``; ``{}`` when nothing was recorded.  Steps appear in
    pipeline order (:data:`STEPS`), then any others by start time.
    """
    folder = Path(results_dir) / "timings"
    recs = {}
    for f in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            rec = json.loads(f.read_text())
            recs[rec["step"]] = rec
        except (OSError, ValueError, KeyError, TypeError):
            continue
    if not recs:
        return {}
    order = [s for s in STEPS if s in recs] + sorted(set(recs) - set(STEPS), key=lambda s: recs[s]["start"])
    return {
        "steps": {s: recs[s]["seconds"] for s in order},
        "sum_seconds": round(sum(r["seconds"] for r in recs.values()), 3),
        "wall_seconds": round(max(r["end"] for r in recs.values()) - min(r["start"] for r in recs.values()), 3),
        "cpu_seconds": (
            round(sum(r["cpu_seconds"] for r in recs.values()), 3)
            if all("cpu_seconds" in r for r in recs.values())
            else None
        ),
        "peak_rss_mb": max(r.get("peak_rss_mb", 0.0) for r in recs.values()),
        "steps_detail": {s: recs[s] for s in order},
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    results_dir = "results"
    if argv[:1] == ["--results"]:
        results_dir, argv = argv[1], argv[2:]
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m analysis.timing [--results DIR] STEP -- COMMAND ...", file=sys.stderr)
        return 2
    return record(argv[0], argv[2:], results_dir)


if __name__ == "__main__":
    sys.exit(main())
