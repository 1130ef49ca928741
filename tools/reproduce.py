"""Compare a rebuild with the reference results the paper reports (``reference/``): ``make reproduce``.

Each number is compared with a tolerance that fits how it was computed:

- exact quantities (intervals, tests, meta-analysis, conjugate posteriors,
  prior predictive draws from a seeded generator, operating characteristics
  under given priors): absolute or relative difference at most ``1e-9``;
- MCMC quantities with a Monte Carlo standard error in the same row
  (posterior means, medians, interval limits, exceedance probabilities):
  ``|new - ref| <= 4 * sqrt(mcse_ref^2 + mcse_new^2)`` (two independent runs;
  the same seed on the same platform reproduces them exactly);
- quantities derived from a MAP prior's MCMC draws (its mixture, ESS and the
  operating characteristics under it): relative difference at most
  ``4 * sqrt(2 / ESS)``, with ESS the smallest bulk ESS of that MAP fit;
- Monte Carlo diagnostics themselves (R-hat, ESS, MCSE, EM fit criteria) are
  not compared: they describe the run, not the result.

The outcome is a table of what matched, per file, and a non-zero exit on
any mismatch.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

#: the results files kept in reference/ (relative to results/)
REFERENCE_FILES = (
    "estimates.csv",
    "frequentist/tests.csv",
    "frequentist/meta.csv",
    "bayes/exceedance.csv",
    "bayes/prior_predictive.csv",
    "bayes/sensitivity.csv",
    "bayes/lodo.csv",
    "basket/oc.csv",
    "basket/calibration.csv",
    "priors/priors.json",
    "priors/designs.json",
)
EXACT_TOL = 1e-9
Z = 4.0
#: value column -> the column holding its Monte Carlo standard error
MCSE_OF = {
    "estimate": "mcse",
    "median": "mcse_median",
    "lower": "mcse_lower",
    "upper": "mcse_upper",
    "probability": "mcse",
}
NOT_COMPARED = ("mcse", "ess", "r_hat", "sampling_seconds")
#: Monte Carlo diagnostics, and mixture components (an EM fit is not identifiable component by component:
#: the same distribution can have other weights and shapes, so its summaries are compared instead)
SKIP_JSON_KEYS = {"em_fits", "diagnostics", "spec", "aic", "loglik", "components"}


@dataclass
class FileReport:
    path: str
    compared: int = 0
    exact: int = 0
    monte_carlo: int = 0
    mismatches: list[str] = field(default_factory=list)
    informational: int = 0
    max_informational: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _close(ref: float, new: float, tol: float, relative: bool = False) -> bool:
    if isinstance(ref, float) and math.isnan(ref):
        return isinstance(new, float) and math.isnan(new)
    if math.isinf(ref) or math.isinf(new):
        return ref == new
    scale = max(abs(ref), 1.0) if not relative else max(abs(ref), 1e-12)
    return abs(new - ref) <= tol * (scale if relative else 1.0) or abs(new - ref) <= EXACT_TOL * scale


def compare_csv(ref_path: Path, new_path: Path, name: str) -> FileReport:
    rep = FileReport(name)
    ref = pd.read_csv(ref_path, keep_default_na=False, na_values=[""])
    new = pd.read_csv(new_path, keep_default_na=False, na_values=[""])
    if list(ref.columns) != list(new.columns) or len(ref) != len(new):
        rep.mismatches.append(f"shape: {len(ref)} rows {list(ref.columns)} vs {len(new)} rows {list(new.columns)}")
        return rep
    numeric = [c for c in ref.columns if pd.api.types.is_numeric_dtype(ref[c]) and not c.startswith(NOT_COMPARED)]
    for i in range(len(ref)):
        r, n = ref.iloc[i], new.iloc[i]
        label = ", ".join(
            str(r[c])
            for c in ("analysis", "method", "model", "scenario", "group", "benchmark", "test")
            if c in ref.columns
        )
        for c in ref.columns:
            if c in numeric or c.startswith(NOT_COMPARED):
                continue
            if str(r[c]) != str(n[c]) and not (pd.isna(r[c]) and pd.isna(n[c])):
                rep.mismatches.append(f"row {i + 2} ({label}), {c}: {r[c]!r} vs {n[c]!r}")
        for c in numeric:
            a, b = float(r[c]), float(n[c])
            mc = MCSE_OF.get(c)
            se_ref = float(r[mc]) if mc in ref.columns and pd.notna(r[mc]) else 0.0
            se_new = float(n[mc]) if mc in new.columns and pd.notna(n[mc]) else 0.0
            rep.compared += 1
            if se_ref > 0 or se_new > 0:
                rep.monte_carlo += 1
                tol = Z * math.hypot(se_ref, se_new)
                ok = _close(a, b, tol)
                kind = f"within {Z:g} MCSE ({tol:.2g})"
            else:
                rep.exact += 1
                ok = _close(a, b, EXACT_TOL)
                kind = f"exact ({EXACT_TOL:g})"
            if not ok:
                rep.mismatches.append(f"row {i + 2} ({label}), {c}: {a!r} vs {b!r}, expected {kind}")
    return rep


MAP = "map"  # marker: a quantity derived from a MAP prior's MCMC draws


def _is_map(record: dict) -> bool:
    return bool(record.get("diagnostics"))


def _map_mean_tolerance(record: dict) -> float:
    """Absolute tolerance of a MAP prior's mean: 4 sqrt(2) x its Monte Carlo SE (sd / sqrt(ESS))."""
    ess = min(float(d["ess_bulk"]) for d in record["diagnostics"])
    sd = float(record.get("map_summary", record["summary"]).get("sd", record["summary"]["sd"]))
    return Z * math.sqrt(2.0) * sd / math.sqrt(ess)


def _walk(ref, new, where: str, tol, rep: FileReport) -> None:
    """Compare recursively; ``tol`` is None (exact), a number (absolute) or MAP (informational)."""
    if isinstance(ref, dict):
        if not isinstance(new, dict) or set(ref) != set(new):
            if tol == MAP:  # e.g. an EM fit with another number of components
                rep.informational += 1
                return
            rep.mismatches.append(
                f"{where}: keys {sorted(ref) if isinstance(ref, dict) else ref} vs "
                f"{sorted(new) if isinstance(new, dict) else new}"
            )
            return
        for k in ref:
            if k in SKIP_JSON_KEYS:
                continue
            _walk(ref[k], new[k], f"{where}.{k}", tol, rep)
    elif isinstance(ref, list):
        if not isinstance(new, list) or len(ref) != len(new):
            if tol == MAP:
                rep.informational += 1
                return
            rep.mismatches.append(f"{where}: list of {len(ref)} vs {len(new) if isinstance(new, list) else new!r}")
            return
        for i, (a, b) in enumerate(zip(ref, new)):
            _walk(a, b, f"{where}[{i}]", tol, rep)
    elif isinstance(ref, bool) or ref is None or isinstance(ref, str):
        if ref != new and tol != MAP:
            rep.mismatches.append(f"{where}: {ref!r} vs {new!r}")
    elif isinstance(ref, int | float):
        _walk_number(ref, new, where, tol, rep)


def _walk_number(ref: float, new, where: str, tol, rep: FileReport) -> None:
    """:func:`_walk` at a number: exact, within ``tol``, or informational (``MAP``)."""
    rep.compared += 1
    if not isinstance(new, int | float) or isinstance(new, bool):
        rep.mismatches.append(f"{where}: {ref!r} vs {new!r}")
        return
    if tol == MAP:
        rep.informational += 1
        rel = abs(float(new) - float(ref)) / max(abs(float(ref)), 1e-12)
        rep.max_informational = max(rep.max_informational, rel)
        return
    if tol is None:
        rep.exact += 1
        ok = _close(float(ref), float(new), EXACT_TOL)
        what = f"exact ({EXACT_TOL:g})"
    else:
        rep.monte_carlo += 1
        ok = abs(float(new) - float(ref)) <= tol
        what = f"within {tol:.2g} (4 sqrt(2) Monte Carlo SE of the MAP mean)"
    if not ok:
        rep.mismatches.append(f"{where}: {ref!r} vs {new!r}, expected {what}")


def compare_json(ref_path: Path, new_path: Path, name: str, map_priors: set[str]) -> FileReport:
    rep = FileReport(name)
    ref, new = json.loads(ref_path.read_text()), json.loads(new_path.read_text())
    if name.endswith("priors.json"):
        ref_p, new_p = ref.get("priors", {}), new.get("priors", {})
        if set(ref_p) != set(new_p):
            rep.mismatches.append(f"priors: {sorted(ref_p)} vs {sorted(new_p)}")
            return rep
        for k in ref_p:
            if k not in map_priors:
                _walk(ref_p[k], new_p[k], f"priors.{k}", None, rep)
                continue
            for key in ("map_summary", "summary"):  # the MAP mean is gated by its Monte Carlo error
                if key in ref_p[k]:
                    tol = _map_mean_tolerance(ref_p[k])
                    _walk(ref_p[k][key]["mean"], new_p[k][key]["mean"], f"priors.{k}.{key}.mean", tol, rep)
            rest = {kk: v for kk, v in ref_p[k].items() if kk not in ("map_summary", "summary")}
            rest_new = {kk: v for kk, v in new_p[k].items() if kk not in ("map_summary", "summary")}
            _walk(rest, rest_new, f"priors.{k}", MAP, rep)
        return rep
    if set(ref) != set(new):
        rep.mismatches.append(f"designs: {sorted(ref)} vs {sorted(new)}")
        return rep
    for dname, d in ref.items():
        refs = [d.get(k) for k in ("prior", "prior_treatment", "prior_control", "design_prior") if d.get(k)]
        for pname in d.get("priors", {}):
            depends = {pname, d.get("design_prior")} & map_priors
            _walk(
                d["priors"][pname],
                new[dname]["priors"][pname],
                f"{dname}.priors.{pname}",
                MAP if depends else None,
                rep,
            )
        rest_ref = {k: v for k, v in d.items() if k != "priors"}
        rest_new = {k: v for k, v in new[dname].items() if k != "priors"}
        _walk(rest_ref, rest_new, dname, MAP if set(refs) & map_priors else None, rep)
    return rep


def compare_to_reference(reference: Path, results: Path) -> list[FileReport]:
    reference, results = Path(reference), Path(results)
    reports = []
    map_priors: set[str] = set()
    ref_priors = reference / "priors/priors.json"
    if ref_priors.is_file():
        map_priors = {k for k, v in json.loads(ref_priors.read_text())["priors"].items() if _is_map(v)}
    for name in REFERENCE_FILES:
        ref, new = reference / name, results / name
        if not ref.is_file() or not new.is_file():
            rep = FileReport(name)
            rep.mismatches.append(f"missing: {ref if not ref.is_file() else new}")
            reports.append(rep)
            continue
        if name.endswith(".csv"):
            reports.append(compare_csv(ref, new, name))
        else:
            reports.append(compare_json(ref, new, name, map_priors))
    return reports


def format_reports(reports: list[FileReport], max_shown: int = 5) -> tuple[str, bool]:
    width = max(len(r.path) for r in reports)
    lines = [f"{'file':<{width}}  {'numbers':>7}  {'exact':>6}  {'Monte Carlo':>11}  {'MAP-derived':>11}  result"]
    for r in reports:
        status = "match" if r.ok else f"MISMATCH ({len(r.mismatches)})"
        info = f"{r.informational} (max rel. {r.max_informational:.2g})" if r.informational else "0"
        lines.append(f"{r.path:<{width}}  {r.compared:>7}  {r.exact:>6}  {r.monte_carlo:>11}  {info:>11}  {status}")
        lines += [f"    {m}" for m in r.mismatches[:max_shown]]
        if len(r.mismatches) > max_shown:
            lines.append(f"    ... and {len(r.mismatches) - max_shown} more")
    ok = all(r.ok for r in reports)
    lines.append("all results match the reference" if ok else "results differ from the reference")
    return "\n".join(lines), ok


def update_reference(results: Path, reference: Path) -> list[Path]:
    """Copy the reference files from ``results`` (only when a change of numbers is intended)."""
    from analysis.io import atomic_path

    written = []
    for name in REFERENCE_FILES:
        src, dst = Path(results) / name, Path(reference) / name
        with atomic_path(dst) as tmp:
            tmp.write_bytes(src.read_bytes())
        written.append(dst)
    return written


__all__ = ["REFERENCE_FILES", "compare_to_reference", "format_reports", "update_reference"]
