"""Interrupts and failures (issue 23): Ctrl-C stops the basket worker pool within seconds, workers exit when
their parent is killed, disk full is a clean exit 4 naming the file, the timing wrapper passes Ctrl-C on
without a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.settings import ROOT

# a parent that maps long sleeps over two local workers, the way the basket step maps its tasks
POOL = """
import sys, time, types
if sys.argv[1] == "forkserver":
    sys.modules["jax"] = types.ModuleType("jax")  # the executor then starts workers from a fork server
from analysis.basket.executor import Executor
try:
    Executor(workers=2).map(time.sleep, [(60,)] * 4)
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    sys.exit(130)
"""


def _descendants(pid: int) -> set[int]:
    parents: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(d.name))
    out, todo = set(), [pid]
    while todo:
        for c in parents.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _start(context: str) -> tuple[subprocess.Popen, set[int]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", POOL, context],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches it
    )
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.3)
        workers = _descendants(proc.pid) if proc.poll() is None else set()
    assert len(workers) >= 2, "the pool did not start"
    time.sleep(1.0)  # the workers are inside their tasks
    return proc, workers


@pytest.mark.parametrize("context", ["fork", "forkserver"])
def test_ctrl_c_stops_the_worker_pool_within_seconds(context):
    proc, workers = _start(context)
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    try:
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert time.monotonic() - t0 < 15, "Ctrl-C waited for the running tasks"
    assert proc.returncode == 130 and "interrupted" in err
    assert "Traceback" not in err, err
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(w) for w in workers), "workers outlived the interrupted parent"


@pytest.mark.parametrize("context", ["fork", "forkserver"])
def test_workers_exit_when_the_parent_is_killed(context):
    proc, workers = _start(context)
    proc.kill()  # kill -9: no cleanup in the parent
    proc.wait()
    deadline = time.monotonic() + 15
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [w for w in workers if _alive(w)]
    for w in left:
        os.kill(w, signal.SIGKILL)
    assert not left, "workers kept computing after their parent was killed"


def test_timing_wrapper_passes_ctrl_c_on_without_a_traceback(tmp_path):
    child = "import time, sys\ntry:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    sys.exit(130)\n"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "analysis.timing",
            "--results",
            str(tmp_path),
            "step",
            "--",
            sys.executable,
            "-c",
            child,
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(1.5)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err


def test_timing_wrapper_reports_a_killed_command_as_128_plus_the_signal(tmp_path):
    from analysis import timing

    assert timing.record("killed", [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"], tmp_path) == 143  # fmt: skip
