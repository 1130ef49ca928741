"""What a priors specification needs from the data, checked before any prior is built (``validate``), and the
index-study models' sensitivity setting it declares (:func:`leave_out_setting`).

A MAP prior named by disease (``disease = "SLE"``) is built from the published cohorts of that
disease; a data set without one fails the priors step.  :func:`spec_problems` lists every such prior at
once, so that ``python -m analysis validate`` reports them with the data files' own problems.
"""

from __future__ import annotations

from pathlib import Path

from analysis.priors.spec import SpecError, _studies_from_data, load_spec
from analysis.settings import INDEX_STUDY


def spec_problems(spec_path: Path, cohorts_path: Path, index_path: Path | None = None) -> list[str]:
    """Every prior of ``spec_path`` that the cohorts of ``cohorts_path`` cannot build, one message each, and (with
    ``index_path``, a valid index-study file) an ``[index_models] leave_out`` group the index study lacks."""
    try:
        spec = load_spec(Path(spec_path))
    except SpecError as err:  # validate names the file itself
        return [str(err).removeprefix(f"{spec_path}: ")]
    problems = []
    for p in spec["prior"]:
        if "disease" not in p:
            continue
        try:
            _studies_from_data(p["disease"], Path(cohorts_path), p.get("products"), p.get("endpoint_classes"))
        except SpecError as err:
            problems.append(f"prior '{p['name']}', field 'disease': {err}")
    if index_path is not None:
        try:
            leave_out_setting(spec_path, Path(index_path))
        except SpecError as err:
            problems.append(str(err).removeprefix(f"{spec_path}: "))
    return problems


def leave_out_setting(spec_path: Path | None, index_path: Path = INDEX_STUDY) -> str | None:
    """The group a priors spec's ``[index_models] leave_out`` leaves out of one sensitivity scenario (``None``: no
    spec, or no such setting), checked against the index study's groups.

    Raises
    ------
    SpecError
        Naming the spec file, the table and the key, when the group is not one of the index study's response
        groups or leaving it out would leave fewer than two.
    """
    from analysis.bayes.units import index_units

    if spec_path is None:
        return None
    group = load_spec(Path(spec_path)).get("index_models", {}).get("leave_out")
    if group is None:
        return None
    groups = index_units(index_path).labels
    where = f"{spec_path}: [index_models], field 'leave_out'"
    if group not in groups:
        raise SpecError(
            f"{where}: {group!r} is not a group of {index_path} with a response row; its groups: {', '.join(groups)}"
        )
    if len(groups) - 1 < 2:
        raise SpecError(f"{where}: leaving out {group!r} leaves {len(groups) - 1} group; the models need two or more")
    return group
