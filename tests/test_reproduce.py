"""`make reproduce`: the comparison with reference/ passes on the built results and catches real changes."""

import shutil

import pandas as pd
import pytest

from tools.reproduce import REFERENCE_FILES, compare_to_reference, format_reports


@pytest.mark.pipeline
def test_built_results_match_the_reference(root):
    text, ok = format_reports(compare_to_reference(root / "reference", root / "results"))
    assert ok, text


@pytest.fixture
def copies(root, tmp_path):
    ref, new = tmp_path / "ref", tmp_path / "new"
    for name in REFERENCE_FILES:
        for target in (ref, new):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / "reference" / name, target / name)
    return ref, new


def _edit(path, row, column, func):
    df = pd.read_csv(path, keep_default_na=False, na_values=[""])
    df.loc[row, column] = func(df.loc[row, column])
    df.to_csv(path, index=False, float_format="%.17g")
    return df


def test_exact_quantity_changed_in_the_tenth_decimal_is_caught(copies):
    ref, new = copies
    _edit(new / "frequentist/tests.csv", 0, "p_value", lambda v: v + 1e-8)
    reports = {r.path: r for r in compare_to_reference(ref, new)}
    assert not reports["frequentist/tests.csv"].ok
    assert "p_value" in reports["frequentist/tests.csv"].mismatches[0]
    assert all(r.ok for name, r in reports.items() if name != "frequentist/tests.csv")


def test_mcmc_quantity_moves_within_and_beyond_its_monte_carlo_error(copies):
    ref, new = copies
    df = pd.read_csv(ref / "estimates.csv", keep_default_na=False, na_values=[""])
    row = df.index[(df["method"] == "bayes-hierarchical") & (df["group"] == "IIM") & (df["analysis"] == "bayes")][0]
    mcse = float(df.loc[row, "mcse"])
    assert mcse > 0
    _edit(new / "estimates.csv", row, "estimate", lambda v: v + 2 * mcse)  # 2 MCSE: within 4 * sqrt(2) MCSE
    assert all(r.ok for r in compare_to_reference(ref, new))
    _edit(new / "estimates.csv", row, "estimate", lambda v: v + 6 * mcse)  # now 8 MCSE away
    bad = [r for r in compare_to_reference(ref, new) if not r.ok]
    assert [r.path for r in bad] == ["estimates.csv"] and "MCSE" in bad[0].mismatches[0]


def test_a_missing_row_or_file_is_a_mismatch(copies):
    ref, new = copies
    df = pd.read_csv(new / "frequentist/meta.csv")
    df.iloc[:-1].to_csv(new / "frequentist/meta.csv", index=False)
    (new / "bayes/sensitivity.csv").unlink()
    text, ok = format_reports(compare_to_reference(ref, new))
    assert not ok and "shape" in text and "missing" in text
