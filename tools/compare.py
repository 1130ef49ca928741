"""Compare two builds (``results/`` and ``manuscript/`` trees) file by file.

``python -m analysis compare --old OLD --new NEW`` reports, for every file of either
tree, whether it is byte-identical, identical once the fields that record
*when* and *where* a build ran are masked (provenance time and git commit,
sampling time, netCDF attributes), or different.  It exits 1 when any file
differs or exists on one side only.  Used to show that a refactoring changed
no number (issue: stage packages), and by ``make reproduce``.

Masked, and only these: ``created`` and ``git_commit`` in ``provenance.json``;
``sampling_seconds`` and ``cache_key`` in fit sidecars (the key hashes the
package versions and code); the attributes of netCDF files (creation time,
sampling time), whose arrays are compared exactly; the commit and time in the
colophon table and in the rendered HTML.  The PDF embeds the colophon in
compressed streams and is compared through the HTML it is rendered from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from analysis.errors import CompareError

VOLATILE_JSON = {"created", "git_commit", "sampling_seconds", "cache_key", "code"}
SKIP = {"bench.json"}
SKIP_SUFFIX = {".pdf", ".typ"}
_COMMIT = re.compile(r"\b[0-9a-f]{40}(-dirty)?\b")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\+00:00|Z)?")


@dataclass(frozen=True)
class Comparison:
    path: str
    status: str  # "identical" | "identical after masking" | "different" | "only in old" | "only in new" | "skipped"
    detail: str = ""


def _strip_json(obj):
    if isinstance(obj, dict):
        return {k: _strip_json(v) for k, v in obj.items() if k not in VOLATILE_JSON}
    if isinstance(obj, list):
        return [_strip_json(v) for v in obj]
    return obj


def _mask_text(text: str) -> str:
    return _TIME.sub("<time>", _COMMIT.sub("<commit>", text))


def _same_netcdf(a: Path, b: Path) -> tuple[bool, str]:
    import arviz as az
    import numpy as np

    da, db = az.from_netcdf(a), az.from_netcdf(b)
    if set(da.groups()) != set(db.groups()):
        return False, f"groups {sorted(da.groups())} vs {sorted(db.groups())}"
    for g in da.groups():
        xa, xb = da[g], db[g]
        if set(xa.data_vars) != set(xb.data_vars):
            return False, f"{g}: variables differ"
        for v in xa.data_vars:
            if not np.array_equal(xa[v].values, xb[v].values, equal_nan=True):
                return False, f"{g}/{v}: values differ"
    return True, "arrays identical; attributes ignored"


def compare_file(a: Path, b: Path) -> tuple[str, str]:
    if a.read_bytes() == b.read_bytes():
        return "identical", ""
    if a.suffix == ".json":
        same = _strip_json(json.loads(a.read_text())) == _strip_json(json.loads(b.read_text()))
        return ("identical after masking", "time, commit and cache key masked") if same else ("different", "")
    if a.suffix == ".nc":
        same, why = _same_netcdf(a, b)
        return ("identical after masking" if same else "different"), why
    if a.suffix in (".md", ".html", ".yml", ".csv"):
        ta, tb = _mask_text(a.read_text(encoding="utf-8")), _mask_text(b.read_text(encoding="utf-8"))
        if ta == tb:
            return "identical after masking", "time and commit masked"
        for i, (la, lb) in enumerate(zip(ta.splitlines(), tb.splitlines()), start=1):
            if la != lb:
                return "different", f"line {i}: {la[:80]!r} vs {lb[:80]!r}"
        return "different", "different length"
    return "different", "bytes differ"


def compare_trees(old: Path, new: Path) -> list[Comparison]:
    """Every file of two results or manuscript trees, compared; two files are compared as themselves.

    Raises
    ------
    CompareError
        When a side does not exist, or one side is a file and the other a folder (a misspelled folder used to
        compare as empty, and two files as two empty trees, that is equal).
    """
    old, new = Path(old), Path(new)
    for side, path in (("--old", old), ("--new", new)):
        if not path.exists():
            raise CompareError(f"{side} {path}: no such file or folder")
    if old.is_file() != new.is_file():
        raise CompareError(f"--old {old} and --new {new}: one is a file and the other a folder; expected two of a kind")
    if old.is_file():
        return [Comparison(f"{old.name} vs {new.name}", *compare_file(old, new))]
    names = sorted(
        {p.relative_to(old).as_posix() for p in old.rglob("*") if p.is_file()}
        | {p.relative_to(new).as_posix() for p in new.rglob("*") if p.is_file()}
    )
    out = []
    for name in names:
        a, b = old / name, new / name
        if (
            Path(name).name in SKIP
            or Path(name).suffix in SKIP_SUFFIX
            or "/_build/" in f"/{name}"
            or name.startswith("timings/")
            or (Path(name).name.startswith(".outputs-") and name.endswith(".json"))
        ):
            out.append(Comparison(name, "skipped", "timing, bookkeeping or derived from a compared file"))
        elif not a.is_file():
            out.append(Comparison(name, "only in new"))
        elif not b.is_file():
            out.append(Comparison(name, "only in old"))
        else:
            out.append(Comparison(name, *compare_file(a, b)))
    return out


def report(rows: list[Comparison]) -> tuple[str, bool]:
    ok = all(r.status in ("identical", "identical after masking", "skipped") for r in rows)
    width = max((len(r.path) for r in rows), default=10)
    lines = [f"{r.path:<{width}}  {r.status}{'  (' + r.detail + ')' if r.detail else ''}" for r in rows]
    counts = {s: sum(r.status == s for r in rows) for s in dict.fromkeys(r.status for r in rows)}
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(lines), ok
