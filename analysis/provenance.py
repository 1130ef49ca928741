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


def _relative(p: Path | str) -> str:
    path = Path(p).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(p)


def differences(record: dict, root: Path = ROOT) -> list[str]:
    """How a provenance record differs from the current data files and code (empty: the results are current).

    Parameters
    ----------
    record : dict
        A record written by :func:`provenance` (``results/provenance.json``).
    root : Path
        The project root that relative data paths are resolved against.

    Returns
    -------
    list of str
        One line per data file whose checksum differs (or that is gone) and one for the code hash.
    """
    if not isinstance(record, dict):  # a record of an older format, or not a record at all
        return [f"not a provenance record of this version (a JSON {type(record).__name__}, expected an object)"]
    out = []
    data = record.get("data")
    if not isinstance(data, dict) or not data:
        out.append("no data checksums recorded")
        data = {}
    for name, recorded in sorted(data.items()):
        path = Path(name) if Path(name).is_absolute() else root / name
        if not path.is_file():
            out.append(f"{name}: recorded with checksum {str(recorded)[:12]}, now missing")
            continue
        current = sha256(path)
        if current != recorded:
            out.append(f"{name}: recorded checksum {str(recorded)[:12]}, current {current[:12]}")
    current_code = code_hash()
    if record.get("code") != current_code:
        out.append(f"code hash: recorded {str(record.get('code'))[:12]}, current {current_code[:12]}")
    return out


_HDF5 = b"\x89HDF\r\n\x1a\n"


def hdf5_problem(path: Path | str) -> str | None:
    """Why an HDF5 (netCDF-4) file is unreadable, from its superblock alone: no signature, or a stored end of file
    beyond the file's size (a truncated or half-copied file); ``None`` when it looks whole.

    Reads a few bytes, no HDF5 library: cheap enough for make to run before every build.
    """
    import struct

    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(2048)
        size = path.stat().st_size
    except OSError as err:
        return f"{path}: cannot be read ({err.strerror or err})"
    for at in (0, 512, 1024):
        if head[at : at + 8] == _HDF5:
            break
    else:
        return f"{path}: not an HDF5 file (no signature)"
    version = head[at + 8]
    field = {0: at + 40, 1: at + 40, 2: at + 28, 3: at + 28}.get(version)
    if field is None or len(head) < field + 8:
        return None  # a newer layout: left to the reader
    eof = struct.unpack("<Q", head[field : field + 8])[0]
    if eof > size:
        return f"{path}: truncated ({size:,} of {eof:,} bytes)"
    return None


def corrupt_fits(results: Path | str) -> list[str]:
    """The stored fits (``bayes/**/*.nc``) of a results folder that are not whole HDF5 files (:func:`hdf5_problem`)."""
    folder = Path(results) / "bayes"
    found = [hdf5_problem(p) for p in sorted(folder.rglob("*.nc"))] if folder.is_dir() else []
    return [f for f in found if f]


def unseen_by_make(path: Path | str) -> list[str]:
    """The differences of ``path``'s record that make cannot see: those of inputs older than the record.

    make reruns a step when an input is newer than its outputs; results copied from another data or code state
    (or restored with new times) are newer than the inputs that differ, so make would render them as they are.

    Parameters
    ----------
    path : path
        ``results/provenance.json``.

    Returns
    -------
    list of str
        The differences (:func:`differences`) when no differing input is newer than ``path``; else empty (make
        reruns the steps itself).  An unreadable record is one difference, and so is each stored fit beside it
        (``bayes/**/*.nc``) that is not a whole HDF5 file.
    """
    import json

    path = Path(path)
    broken = corrupt_fits(path.parent)  # a corrupted fit: its step must run again (it refits unreadable fits)
    if broken:
        return broken
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return [f"{path}: unreadable ({err})"]
    if not isinstance(record, dict):
        return [f"{path}: not a provenance record"]
    found = differences(record)
    if not found:
        return []
    stamp = path.stat().st_mtime
    inputs = [ROOT / n for n in record.get("data", {}) if (ROOT / n).is_file()]
    inputs += list((ROOT / "analysis").rglob("*.py"))
    if any(p.stat().st_mtime > stamp for p in inputs):
        return []  # make sees a newer input and reruns what depends on it
    return found


def provenance(data_files: list[Path], extra: dict | None = None) -> dict:
    """A provenance record for results computed from ``data_files``."""
    rec = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "code": code_hash(),
        "packages": package_versions(),
        "data": {_relative(p): sha256(p) for p in data_files},
        "settings": SETTINGS.as_dict(),
        "seeds": {"mcmc": SETTINGS.mcmc.seed},
    }
    if extra:
        rec.update(extra)
    return rec
