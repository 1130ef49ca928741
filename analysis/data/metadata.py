"""The index study's facts from its study metadata file, for a data folder without ``study_characteristics.csv``.

A published study's facts are rows of ``study_characteristics.csv``, each with the sentence of its source.  A
cohort of one's own has no source to quote: its authors state the facts once, in the ``study`` mapping of the
metadata file (``study.yml``), and the patients per group come from the index-study file::

    study:
      centre: Example University Hospital
      setting: an investigator-initiated trial
      product: autologous CD19 CAR T cells
      dose: 1 x 10^6 per kg
      lymphodepletion: fludarabine and cyclophosphamide    # or: none
      refractory_min_therapies: 2
      follow_up: {median: 12, min: 6, max: 18, unit: months}

:func:`facts` turns them into rows of the characteristics schema (evidence ``metadata``), so that every later
stage reads one kind of table; each group's endpoint definition is its response row's ``endpoint_definition``
in the index file.  Every missing or malformed key is reported at once, named ``study.KEY`` in ``study.yml``.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from analysis.data.schema import STUDY_FILE
from analysis.settings import TOTAL

FILE_NAME = STUDY_FILE
#: the text facts: key of ``study`` -> characteristics item (statistic 'text')
TEXT_KEYS = ("centre", "setting", "product", "dose", "lymphodepletion")
FOLLOW_UP_KEYS = ("median", "min", "max", "unit")
#: every key of the ``study`` mapping
KEYS = (*TEXT_KEYS, "refractory_min_therapies", "follow_up")
SOURCE = "study metadata (study.yml)"


def _number(value, key: str, errors: list[str], whole: bool = False) -> str | None:
    if isinstance(value, str):  # "12" as YAML quotes it: the number it spells
        try:
            value = float(value.strip())
        except ValueError:
            pass
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (whole and value != int(value))
    ):
        kind = "a whole number >= 0" if whole else "a number >= 0"
        errors.append(f"key 'study.{key}': expected {kind}, found {value!r:.40}")
        return None
    return str(int(value)) if value == int(value) else str(value)


def _follow_up(follow, add) -> list[str]:
    """The problems of ``study.follow_up``; its median, minimum and maximum given to ``add`` as facts."""
    errors: list[str] = []
    if not isinstance(follow, dict):
        errors.append(
            "key 'study.follow_up': " + ("missing" if follow is None else f"expected a mapping, found {follow!r:.40}")
            + "; expected {median: M, min: A, max: B, unit: months}"
        )  # fmt: skip
    else:
        errors += [
            f"key 'study.follow_up.{k}': unknown (expected one of {', '.join(FOLLOW_UP_KEYS)})"
            for k in follow
            if k not in FOLLOW_UP_KEYS
        ]
        unit = follow.get("unit")
        if not isinstance(unit, str) or not unit.strip():
            errors.append(f"key 'study.follow_up.unit': expected text such as 'months', found {unit!r:.40}")
            unit = ""
        values = {}
        for k, statistic in (("median", "median"), ("min", "minimum"), ("max", "maximum")):
            if k not in follow:
                errors.append(f"key 'study.follow_up.{k}': missing")
            elif (v := _number(follow[k], f"follow_up.{k}", errors)) is not None:
                values[k] = float(v)
                add(TOTAL, "follow_up", statistic, v, unit.strip())
        if len(values) == 3 and not values["min"] <= values["median"] <= values["max"]:
            errors.append(
                f"key 'study.follow_up': min {values['min']:g} <= median {values['median']:g} <= max "
                f"{values['max']:g} does not hold"
            )
    return errors


def _rows(study: dict, index: list[dict], study_id: str) -> tuple[list[str], list[dict]]:
    errors: list[str] = []
    rows: list[dict] = []

    def add(group: str, item: str, statistic: str, value: str, unit: str = "") -> None:
        rows.append({
            "fact_id": f"M{len(rows) + 1:02d}", "study_id": study_id, "group": group, "item": item,
            "statistic": statistic, "value": value, "unit": unit, "evidence": "metadata", "source": SOURCE,
            "doi": "", "pmid": "", "quote": "",
        })  # fmt: skip

    errors += [f"key 'study.{k}': unknown (expected one of {', '.join(KEYS)})" for k in study if k not in KEYS]
    for key in TEXT_KEYS:
        value = study.get(key)
        if value is None:
            errors.append(f"key 'study.{key}': missing; the report's methods quote it")
        elif not isinstance(value, str) or not value.strip():
            errors.append(f"key 'study.{key}': expected text, found {value!r:.40}")
        else:  # a dose keeps its unit in the text: '1 x 10^6 per kg' (printed by analysis.publish.context.dose_text)
            add(TOTAL, key, "text", value.strip())
    if "refractory_min_therapies" not in study:
        errors.append("key 'study.refractory_min_therapies': missing; the fewest earlier therapies of any patient")
    elif (v := _number(study["refractory_min_therapies"], "refractory_min_therapies", errors, whole=True)) is not None:
        add(TOTAL, "refractoriness", "minimum", v, "therapies")
    errors += _follow_up(study.get("follow_up"), add)
    responses = [r for r in index if r.get("endpoint") == "response" and r.get("group") != TOTAL]
    for r in responses:
        add(r["group"], "patients", "count", str(r["n"]), "patients")
        add(r["group"], "endpoint_definition", "text", r["endpoint_definition"])
    if responses:
        add(TOTAL, "patients", "count", str(sum(r["n"] for r in responses)), "patients")
    return errors, rows


def facts(path: Path | str, index: list[dict]) -> tuple[list[str], list[dict]]:
    """The problems of ``path``'s ``study`` mapping and the index study's facts as characteristics rows.

    Parameters
    ----------
    path : Path or str
        A study metadata file (``DATA/study.yml``).
    index : list of dict
        The index-study file's parsed rows (:func:`analysis.data.schema.read_index`): patients per group and each
        group's endpoint definition come from its ``response`` rows.

    Returns
    -------
    (list of str, list of dict)
        Every problem, each naming ``study.KEY``, and the facts in the schema of ``study_characteristics.csv``.
    """
    path = Path(path)
    if not path.is_file():
        return [f"missing: without study_characteristics.csv, the facts of the study come from {FILE_NAME}"], []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        return [f"not valid YAML ({str(e).splitlines()[0]})"], []
    study = data.get("study") if isinstance(data, dict) else None
    if study is None:
        return [
            f"key 'study': missing; without study_characteristics.csv the report needs the study's facts here "
            f"({', '.join(KEYS)})"
        ], []
    if not isinstance(study, dict):
        return [
            f"key 'study': expected a mapping of {', '.join(KEYS)} (the facts of a cohort without "
            f"study_characteristics.csv), found {type(study).__name__}"
        ], []
    ids = [r["study_id"] for r in index if r.get("study_id")]
    return _rows(study, index, ids[0] if ids else "INDEX")
