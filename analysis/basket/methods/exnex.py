"""EXNEX (Neuenschwander et al. 2016): exchangeable components or a non-exchangeable prior per indication."""

from __future__ import annotations

from typing import ClassVar

from analysis.basket.checks import DesignError, component, dist, per_indication, unknown_keys, weight
from analysis.basket.keys import SCALE
from analysis.basket.methods.logit_normal import LogitNormal, parse_scale


def parse_exnex(table: dict, where: str, K: int) -> dict:
    """EXNEX settings: one exchangeable component (mu, tau, w) or several (component = [...]); nex; per-indication
    weights and nex priors."""

    def nex_of(text):
        d = dist({"nex": text}, "nex", where, None)
        if d.name != "Normal":
            raise DesignError(f"{where}, key 'nex': must be Normal(m, s), got {d}")
        return d.params

    p: dict = {"nex": per_indication(table.get("nex", "Normal(0, 2)"), "nex", where, K, nex_of)}
    comps = table.get("component")
    if comps is None:
        p["mu"] = dist(table, "mu", where, "Normal(0, 1.5)")
        p["tau"] = dist(table, "tau", where, "HalfNormal(1)")
        component(p["mu"], p["tau"], where)
        p["w"] = per_indication(table.get("w", 0.5), "w", where, K, lambda x: weight(x, "w", where))
        return p
    if any(k in table for k in ("mu", "tau", "w")):
        raise DesignError(f"{where}: give either mu, tau and w (one component) or 'component' tables, not both")
    if not isinstance(comps, list) or not comps or not all(isinstance(c, dict) for c in comps):
        raise DesignError(f"{where}, key 'component': expected a list of tables {{mu, tau, w}}, got {comps!r}")
    out, weights = [], []
    for j, c in enumerate(comps, start=1):
        wc = f"{where}, component #{j}"
        unknown_keys(c, {"mu", "tau", "w"}, wc)
        if "w" not in c:
            raise DesignError(f"{wc}: missing key 'w' (its prior weight)")
        mu, tau = dist(c, "mu", wc, "Normal(0, 1.5)"), dist(c, "tau", wc, "HalfNormal(1)")
        component(mu, tau, wc)
        w = per_indication(c["w"], "w", wc, K, lambda x, wc=wc: weight(x, "w", wc, zero=True))
        out.append({"mu": repr(mu), "tau": repr(tau), "w": w})
        weights.append(w if isinstance(w, tuple) else (w,) * K)
    totals = [sum(col) for col in zip(*weights)]
    if any(t > 1 + 1e-12 for t in totals) or any(t <= 0 for t in totals):
        raise DesignError(
            f"{where}, key 'component': the weights of each indication must sum to a number in (0, 1], "
            f"got {[round(t, 6) for t in totals]}"
        )
    p["component"] = tuple(out)
    return p


class Exnex(LogitNormal):
    """Each indication's logit is exchangeable (one or several Normal(mu_j, tau_j) components, prior weights
    ``w``) or non-exchangeable (its own ``nex`` prior); Neuenschwander et al. (2016), Pharmaceutical
    Statistics 15:123-134."""

    kind: ClassVar[str] = "exnex"
    label: ClassVar[str] = "EXNEX"
    noun: ClassVar[str] = "EXNEX"
    keys: ClassVar[frozenset[str]] = frozenset({"mu", "tau", "nex", "w", "component", "scale"})
    key_docs: ClassVar[dict[str, str]] = {
        "mu": "Prior of the exchangeable component's mean (one component; see `component` for several).",
        "tau": "Prior of the exchangeable component's between-indication standard deviation.",
        "nex": 'Prior of a non-exchangeable indication\'s logit (or gain), e.g. "Normal(0, 2)"; or a list, one '
        "per indication.",
        "w": "Prior probability that an indication is exchangeable (0 < w <= 1); or a list, one per indication.",
        "component": "Several exchangeable components: a list of {mu, tau, w} (Neuenschwander et al. 2016, "
        "section 2.2); an indication's weights sum to at most 1.",
        "scale": SCALE,
    }
    reference: ClassVar[str] = "Neuenschwander et al. (2016), Pharmaceutical Statistics 15:123-134"

    @classmethod
    def parse(cls, table, where, K, base):
        p = parse_exnex({k: v for k, v in table.items() if k != "scale"}, where, K)
        if (scale := parse_scale(table, where)) is not None:
            p["scale"] = scale
        return p

    @classmethod
    def describe(cls, params):
        nex = params["nex"]
        nex_text = (
            f"Normal({nex[0]:g}, {nex[1]:g})" if len(nex) == 2 and not hasattr(nex[0], "__len__") else "per indication"
        )
        if "component" in params:
            comps = "; ".join(f"mu ~ {c['mu']}, tau ~ {c['tau']}, w = {c['w']}" for c in params["component"])
            return f"{comps}; non-exchangeable logit ~ {nex_text}"
        w = params["w"]
        scale = {"null": "logit(p) - logit(p0)", "probability": "logit(p)"}.get(params.get("scale"), "logit scale")
        return f"{scale} exchangeable with prob. w: mu ~ {params['mu']}, tau ~ {params['tau']}; w = {w}; non-exchangeable logit ~ {nex_text}"
