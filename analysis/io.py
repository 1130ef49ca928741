"""Atomic writes: a file appears complete or not at all; and the output folders of the analysis steps.

Every file of every step is written through :func:`atomic_path`.  :func:`step_outputs` wraps one step's run:
it refuses a folder that holds another step's outputs (``frequentist --out results/bayes`` would replace the
Bayesian step's ``estimates.csv``), records the files the step wrote in a manifest (``.outputs-STEP.json``), and
removes the step's own outputs of an earlier run that this run did not rewrite (a figure of an earlier run
with figures, when this one ran with ``--no-figures``).
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported by the callers; the command line's entry stays quick
    import pandas as pd


#: where files are first written (RAM): a library that fails half-way through a file on a full disk (h5py: tracebacks,
#: then a segmentation fault at exit) fails here never; the copy to the destination then fails cleanly, naming it
STAGE = Path("/dev/shm")
#: files larger than this are written in place (the staging area is memory)
STAGE_MAX_BYTES = 512 * 2**20


def _with_name(err: OSError, path: Path) -> OSError:
    """``err`` naming ``path`` (writers such as pandas and h5py raise disk-full errors that name no file, or the
    temporary one)."""
    code = err.errno
    if code is None and ("errno = 28" in str(err) or "No space left" in str(err)):
        code = errno.ENOSPC
    if code is None:
        return err
    named = OSError(code, os.strerror(code), str(path))
    named.__cause__ = err
    return named


def _stage_dir(final_dir: Path) -> Path | None:
    try:
        if STAGE.is_dir() and os.access(STAGE, os.W_OK) and shutil.disk_usage(STAGE).free > 2 * STAGE_MAX_BYTES:
            return STAGE
    except OSError:
        pass
    return None


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path; on success its file replaces ``path`` at once, on failure nothing changes.

    The file is first written in a staging folder in memory (:data:`STAGE`, when there is one) and then copied
    beside ``path`` and renamed onto it: a full disk, a file-size limit or a read-only folder then fail in the copy,
    as an ``OSError`` naming ``path``, whatever library wrote the file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = _stage_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=stage or path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    final_tmp: Path | None = None
    try:
        try:
            yield tmp_path
        except OSError as err:
            raise _with_name(err, path) from err.__cause__
        try:
            if stage is not None and tmp_path.stat().st_size <= STAGE_MAX_BYTES:
                fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
                os.close(fd)
                final_tmp = Path(name)
                shutil.copyfile(tmp_path, final_tmp)
            elif stage is not None:  # too large for memory: moved (a copy across file systems)
                fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
                os.close(fd)
                final_tmp = Path(name)
                shutil.move(tmp_path, final_tmp)
            else:
                final_tmp = tmp_path
            os.chmod(final_tmp, 0o644)  # mkstemp creates 0600; results are meant to be read
            os.replace(final_tmp, path)
        except OSError as err:
            raise _with_name(err, path) from err
        for written in _RECORDERS:
            written.add(path.resolve())
    finally:
        for leftover in (tmp_path, final_tmp):
            if leftover is not None and leftover.exists():
                leftover.unlink()


def write_text(path: Path | str, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_csv(path: Path | str, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.10g", lineterminator="\n")


def write_json(path: Path | str, obj: object) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


#: the sets of paths written by the steps now running (:func:`step_outputs`), innermost last
_RECORDERS: list[set[Path]] = []


@dataclass(frozen=True)
class Step:
    """The outputs of one analysis step in its ``--out`` folder.

    ``products`` are the step's results (file-name patterns): files of an earlier run of the same step that match
    them and are not rewritten are removed.  ``signature`` are names no other step writes: finding one (or the
    step's manifest) in a folder means the folder holds this step's outputs.  ``shares`` names the steps whose
    outputs may sit in the same folder (the Bayesian and sensitivity steps share ``results/bayes``).  Cached fits
    (``*.nc`` and their sidecars) are neither: they are reused, not rewritten, and never removed.
    """

    products: tuple[str, ...]
    signature: tuple[str, ...]
    shares: tuple[str, ...] = ()


_BAYES_TABLES = (
    "estimates.csv",
    "exceedance.csv",
    "diagnostics.csv",
    "ppc.csv",
    "prior_predictive.csv",
    "hyperparameters.csv",
    "exchangeability.csv",
    "crosscheck.csv",
    "lodo.csv",
)
STEPS: dict[str, Step] = {
    "frequentist": Step(("estimates.csv", "tests.csv", "meta.csv"), ("tests.csv", "meta.csv")),
    "bayes": Step(_BAYES_TABLES, _BAYES_TABLES[1:], shares=("sensitivity",)),
    "sensitivity": Step(
        ("sensitivity.csv", "sensitivity_diagnostics.csv"),
        ("sensitivity.csv", "sensitivity_diagnostics.csv"),
        shares=("bayes",),
    ),
    "priors": Step(("priors.json", "designs.json", "map_draws.npz", "*.png"), ("priors.json", "designs.json")),
    "design": Step(("oc.csv", "design.json", "*.png"), ("oc.csv", "design.json")),
}


def _manifest(folder: Path, step: str) -> Path:
    return folder / f".outputs-{step}.json"


def _recorded(folder: Path, step: str) -> list[str] | None:
    """The files the step's last run wrote into ``folder``, from its manifest (``None``: no readable manifest)."""
    try:
        files = json.loads(_manifest(folder, step).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return [f for f in files if isinstance(f, str) and Path(f).name == f]


def holders(folder: Path | str) -> list[str]:
    """The steps whose outputs ``folder`` holds (by manifest, or by a file name only that step writes)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    names = {p.name for p in folder.iterdir() if p.is_file()}
    return [
        name
        for name, step in STEPS.items()
        if _manifest(folder, name).name in names or any(s in names for s in step.signature)
    ]


class OutputFolderError(ValueError):
    """An output folder holds another step's outputs."""


@dataclass
class StepRun:
    """One step's run: the paths it wrote (filled in by :func:`atomic_path`), and whether it succeeded."""

    written: set[Path]
    ok: bool = False


@contextlib.contextmanager
def step_outputs(folder: Path | str, step: str) -> Iterator[StepRun]:
    """Run one step into ``folder``: refuse another step's folder, then record, prune and list what it wrote.

    Parameters
    ----------
    folder : path
        The step's ``--out`` folder.
    step : str
        A key of :data:`STEPS`.

    Yields
    ------
    StepRun
        The paths written so far; the caller sets ``ok`` when the step succeeded, and only then are the step's
        stale outputs removed and its manifest written.

    Raises
    ------
    OutputFolderError
        When ``folder`` holds the outputs of a step other than ``step`` and the steps it shares a folder with;
        nothing is written then.
    """
    folder = Path(folder)
    spec = STEPS[step]
    others = [h for h in holders(folder) if h != step and h not in spec.shares]
    if others:
        raise OutputFolderError(
            f"--out {folder}: the folder holds the outputs of the '{others[0]}' step; "
            f"expected an empty folder or one of the '{step}' step's own (choose another --out)"
        )
    run = StepRun(set())
    _RECORDERS.append(run.written)
    try:
        yield run
    finally:
        _RECORDERS.remove(run.written)
    written = run.written
    if not run.ok or not folder.is_dir():
        return
    root = folder.resolve()
    mine = sorted(p.relative_to(root).as_posix() for p in written if p.parent == root)
    earlier = _recorded(folder, step)
    if earlier is None:  # no manifest (an older run): the step's products as named
        earlier = [p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    for name in earlier:
        if name not in mine and any(fnmatch.fnmatch(name, pat) for pat in spec.products):
            (folder / name).unlink(missing_ok=True)
    write_json(_manifest(folder, step), {"step": step, "files": mine})


#: the project's own folder of temporary files (PyTensor writes about seven generated sources per traced model
#: into the temporary folder and never removes them): one subfolder per process, removed when it ends
TMP_ROOT = Path(__file__).resolve().parent.parent / ".tmp"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def private_tempdir(root: Path = TMP_ROOT) -> Iterator[Path]:
    """Route this process's temporary files (and its children's, through ``TMPDIR``) into a folder of ``root``.

    The folder is removed at the end, and so are the folders of earlier processes that are no longer running
    (a ``kill -9`` leaves its folder behind).

    Yields
    ------
    Path
        The folder.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
        for old in root.iterdir():
            pid = old.name.split("-", 1)[0]
            if old.is_dir() and pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
        folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root))
    except OSError:  # a read-only checkout: the system's temporary folder, as before
        yield Path(tempfile.gettempdir())
        return
    import multiprocessing.util

    multiprocessing.util.get_temp_dir()  # multiprocessing's own folder (forkserver socket) stays where it was
    saved_dir, saved_env = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir = str(folder)
    os.environ["TMPDIR"] = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = saved_dir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        shutil.rmtree(folder, ignore_errors=True)
