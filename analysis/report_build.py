"""Build every figure, table and quoted number of the manuscript from ``results/``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis import figures, report
from analysis.io import write_text
from analysis.settings import SETTINGS


def _read(results: Path, name: str) -> pd.DataFrame:
    path = Path(results) / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run the pipeline step that writes it (make results)")
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def build_figures(results: Path, out: Path) -> list[Path]:
    results = Path(results)
    est = _read(results, "estimates.csv")
    est = est[est["analysis"].isin(["frequentist", "bayes"])]
    out = Path(out)
    written = []
    path = out / "forest-frequentist.png"
    figures.forest(
        est[est["analysis"] == "frequentist"],
        path,
        ["clopper-pearson", "wilson", "jeffreys"],
        benchmark=SETTINGS.benchmarks.default,
    )
    written.append(path)
    path = out / "forest-bayes.png"
    figures.forest(
        est[est["endpoint"] == "response"],
        path,
        ["clopper-pearson", "bayes-independent", "bayes-hierarchical", "bayes-exnex"],
        benchmark=SETTINGS.benchmarks.default,
    )
    written.append(path)
    path = out / "shrinkage.png"
    figures.shrinkage(est, path)
    written.append(path)
    path = out / "prior-predictive.png"
    figures.prior_predictive(_read(results / "bayes", "prior_predictive.csv"), path)
    written.append(path)
    path = out / "sensitivity.png"
    figures.sensitivity(_read(results / "bayes", "sensitivity.csv"), path)
    written.append(path)
    return written


def colophon(results: Path) -> str:
    prov = json.loads((Path(results) / "provenance.json").read_text())
    lines = [
        "| Item | Value |",
        "|:---|:---|",
        f"| Git commit | `{prov['git_commit']}` |",
        f"| Results computed | {prov['created']} |",
        f"| MCMC seed | {prov['seeds']['mcmc']} |",
    ]
    lines += [f"| Data file `{k}` (SHA-256) | `{v[:16]}...` |" for k, v in sorted(prov["data"].items())]
    lines += [f"| {k} | {v} |" for k, v in prov["packages"].items()]
    return "\n".join(lines) + "\n\n: Software, data and settings that produced this document. {#tbl-colophon}\n"


def build_report(results: Path, manuscript: Path) -> list[Path]:
    results, manuscript = Path(results), Path(manuscript)
    est = _read(results, "estimates.csv")
    tests = _read(results / "frequentist", "tests.csv")
    meta = _read(results / "frequentist", "meta.csv")
    tables = manuscript / "tables"
    outputs = {
        tables / "estimates.md": report.estimates_table(est),
        tables / "safety.md": report.safety_table(est),
        tables / "benchmarks.md": report.benchmark_table(tests),
        tables / "meta.md": report.meta_table_md(meta),
        tables / "colophon.md": colophon(results),
    }
    bayes_dir = results / "bayes"
    exc = _read(bayes_dir, "exceedance.csv")
    diag = _read(bayes_dir, "diagnostics.csv")
    sens = _read(bayes_dir, "sensitivity.csv")
    sens_diag = _read(bayes_dir, "sensitivity_diagnostics.csv")
    ppc = _read(bayes_dir, "ppc.csv")
    prior_pred = _read(bayes_dir, "prior_predictive.csv")
    priors = json.loads((results / "priors" / "priors.json").read_text())
    designs = json.loads((results / "priors" / "designs.json").read_text())
    outputs.update(
        {
            tables / "priors.md": report.priors_table(priors),
            tables / "design.md": report.design_table(designs),
            tables / "bayes.md": report.bayes_table(est),
            tables / "exceedance.md": report.exceedance_table(exc),
            tables / "diagnostics.md": report.diagnostics_table(diag, sens_diag),
            tables / "sensitivity.md": report.sensitivity_table(sens),
        }
    )
    for path, text in outputs.items():
        write_text(path, text)
    variables = {
        "freq": report.frequentist_variables(est, tests, meta),
        "bayes": report.bayes_variables(est, exc, pd.concat([diag, sens_diag]), sens, ppc, prior_pred),
        "priors": report.priors_variables(priors, designs),
    }
    report.write_yaml(manuscript / "_variables.yml", variables)
    return [*outputs, manuscript / "_variables.yml"]
