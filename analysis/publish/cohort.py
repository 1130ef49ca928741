"""The report for another cohort, built into its own folder: ``python -m analysis cohort DATA [--spec SPEC] [--out DIR]``.

``DATA`` needs an index-study file and a ``study.yml``; ``SPEC`` defaults to ``DATA/priors.toml``, else
:data:`NO_DESIGN` (the vague prior alone: no MAP prior and no design); ``DIR`` to ``build/cohort-NAME``.

Every step of ``make paper`` runs as its own ``python -m analysis`` process with ``ANALYSIS_DATA=DATA``
(:data:`analysis.settings.DATA_RAW`), writing under ``DIR/results`` and ``DIR/manuscript`` (a copy of the
manuscript's sources): the paper's ``results/`` and ``manuscript/`` are never written.  The data set is validated
first (every problem at once, :mod:`analysis.data.dataset`).  The basket-trial design does not depend on the data:
its results are copied from the paper's when present (``--basket`` recomputes them, about 2.5 minutes).

The first step that fails stops the build; :func:`build` returns its name and exit code.  The steps write into a
temporary sibling folder that becomes ``DIR`` only when every step succeeded: a failed build leaves nothing at
``DIR`` (an earlier report there stays as it was).  The manuscript
template (``index.qmd``) names no study or disease: the report step writes its sections from the cohort's data
and its study metadata (``DATA/study.yml``, :mod:`analysis.publish.narrative`).  Should the template quote a
variable the cohort's results lack, :func:`missing_variables` lists them all (the render step names the first).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from analysis.publish.prose import get
from analysis.publish.shortcodes import VAR
from analysis.settings import MANUSCRIPT, RESULTS, ROOT

#: the manuscript's sources (what git tracks in manuscript/), copied into the cohort's folder
SOURCES = ("*.qmd", "*.yml", "*.bib", "*.css", "*.csl", "*.typ", "filters/*.lua")
GENERATED = ("_variables.yml",)


def _steps(data: Path, spec: Path, out: Path, basket: bool) -> list[tuple[str, list[str]]]:
    res, ms = out / "results", out / "manuscript"
    steps = [
        ("validate", ["validate", "--data", data, "--spec", spec]),
        ("frequentist", ["frequentist", "--out", res / "frequentist"]),
        ("bayes", ["bayes", "--out", res / "bayes"]),
        ("sensitivity", ["sensitivity", "--spec", spec, "--out", res / "bayes"]),
        ("priors", ["priors", spec, "--out", res / "priors"]),
    ]
    if basket:
        steps.append(("basket", ["design", ROOT / "config" / "basket.toml", "--out", res / "basket", "--no-figures"]))
    steps += [
        (
            "combine",
            [
                "combine",
                res / "frequentist" / "estimates.csv",
                res / "bayes" / "estimates.csv",
                "--out",
                res / "estimates.csv",
            ],
        ),
        ("provenance", ["provenance", "--out", res / "provenance.json"]),
        ("figures", ["figures", "--results", res, "--out", ms / "figures"]),
        ("report", ["report", "--results", res, "--manuscript", ms]),
        ("render", ["render", "--manuscript", ms]),
    ]
    return steps


#: the spec of a cohort that brings none: the vague prior alone (no MAP prior, no design)
NO_DESIGN = ROOT / "config" / "no_design.toml"


def default_spec(data: Path) -> Path:
    """The cohort's own spec (``DATA/priors.toml``) if it has one, else :data:`NO_DESIGN`."""
    own = Path(data) / "priors.toml"
    return own if own.is_file() else NO_DESIGN


def default_out(data: Path) -> Path:
    """Where a cohort's report goes unless told: ``build/cohort-NAME`` of the repository."""
    return ROOT / "build" / f"cohort-{Path(data).resolve().name}"


def copy_sources(out: Path, manuscript: Path = MANUSCRIPT) -> Path:
    """The manuscript's sources (not its generated tables, figures or variables) copied to ``out/manuscript``."""
    ms = Path(out) / "manuscript"
    for pattern in SOURCES:
        for src in Path(manuscript).glob(pattern):
            if src.name in GENERATED:
                continue
            dest = ms / src.relative_to(manuscript)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    return ms


def missing_variables(manuscript: Path) -> list[str]:
    """The variables ``index.qmd`` and ``supplement.qmd`` quote that ``_variables.yml`` lacks, in order."""
    manuscript = Path(manuscript)
    path = manuscript / "_variables.yml"
    variables = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}

    missing = object()

    def has(key: str) -> bool:
        return get(variables, key, missing) is not missing

    keys = []
    for name in ("index.qmd", "supplement.qmd"):
        src = manuscript / name
        if src.is_file():
            keys += VAR.findall(src.read_text(encoding="utf-8"))
    return [k for k in dict.fromkeys(keys) if not has(k)]


def _install(tmp: Path, out: Path) -> None:
    """Move the finished build ``tmp`` to ``out``; an earlier ``out`` is replaced only now, and removed last."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build(data: Path, spec: Path, out: Path, basket: bool = False, log=sys.stderr) -> tuple[str | None, int]:
    """Run every step for the cohort in ``data``; returns ``(None, 0)``, or the failed step and its exit code.

    The steps write into a temporary sibling of ``out`` that replaces ``out`` only once every step succeeded:
    a failed build leaves nothing at ``out`` (or the earlier report there, untouched).
    """
    data, spec, out = Path(data).resolve(), Path(spec).resolve(), Path(out).resolve()
    paper = (RESULTS, MANUSCRIPT)
    if any(out.is_relative_to(p) or p.is_relative_to(out) for p in paper):
        raise ValueError(f"{out}: would hold the paper's results or manuscript; expected a folder of its own")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        failed = _run(data, spec, tmp, basket, log)
        if failed[0] is None:
            _install(tmp, out)
        return failed
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _run(data: Path, spec: Path, out: Path, basket: bool, log) -> tuple[str | None, int]:
    # the spec too, for the colophon's rebuild command (analysis.publish.narrative.rebuild_command)
    env = {**os.environ, "ANALYSIS_DATA": str(data), "ANALYSIS_SPEC": str(spec)}
    steps = _steps(data, spec, out, basket)
    for name, argv in steps:
        if name == "combine" and not basket:
            if not (RESULTS / "basket").is_dir():
                return "basket", 4
            shutil.copytree(RESULTS / "basket", out / "results" / "basket", dirs_exist_ok=True)
        if name == "figures":
            ms = copy_sources(out)
            (ms / "figures").mkdir(parents=True, exist_ok=True)
            for png in (out / "results" / "priors").glob("*.png"):
                shutil.copy2(png, ms / "figures" / png.name)
        print(f"[cohort] {name}", file=log, flush=True)
        code = subprocess.run([sys.executable, "-m", "analysis", *map(str, argv)], env=env, cwd=ROOT).returncode
        if code:
            if name == "render":
                missing = missing_variables(out / "manuscript")
                print(
                    f"[cohort] the manuscript template quotes {len(missing)} variable(s) this cohort's results do "
                    f"not have: {', '.join(missing[:12])}{' ...' if len(missing) > 12 else ''}",
                    file=log,
                )
            return name, code
    return None, 0
