"""Fixtures of the publish tests: one build per test cohort, shared by every module that asks for it."""

from __future__ import annotations

import pytest

from analysis.cli import main
from analysis.settings import RESULTS, ROOT

DATA = ROOT / "tests" / "data"
#: cohorts whose build takes minutes (ten strata: about 4 minutes of MCMC and sensitivity fits): ``make test-slow``
SLOW = {"sarcoma"}
#: every test cohort with its own priors specification, built through render (the two-group one in ``make test``)
COHORTS = [
    pytest.param(p.name, marks=pytest.mark.slow) if p.name in SLOW else p.name
    for p in sorted(DATA.iterdir())
    if (p / "priors.toml").is_file() and (p / "index_study.csv").is_file()
]


@pytest.fixture(scope="session", params=COHORTS)
def cohort(request, tmp_path_factory):
    """One cohort built through render: (its data folder, the output folder, the exit code, stderr)."""
    data = DATA / request.param
    out = tmp_path_factory.mktemp(f"cohort-{request.param}")
    before = {p: p.stat().st_mtime_ns for p in RESULTS.rglob("*") if p.is_file()}
    code = main(["cohort", str(data), "--spec", str(data / "priors.toml"), "--out", str(out)])
    after = {p: p.stat().st_mtime_ns for p in RESULTS.rglob("*") if p.is_file()}
    return data, out, code, before == after
