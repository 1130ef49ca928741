"""The messages of the priors-and-designs schema (:mod:`analysis.priors.schema`): where each error is (the
table, ``[[design]] #2 'sle'``, and the field) and, for an unknown key, the closest known one, so that
``robust_wieght`` is caught with a suggestion rather than silently ignored."""

from __future__ import annotations

import difflib
from pathlib import Path

from pydantic import ValidationError

from analysis.priors.schema import (
    AdaptiveTwoSample,
    Calibration,
    IndexModels,
    MvComponent,
    OneSample,
    PriorSpec,
    Sensitivity,
    Spec,
    SpecError,
    Study,
    TwoSample,
)

_FIELDS = {
    "prior": set(PriorSpec.model_fields),
    "one-sample": set(OneSample.model_fields),
    "two-sample": set(TwoSample.model_fields),
    "adaptive-two-sample": set(AdaptiveTwoSample.model_fields),
    "studies": set(Study.model_fields),
    "components": set(MvComponent.model_fields),
    "sensitivity": set(Sensitivity.model_fields),
    "calibration": set(Calibration.model_fields),
    "index_models": set(IndexModels.model_fields),
    "": set(Spec.model_fields),
}


def _where(loc: tuple, raw: dict) -> tuple[str, str]:
    """'[[design]] #2 'sle'' and the field name for a pydantic error location."""
    parts = list(loc)
    where, field, table = "", "", ""
    if parts and parts[0] in ("prior", "design") and len(parts) > 1 and isinstance(parts[1], int):
        table = parts[0]
        items = raw.get(table) or []
        name = items[parts[1]].get("name") if parts[1] < len(items) and isinstance(items[parts[1]], dict) else None
        where = f"[[{table}]] #{parts[1] + 1}" + (f" {name!r}" if name else "")
        if table == "design" and len(parts) == 2:
            parts = parts[2:]
        parts = parts[2:]
        if table == "design" and parts and parts[0] in ("one-sample", "two-sample", "adaptive-two-sample"):
            table = parts[0]
            parts = parts[1:]
    if parts and parts[0] == "studies" and len(parts) > 1:
        where += f", study #{parts[1] + 1}"
        table, parts = "studies", parts[2:]
    if parts and parts[0] == "components" and len(parts) > 1 and isinstance(parts[1], int):
        where += f", component #{parts[1] + 1}"
        table, parts = "components", parts[2:]
    if not table and parts and parts[0] == "index_models" and len(parts) > 1:
        where, table, parts = "[index_models]", "index_models", parts[1:]
    if parts and parts[0] in ("sensitivity", "calibration") and len(parts) > 1:
        where += f", [design.{parts[0]}]"
        table, parts = parts[0], parts[1:]
    # the members of a union type (StrictInt | StrictFloat) appear as 'int' and 'float' in the location
    field = ".".join(str(p) for p in parts if not isinstance(p, int) and p not in _UNION_TAGS)
    return where, field, table


_UNION_TAGS = {"int", "float", "str", "bool"}


def validate_spec(raw: dict, path: Path) -> Spec:
    """The validated specification, or a :class:`SpecError` listing every problem."""
    try:
        return Spec.model_validate(raw)
    except ValidationError as err:
        lines = []
        errors = err.errors()
        # a value that fails both members of Number (int | float): report the float member's reason only
        placed = {}
        for e in errors:
            placed.setdefault(_where(e["loc"], raw)[:2], []).append(e["type"])
        for e in errors:
            where, field, table = _where(e["loc"], raw)
            if e["type"] in ("int_type", "int_from_float") and len(placed[(where, field)]) > 1:
                continue
            head = ", ".join(x for x in (where, f"field '{field}'" if field else "") if x)
            if e["type"] == "extra_forbidden":
                known = _FIELDS.get(table, _FIELDS[""])
                close = difflib.get_close_matches(field, sorted(known), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; known fields: {sorted(known)}"
                lines.append(f"{head}: unknown field{hint}")
            elif e["type"] == "missing":
                lines.append(f"{where}: missing field '{field}'" if where else f"missing field '{field}'")
            elif e["type"] in ("int_type", "int_from_float"):
                lines.append(f"{head}: {e.get('input')!r} is not a whole number")
            else:
                msg = e["msg"].removeprefix("Value error, ")
                shown = "" if e["type"] == "value_error" else f"{e.get('input')!r}: "
                lines.append(f"{head}: {shown}{msg}" if head else msg)
        raise SpecError(f"{path}: {len(lines)} error(s)\n  " + "\n  ".join(lines)) from None
