"""The binomial units a Bayesian model is fitted to (diseases, strata, studies)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from analysis.data import endpoint_counts, group_order, load_index
from analysis.settings import INDEX_STUDY


@dataclass(frozen=True)
class Units:
    """The binomial units of a fit: labels, responders and patients."""

    labels: tuple[str, ...]
    events: tuple[int, ...]
    n: tuple[int, ...]

    def __post_init__(self):
        if not (len(self.labels) == len(self.events) == len(self.n)) or not self.labels:
            raise ValueError("labels, events and n must have the same, non-zero length")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"unit labels must be unique, got {list(self.labels)}")
        for lab, x, m in zip(self.labels, self.events, self.n):
            if not 0 <= x <= m or m <= 0:
                raise ValueError(f"unit {lab!r}: need 0 <= events <= n and n > 0, got {x}/{m}")


def index_units(
    index_path: Path = INDEX_STUDY, endpoint: str = "response", groups: tuple[str, ...] | None = None
) -> Units:
    """The index study's units for ``endpoint``: every group in the data (or ``groups``), in the table order."""
    counts = endpoint_counts(load_index(index_path))
    sub = counts[(counts["endpoint"] == endpoint) & (counts["group"] != "all")].set_index("group")
    if sub.empty:
        raise ValueError(f"{index_path}: no rows for endpoint {endpoint!r}")
    available = group_order(sub.index)
    if groups is None:
        groups = available
    missing = [g for g in groups if g not in sub.index]
    if missing:
        raise ValueError(f"{index_path}: endpoint {endpoint!r} has no group(s) {missing}; it has {list(available)}")
    sub = sub.loc[list(groups)]
    return Units(tuple(groups), tuple(int(x) for x in sub["events"]), tuple(int(m) for m in sub["n"]))
