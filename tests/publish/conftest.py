"""Fixtures of the publish tests: one build per test cohort, shared by every module that asks for it."""

from __future__ import annotations

import pytest

from analysis.cli import main
from analysis.settings import RESULTS, ROOT

DATA = ROOT / "tests" / "data"
#: cohorts whose build takes minutes (ten strata: about 4 minutes of MCMC and sensitivity fits): ``make test-slow``
SLOW = {"sarcoma"}
#: every test cohort (a folder with an index-study file and a study metadata file), built through render as a
#: user would: ``python -m analysis cohort FOLDER --out DIR``, its own priors.toml or none (the two-group and the
#: one-file cohorts in ``make test``)
COHORTS = [
    pytest.param(p.name, marks=pytest.mark.slow) if p.name in SLOW else p.name
    for p in sorted(DATA.iterdir())
    if (p / "study.yml").is_file() and (p / "index_study.csv").is_file()
]


@pytest.fixture(scope="session", params=COHORTS)
def cohort(request, tmp_path_factory):
    """One cohort built through render: (its data folder, the output folder, the exit code, stderr)."""
    data = DATA / request.param
    out = tmp_path_factory.mktemp(f"cohort-{request.param}")
    before = {p: p.stat().st_mtime_ns for p in RESULTS.rglob("*") if p.is_file()}
    code = main(["cohort", str(data), "--out", str(out)])
    after = {p: p.stat().st_mtime_ns for p in RESULTS.rglob("*") if p.is_file()}
    return data, out, code, before == after
