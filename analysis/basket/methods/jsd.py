"""JSD borrowing (Fujikawa et al. 2020): Beta posteriors borrowing with Jensen-Shannon-divergence weights."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from analysis.basket.checks import DesignError, get, prior_ab
from analysis.basket.keys import SCALE
from analysis.basket.methods import nullscale
from analysis.basket.methods.base import BorrowingMethod
from analysis.basket.methods.logit_normal import parse_scale
from analysis.basket.methods.tails import beta_sf


def jsd_beta(a1, b1, a2, b2, logbase: float = math.e, nodes: int = 400) -> np.ndarray:
    """Jensen-Shannon divergence between Beta(a1, b1) and Beta(a2, b2), elementwise (broadcasting).

    Double-exponential (tanh-sinh) quadrature (:func:`analysis.basket.methods.nullscale.gain_jsd` with no
    shift: the JSD is the same on the logit scale), exact to ~1e-15 even for densities unbounded at 0 or 1
    (shapes below 1, as Jeffreys' prior gives with no or all responders).
    """
    return nullscale.gain_jsd(a1, b1, 0.0, a2, b2, 0.0, logbase, nodes)


def jsd_weights(y, n, prior=(1.0, 1.0), epsilon: float = 2.0, tau: float = 0.5, logbase: float = math.e) -> np.ndarray:
    """Fujikawa's borrowing weights for data rows ``y``, ``n`` of shape (B, K): (B, K, K)."""
    K = np.atleast_2d(y).shape[1]
    return nullscale.gain_weights(y, n, prior, epsilon, tau, logbase, np.zeros(K))


def jsd_posterior(y, n, prior=(1.0, 1.0), epsilon=2.0, tau=0.5, logbase=math.e, weights=None):
    """Borrowed Beta posteriors (shape1, shape2), each (B, K)."""
    y, n = np.atleast_2d(y).astype(float), np.atleast_2d(n).astype(float)
    w = jsd_weights(y, n, prior, epsilon, tau, logbase) if weights is None else weights
    a = np.einsum("bkl,bl->bk", w, prior[0] + y)
    b = np.einsum("bkl,bl->bk", w, prior[1] + n - y)
    return a, b


class JSD(BorrowingMethod):
    """Fujikawa et al. (2020, Biometrical Journal 62:330-338): each indication's Beta posterior borrows the
    others' prior-plus-data with weights ``(1 - JSD)^epsilon`` of the Jensen-Shannon divergence between the
    individual Beta posteriors, set to 0 when at most ``tau`` (as baskexact's ``weights_fujikawa``)."""

    kind: ClassVar[str] = "jsd"
    label: ClassVar[str] = "JSD-weighted (Fujikawa)"
    noun: ClassVar[str] = "Jensen-Shannon weights"
    keys: ClassVar[frozenset[str]] = frozenset({"prior", "epsilon", "tau", "logbase", "scale"})
    key_docs: ClassVar[dict[str, str]] = {
        "prior": "[a, b]: each indication's Beta prior.",
        "epsilon": "Power of the weights (1 - JSD)^epsilon (> 0; larger borrows less).",
        "tau": "Weights at most tau are set to 0 (0 <= tau < 1).",
        "logbase": '"e" or 2: the base of the logarithm in the Jensen-Shannon divergence.',
        "scale": SCALE,
    }
    reference: ClassVar[str] = "Fujikawa et al. (2020), Biometrical Journal 62:330-338"

    @classmethod
    def parse(cls, table, where, K, base):
        p: dict = {"prior": prior_ab(table.get("prior", [1, 1]), where)}
        p["epsilon"] = get(table, "epsilon", where, float, 2.0, lo=0, lo_open=True)
        p["tau"] = get(table, "tau", where, float, 0.5, lo=0, hi=1, hi_open=True)
        lb = table.get("logbase", "e")
        if lb not in ("e", 2):
            raise DesignError(f"{where}, key 'logbase': must be \"e\" or 2, got {lb!r}")
        p["logbase"] = math.e if lb == "e" else 2.0
        if (scale := parse_scale(table, where)) is not None:
            p["scale"] = scale
        return p

    @classmethod
    def describe(cls, params):
        a, b = params.get("prior", (1.0, 1.0))
        return (
            f"Beta({a:g}, {b:g}); weights (1 - JSD)^{params.get('epsilon', 2.0):g}, "
            f"0 when at most {params.get('tau', 0.5):g}"
            f"{'; borrowing the gain over the null, logit(p) - logit(p0)' if params.get('scale') == 'null' else ''}"
        )

    @staticmethod
    def _settings(method):
        prm = method.params
        return (
            tuple(prm.get("prior", (1.0, 1.0))),
            prm.get("epsilon", 2.0),
            prm.get("tau", 0.5),
            prm.get("logbase", math.e),
        )

    @staticmethod
    def _null(design, method) -> bool:
        """Borrowing on the null scale (where it differs from the probability scale: unequal nulls)."""
        return method.params.get("scale") == "null" and np.ptp(design.p0) > 0

    @classmethod
    def prepare(cls, design, method, states):
        offsets = nullscale.logit(design.p0) if cls._null(design, method) else np.zeros(design.K)
        return nullscale.GainJSDTable(states, *cls._settings(method), offsets)

    @classmethod
    def analyze(cls, design, method, n, y, prepared=None):
        prior, eps, tau, base = cls._settings(method)
        w = prepared.weights(n, y) if prepared is not None else None
        if cls._null(design, method):
            if w is None:
                w = nullscale.jsd_null_weights(y, n, prior, eps, tau, base, design.p0)
            return nullscale.jsd_null_summaries(y, n, prior, design.p0, w)
        a, b = jsd_posterior(y, n, prior, eps, tau, base, w)
        return {
            "mean": a / (a + b),
            "m2": a * (a + 1) / ((a + b) * (a + b + 1)),
            "p_above": beta_sf(design.p0, a, b),
        }
