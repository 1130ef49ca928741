"""What a priors specification needs from the data, checked before any prior is built (``validate``).

A MAP prior named by disease (``disease = "SLE"``) is built from the published cohorts of that
disease; a data set without one fails the priors step.  :func:`spec_problems` lists every such prior at
once, so that ``python -m analysis validate`` reports them with the data files' own problems.
"""

from __future__ import annotations

from pathlib import Path

from analysis.priors.spec import SpecError, _studies_from_data, load_spec


def spec_problems(spec_path: Path, cohorts_path: Path) -> list[str]:
    """Every prior of ``spec_path`` that the cohorts of ``cohorts_path`` cannot build, one message each."""
    try:
        spec = load_spec(Path(spec_path))
    except SpecError as err:
        return [str(err)]
    problems = []
    for p in spec["prior"]:
        if "disease" not in p:
            continue
        try:
            _studies_from_data(p["disease"], Path(cohorts_path), p.get("products"), p.get("endpoint_classes"))
        except SpecError as err:
            problems.append(f"prior '{p['name']}', field 'disease': {err}")
    return problems
