"""Hierarchical borrowing: the indications' logits exchangeable, Normal(mu, tau) (Berry et al. 2013)."""

from __future__ import annotations

from typing import ClassVar

from analysis.basket.checks import component, dist
from analysis.basket.keys import SCALE
from analysis.basket.methods.logit_normal import LogitNormal, parse_scale


class Hierarchical(LogitNormal):
    """``logit(p_k) ~ Normal(mu, tau)`` with priors on ``mu`` and ``tau``; Berry et al. (2013), Clinical Trials
    10:720-734."""

    kind: ClassVar[str] = "hierarchical"
    label: ClassVar[str] = "Hierarchical"
    noun: ClassVar[str] = "the hierarchical model"
    keys: ClassVar[frozenset[str]] = frozenset({"mu", "tau", "scale"})
    key_docs: ClassVar[dict[str, str]] = {
        "mu": 'Prior of the mean of the indications\' logits (or gains over the null), e.g. "Normal(0, 1.5)".',
        "tau": 'Prior of the between-indication standard deviation, e.g. "HalfNormal(1)", "HalfCauchy(0.5)".',
        "scale": SCALE,
    }
    reference: ClassVar[str] = "Berry et al. (2013), Clinical Trials 10:720-734"

    @classmethod
    def parse(cls, table, where, K, base):
        p = {"mu": dist(table, "mu", where, "Normal(0, 1.5)"), "tau": dist(table, "tau", where, "HalfNormal(1)")}
        component(p["mu"], p["tau"], where)
        if (scale := parse_scale(table, where)) is not None:
            p["scale"] = scale
        return p

    @classmethod
    def describe(cls, params):
        scale = {"null": "logit(p) - logit(p0)", "probability": "logit(p)"}.get(params.get("scale"), "logit scale")
        return f"{scale} ~ Normal(mu, tau); mu ~ {params['mu']}, tau ~ {params['tau']}"
