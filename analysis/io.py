"""Atomic writes: a file appears complete or not at all; and the output folders of the analysis steps.

Every file of every step is written through :func:`atomic_path`.  :func:`step_outputs` wraps one step's run:
it refuses a folder that holds another step's outputs (``frequentist --out results/bayes`` would replace the
Bayesian step's ``estimates.csv``), records the files the step wrote in a manifest (``.outputs-STEP.json``), and
removes the step's own outputs of an earlier run that this run did not rewrite (a figure of an earlier run
with figures, when this one ran with ``--no-figures``).
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)  # mkstemp creates 0600; results are meant to be read
        os.replace(tmp_path, path)
        for written in _RECORDERS:
            written.add(path.resolve())
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


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
