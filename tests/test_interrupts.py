"""Interrupts and failures (issue 23): Ctrl-C stops the basket worker pool within seconds, workers exit when
their parent is killed, disk full is a clean exit 4 naming the file, the timing wrapper passes Ctrl-C on
without a traceback."""

from __future__ import annotations

import errno
import os
import re
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


# -- disk full ----------------------------------------------------------------------------------------------------
@pytest.fixture
def tiny_disk(tmp_path):
    """A 24 KiB file system (tmpfs; needs root, as CI runs): a real full disk."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mnt
    subprocess.run(["umount", str(mnt)], capture_output=True)


def test_disk_full_is_a_clean_exit_4_naming_the_file(tiny_disk, capsys):
    from analysis.cli import main

    out = tiny_disk / "freq"
    assert main(["frequentist", "--out", str(out)]) == 4
    err = capsys.readouterr().err
    assert re.search(rf"error: {re.escape(str(out))}/\w+\.csv: the disk is full", err), err
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "a temporary file was left behind"


def test_disk_full_while_saving_a_fit_names_the_file_and_does_not_crash(tiny_disk):
    """h5py printed tracebacks and the process then died of a segmentation fault (exit 139)."""
    code = (
        "import numpy as np, arviz as az\n"
        "from analysis.io import atomic_path\n"
        "idata = az.from_dict(posterior={'x': np.random.default_rng(1).normal(size=(4, 5000))})\n"
        f"with atomic_path({str(tiny_disk / 'fit.nc')!r}) as tmp:\n"
        "    idata.to_netcdf(tmp)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr[-2000:]
    assert f"No space left on device: '{tiny_disk / 'fit.nc'}'" in done.stderr
    assert "Segmentation" not in done.stderr and "Exception ignored" not in done.stderr
    assert list(tiny_disk.iterdir()) == []


def test_disk_full_without_a_file_name_from_the_writer_is_named(tmp_path, capsys, monkeypatch):
    """pandas (and h5py) raise ENOSPC naming no file; the message names the output file anyway."""
    import analysis.io as io
    from analysis.cli import main

    def full(src, dst, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io.shutil, "copyfile", full)
    monkeypatch.setattr(io, "STAGE", tmp_path / "stage")  # staging on: the copy is where the disk fills
    (tmp_path / "stage").mkdir()
    out = tmp_path / "out"
    assert main(["frequentist", "--out", str(out)]) == 4
    err = capsys.readouterr().err
    assert f"error: {out / 'estimates.csv'}: the disk is full" in err, err
    assert list((tmp_path / "stage").iterdir()) == []


def test_file_too_large_names_the_file(tmp_path, capsys, monkeypatch):
    import analysis.frequentist.step as step
    from analysis.cli import main

    def too_large(path, df):
        raise OSError(errno.EFBIG, "File too large", str(path))

    monkeypatch.setattr(step, "write_csv", too_large)
    assert main(["frequentist", "--out", str(tmp_path / "o")]) == 4
    assert re.search(r"o/estimates\.csv: the file is too large", capsys.readouterr().err)


# -- a corrupted posterior file -----------------------------------------------------------------------------------
def test_corrupted_posterior_is_reported_by_name_and_make_reruns_the_step(tmp_path, capsys):
    import shutil

    from analysis.cli import main
    from analysis.data.characteristics import CHARACTERISTICS
    from analysis.io import write_json
    from analysis.provenance import corrupt_fits, provenance, unseen_by_make
    from analysis.settings import COHORTS, INDEX_STUDY

    if not (ROOT / "results" / "bayes" / "hierarchical.nc").is_file():
        pytest.skip("results not built")
    assert corrupt_fits(ROOT / "results") == []
    res = tmp_path / "results"
    shutil.copytree(ROOT / "results", res)
    write_json(res / "provenance.json", provenance([INDEX_STUDY, COHORTS, CHARACTERISTICS]))
    fit = res / "bayes" / "hierarchical.nc"
    fit.write_bytes(fit.read_bytes()[:5000])  # a half-copied file
    assert main(["figures", "--results", str(res), "--out", str(tmp_path / "figs")]) == 4
    assert f"{fit} is not a readable posterior file" in capsys.readouterr().err
    # make's check before the build: the stored fit is broken, so every step is forced (the Bayesian step refits
    # an unreadable stored fit)
    assert any(f"{fit}: truncated (5,000 of" in d for d in unseen_by_make(res / "provenance.json"))


# -- temporary files of compilers ---------------------------------------------------------------------------------
def test_pytensor_temporary_files_go_to_the_projects_folder_and_are_removed(tmp_path):
    import tempfile

    from pytensor.link.utils import compile_function_src

    from analysis.io import private_tempdir

    system = tempfile.gettempdir()
    stale = tmp_path / "999999999-dead"  # the folder of a process killed earlier
    stale.mkdir()
    with private_tempdir(tmp_path) as folder:
        assert tempfile.gettempdir() == str(folder) and os.environ["TMPDIR"] == str(folder)
        assert not stale.exists()
        compile_function_src("def f(x):\n    return x\n", "f", {})
        generated = list(folder.iterdir())
        assert generated, "PyTensor wrote its generated source elsewhere"
    assert not folder.exists()
    assert tempfile.gettempdir() == system


def test_the_command_line_runs_in_the_projects_temporary_folder(tmp_path, monkeypatch, capsys):
    import tempfile

    import analysis.cli as cli

    seen = []
    monkeypatch.setattr(cli, "cmd_validate", lambda args: seen.append(tempfile.gettempdir()) or 0)
    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _with_validate(parser(), cli.cmd_validate))
    assert cli.main(["validate", str(ROOT / "data" / "raw" / "index_study.csv")]) == 0
    assert Path(seen[0]).parent == ROOT / ".tmp" and not Path(seen[0]).exists()


def _with_validate(parser, func):
    parser._subparsers._group_actions[0].choices["validate"].set_defaults(func=func)
    return parser
