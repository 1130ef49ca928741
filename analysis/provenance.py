"""Provenance: what produced the results (data checksums, versions, commit, seeds)."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from analysis.settings import ROOT, SETTINGS

PACKAGES = (
    "pymc",
    "pytensor",
    "arviz",
    "nutpie",
    "numpyro",
    "jax",
    "statsmodels",
    "scipy",
    "numpy",
    "pandas",
    "seaborn",
    "matplotlib",
    "pypandoc-binary",
    "typst",
)


def sha256(path: Path | str) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    """The versions of Python and of the packages that determine results (a new dict each call)."""
    return dict(_package_versions())


@functools.lru_cache(maxsize=1)
def _package_versions() -> dict[str, str]:  # installed packages do not change while a process runs
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def code_hash(root: Path = ROOT / "analysis") -> str:
    """SHA-256 over every source file of the package (path and content), in a fixed order."""
    h = hashlib.sha256()
    for path in sorted(Path(root).rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def provenance(data_files: list[Path], extra: dict | None = None) -> dict:
    """A provenance record for results computed from ``data_files``."""
    rec = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "code": code_hash(),
        "packages": package_versions(),
        "data": {
            str(Path(p).resolve().relative_to(ROOT)) if Path(p).resolve().is_relative_to(ROOT) else str(p): sha256(p)
            for p in data_files
        },
        "settings": SETTINGS.as_dict(),
        "seeds": {"mcmc": SETTINGS.mcmc.seed},
    }
    if extra:
        rec.update(extra)
    return rec
