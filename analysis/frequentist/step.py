"""Run the frequentist analysis and write its results files.

Writes, under ``out_dir``:

- ``estimates.csv``: intervals for every endpoint and group, and the
  meta-analysis estimates (results contract: see README).
- ``tests.csv``: exact binomial tests against each benchmark rate, and the
  exact heterogeneity test across diseases.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data import endpoint_counts, load_cohorts, load_index
from analysis.frequentist.benchmarks import benchmark_tests
from analysis.frequentist.heterogeneity import freeman_halton
from analysis.frequentist.intervals import interval_table
from analysis.frequentist.meta import meta_table
from analysis.io import write_csv
from analysis.results import ESTIMATE_COLUMNS, TEST_COLUMNS
from analysis.settings import COHORTS, INDEX_STUDY, LEVEL, SETTINGS, TOTAL, Settings


def heterogeneity_tests(counts: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for endpoint, sub in counts[counts["group"] != TOTAL].groupby("endpoint", sort=False):
        if len(sub) < 2:
            continue
        res = freeman_halton(sub["events"].tolist(), sub["n"].tolist())
        if res.method == "monte-carlo":
            print(f"note: heterogeneity of '{endpoint}': {res.note}", file=sys.stderr)
        rows.append(
            dict(
                test="freeman-halton-exact",
                endpoint=endpoint,
                group="+".join(sub["group"]),
                n=int(sub["n"].sum()),
                events=int(sub["events"].sum()),
                benchmark=np.nan,
                statistic=np.nan,
                p_value=np.nan if res.p_value is None else res.p_value,
                reject=None if res.p_value is None else bool(res.p_value < 0.05),
                alpha=0.05,
                note=res.note,
            )
        )
    return pd.DataFrame(rows, columns=list(TEST_COLUMNS))


def run(
    index_path: Path = INDEX_STUDY,
    cohorts_path: Path = COHORTS,
    out_dir: Path = Path("results/frequentist"),
    settings: Settings = SETTINGS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compute every frequentist result; write them atomically to ``out_dir``."""
    counts = endpoint_counts(load_index(index_path))
    cohorts = load_cohorts(cohorts_path)
    ci = interval_table(counts, LEVEL).assign(scenario="index", note="")
    meta = meta_table(cohorts, LEVEL, settings.meta).assign(
        interval="two-sided", note=lambda d: d["note"].astype(str) + "; studies: " + d["studies"].astype(str)
    )
    estimates = pd.concat([ci, meta], ignore_index=True)[list(ESTIMATE_COLUMNS)]
    efficacy = counts[counts["endpoint"].isin(["response", "drug_free"])]
    tests = pd.concat(
        [benchmark_tests(efficacy, settings.benchmarks.grid)[list(TEST_COLUMNS)], heterogeneity_tests(counts)],
        ignore_index=True,
    )
    out_dir = Path(out_dir)
    write_csv(out_dir / "estimates.csv", estimates)
    write_csv(out_dir / "tests.csv", tests)
    write_csv(out_dir / "meta.csv", meta)
    return estimates, tests
