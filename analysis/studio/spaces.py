"""Outcome spaces that survive a change of thresholds, for the studio's live recomputation.

With an interim look, the end states of a design depend on the decision thresholds (the interim's
predictive probability looks ahead to the final go), so a changed threshold changes the outcome space.
The posterior summaries of one joint end state do not: they depend on each indication's (n, y) only.
:class:`Reuse` keeps, per method, the summaries over every joint state any thresholds can reach (each
indication at its interim size with every count, or at its final size with every count) and the
stage-1 outcome space, and builds a design's :class:`~analysis.basket.design.ExactSpace` by selecting
rows.  End states, their probabilities and the decisions are those of :func:`analysis.basket.design.exact_space`;
the hierarchical and EXNEX summaries agree to rounding (the contraction over more states can round the last
bit differently: none differs for the paper's design, 1e-15 for the test's).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

import numpy as np

from analysis.basket.design import (
    FINAL,
    Design,
    ExactSpace,
    States,
    _joint_index,
    analyze,
    exact_space,
    method_class,
)
from analysis.basket.interim import exact_space_borrowing, stage1_design


def reachable_states(design: Design) -> list[States]:
    """Per indication, every (n, y) an end state can have: the interim size with each count (when the
    indication has an interim), then the final size with each count."""
    out = []
    for ind in design.indications:
        pairs = [(ind.interim_n, y) for y in range(ind.interim_n + 1)] if ind.interim_n is not None else []
        pairs += [(ind.n, y) for y in range(ind.n + 1)]
        arr = np.array(pairs)
        out.append(States(arr[:, 0], arr[:, 1], np.full(len(pairs), FINAL), np.zeros(len(pairs))))
    return out


def summaries_of(design: Design, method, states: list[States]) -> dict:
    """The method's posterior summaries of every joint state over ``states`` (C order), as
    :func:`~analysis.basket.design.exact_space` computes them."""
    cls = method_class(method)
    summ = cls.exact_summaries(design, method, states)
    if summ is None:
        idx = _joint_index(states)
        n = np.stack([states[k].n[idx[:, k]] for k in range(design.K)], 1)
        y = np.stack([states[k].y[idx[:, k]] for k in range(design.K)], 1)
        summ = analyze(design, method, n, y, cls.prepare(design, method, states))
    return summ


def select(reach: list[States], summ: dict, states: list[States]) -> dict:
    """The rows of ``summ`` (over the joint states of ``reach``) for the joint states of ``states``."""
    sizes = [len(s) for s in reach]
    pos = []
    for r, s in zip(reach, states):
        where = {(int(n), int(y)): j for j, (n, y) in enumerate(zip(r.n, r.y))}
        pos.append(np.array([where[(int(n), int(y))] for n, y in zip(s.n, s.y)], dtype=np.intp))
    idx = _joint_index(states)
    rows = np.ravel_multi_index(tuple(pos[k][idx[:, k]] for k in range(len(states))), sizes)
    total = int(np.prod(sizes))
    return {key: (v[rows] if isinstance(v, np.ndarray) and v.shape[:1] == (total,) else v) for key, v in summ.items()}


def summary_key(design: Design, method_settings: dict, name: str) -> str:
    """What the summaries of the reachable states depend on: sizes, null rates, the method and its settings
    (not thresholds, futility or efficacy bounds, target rates or scenarios)."""
    inds = [(i.n, i.p0, i.interim_n, i.min_mean) for i in design.indications]
    return json.dumps([inds, name, method_settings, design.interim, design.interim_rule], default=str, sort_keys=True)


class Reuse:
    """Summaries of reachable states and stage-1 spaces, kept per method (least recently used dropped)."""

    def __init__(self, max_items: int = 16):
        self.max_items = max_items
        self._items: OrderedDict[str, tuple] = OrderedDict()
        self._lock = threading.RLock()

    def _get(self, key: str, make):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return value

    def space(self, design: Design, method, method_settings: dict) -> ExactSpace:
        """``exact_space(design, method)``, from kept summaries where the design has an interim."""
        if all(i.interim_n is None for i in design.indications):
            return exact_space(design, method)
        key = summary_key(design, method_settings, method.name)
        reach = reachable_states(design)
        summ = self._get(key + "|final", lambda: summaries_of(design, method, reach))

        def pick(states: list[States]) -> dict:
            return select(reach, summ, states)

        if design.interim == "borrow":
            stage1 = self._get(key + "|stage1", lambda: exact_space(stage1_design(design), method))
            return exact_space_borrowing(design, method, pick, stage1)
        from analysis.basket.design import design_states

        return exact_space(design, method, pick(design_states(design)))
