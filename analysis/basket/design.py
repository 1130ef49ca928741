"""Basket designs: borrowing methods, decisions and operating characteristics.

A design has K indications, each with a sample size, an optional interim
analysis, a null rate ``p0`` and a decision threshold ``c``: the indication
is a *go* when ``P(p_k > p0_k | data) > c_k`` (and, optionally, the posterior
mean is at least ``min_mean``).  Borrowing methods:

- ``independent``: a Beta or Beta-mixture prior per indication (conjugate);
- ``hierarchical`` and ``exnex``: the logit-normal models of
  :mod:`analysis.bayes.engine` (deterministic, tabulated);
- ``jsd``: Fujikawa et al. (2020, Biometrical Journal 62:330-338): each
  indication's Beta posterior borrows the others' prior-plus-data with
  weights ``(1 - JSD)^epsilon`` of the Jensen-Shannon divergence between
  the individual Beta posteriors, set to 0 when at most ``tau`` (as in the
  R package ``baskexact``, ``weights_fujikawa`` and ``beta_borrow.fujikawa``).

Interim analysis (optional, per indication): after ``interim_n`` patients an
indication stops for futility when the predictive probability of a final go
is below ``futility``, or for efficacy (a go) when it is above ``efficacy``.
The predictive probability uses that indication's own data and the design's
``interim_prior`` (no borrowing at the interim, so that stopping rules are
fixed in advance and do not depend on other indications); the final
analysis borrows from all indications, including stopped ones' interim data.
Each indication's end state (its final sample size, responders and how it
ended) therefore has a known distribution, the indications are independent
given the true rates, and operating characteristics are exact sums over all
joint end states, or Monte Carlo averages over sampled ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from scipy.special import betaln, gammaln, logsumexp

FINAL, FUTILITY, EFFICACY = 0, 1, 2


@dataclass(frozen=True)
class Indication:
    name: str
    n: int
    p0: float
    target: float
    c: float
    min_mean: float | None = None
    interim_n: int | None = None
    futility: float | None = None
    efficacy: float | None = None


@dataclass(frozen=True)
class Method:
    """A borrowing method of the design: ``kind`` names a registered class (:mod:`analysis.basket.methods`),
    ``params`` its settings as that class's ``parse`` read them."""

    name: str
    kind: str
    params: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def label(self) -> str:
        """The readable label of the method's class (the design file's NAME when it differs from the kind)."""
        label = method_class(self).label
        return label if self.name == self.kind else f"{label}: {self.name}"

    @property
    def noun(self) -> str:
        """The method in running prose."""
        cls = method_class(self)
        return (cls.noun or cls.label) if self.name == self.kind else self.label

    @property
    def settings(self) -> str:
        """The method's priors and settings in words (:meth:`BorrowingMethod.describe`)."""
        return method_class(self).describe(self.params)


@dataclass(frozen=True)
class Scenario:
    name: str
    p: tuple[float, ...]


@dataclass
class Design:
    name: str
    indications: list[Indication]
    methods: list[Method]
    scenarios: list[Scenario]
    seed: int = 1
    oc: str = "auto"  # exact | simulate | auto
    n_sim: int = 10_000
    chunk: int = 2_000
    max_outcomes: int = 200_000
    interim_prior: tuple[float, float] = (1.0, 1.0)
    calibration: object = None  # analysis.basket.calibrate.Calibration, or None
    interim: str = "own"  # "own": each indication's interim uses its own data; "borrow": the method's posterior
    interim_rule: str = "predictive"  # with interim = "borrow": "predictive" or "posterior" probability

    @property
    def K(self) -> int:
        return len(self.indications)

    @property
    def p0(self) -> np.ndarray:
        return np.array([i.p0 for i in self.indications])

    def describe(self) -> dict:
        return {
            "name": self.name,
            "seed": self.seed,
            "oc": self.oc,
            "n_sim": self.n_sim,
            "chunk": self.chunk,
            "max_outcomes": self.max_outcomes,
            "interim_prior": list(self.interim_prior),
            "interim": self.interim,
            "interim_rule": self.interim_rule,
            "indications": [vars(i) | {} for i in self.indications],
            "methods": [
                {
                    "name": m.name,
                    "type": m.kind,
                    "label": m.label,
                    "noun": m.noun,
                    "settings": m.settings,
                    **_jsonable(m.params),
                }
                for m in self.methods
            ],
            "scenarios": [{"name": s.name, "p": list(s.p)} for s in self.scenarios],
        } | ({"calibration": vars(self.calibration)} if self.calibration is not None else {})


def _jsonable(d: dict) -> dict:
    def conv(v):
        if hasattr(v, "to_dict"):
            return v.to_dict()
        if isinstance(v, (tuple, list)):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v if isinstance(v, (int, float, str, bool, type(None))) else repr(v)

    return {k: conv(v) for k, v in d.items()}


# -- end states of one indication -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class States:
    """Possible end states of one indication: sample size, responders, how it ended, log coefficient.

    ``P(state | p) = exp(logc + y log p + (n - y) log(1 - p))``.
    """

    n: np.ndarray
    y: np.ndarray
    flag: np.ndarray
    logc: np.ndarray

    def logprob(self, p: float) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            lp = self.logc + np.where(self.y > 0, self.y * math.log(p) if p > 0 else -np.inf, 0.0)
            lp = lp + np.where(self.n - self.y > 0, (self.n - self.y) * math.log1p(-p) if p < 1 else -np.inf, 0.0)
        return lp

    def __len__(self) -> int:
        return self.n.size


def _lchoose(n, k):
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def final_boundary(n: int, p0: float, c: float, prior=(1.0, 1.0)) -> int:
    """Smallest y with P(p > p0 | y of n) > c under a Beta prior (n + 1 if none)."""
    y = np.arange(n + 1)
    ok = stats.beta.sf(p0, prior[0] + y, prior[1] + n - y) > c
    return int(np.argmax(ok)) if ok.any() else n + 1


def predictive_probability(y1: int, n1: int, n: int, p0: float, c: float, prior=(1.0, 1.0)) -> float:
    """P(final go | y1 of n1) with a Beta prior: beta-binomial predictive of the remaining n - n1."""
    r = final_boundary(n, p0, c, prior)
    n2 = n - n1
    y2 = np.arange(n2 + 1)
    a, b = prior[0] + y1, prior[1] + n1 - y1
    lp = _lchoose(n2, y2) + betaln(a + y2, b + n2 - y2) - betaln(a, b)
    return float(np.exp(lp[y2 >= r - y1]).sum()) if (y2 >= r - y1).any() else 0.0


def indication_states(ind: Indication, interim_prior=(1.0, 1.0)) -> States:
    n = ind.n
    if ind.interim_n is None:
        y = np.arange(n + 1)
        return States(np.full(n + 1, n), y, np.zeros(n + 1, int), _lchoose(n, y))
    n1, n2 = ind.interim_n, n - ind.interim_n
    rows_n, rows_y, rows_f, rows_c = [], [], [], []
    cont = np.zeros(n + 1)  # coefficient of final states, summed over continuing y1
    cont_any = np.zeros(n + 1, bool)
    for y1 in range(n1 + 1):
        pp = predictive_probability(y1, n1, n, ind.p0, ind.c, interim_prior)
        if ind.futility is not None and pp < ind.futility:
            rows_n.append(n1), rows_y.append(y1), rows_f.append(FUTILITY), rows_c.append(_lchoose(n1, y1))
        elif ind.efficacy is not None and pp > ind.efficacy:
            rows_n.append(n1), rows_y.append(y1), rows_f.append(EFFICACY), rows_c.append(_lchoose(n1, y1))
        else:
            y2 = np.arange(n2 + 1)
            cont[y1 + y2] += np.exp(_lchoose(n1, y1) + _lchoose(n2, y2))
            cont_any[y1 + y2] = True
    yf = np.nonzero(cont_any)[0]
    rows_n += [n] * yf.size
    rows_y += yf.tolist()
    rows_f += [FINAL] * yf.size
    rows_c += np.log(cont[yf]).tolist()
    return States(np.array(rows_n), np.array(rows_y), np.array(rows_f), np.array(rows_c, float))


# -- methods: posterior summaries for many data sets ------------------------------------------------------------------


def method_class(method: Method):
    """The registered class of a method (:mod:`analysis.basket.methods`)."""
    from analysis.basket import methods

    return methods.get(method.kind)


def analyze(design: Design, method: Method, n: np.ndarray, y: np.ndarray, prepared=None) -> dict:
    """Posterior mean, second moment and P(p_k > p0_k) for data rows (B, K), by the method's registered class."""
    n, y = np.atleast_2d(n).astype(int), np.atleast_2d(y).astype(int)
    return method_class(method).analyze(design, method, n, y, prepared)


def decide(design: Design, summ: dict, flags: np.ndarray, thresholds=None) -> np.ndarray:
    """Go decisions (B, K) from posterior summaries and end-state flags.

    ``thresholds``: one decision threshold per indication in place of the design's ``c`` (calibrated ones).
    """
    c = np.array([i.c for i in design.indications]) if thresholds is None else np.asarray(thresholds, float)
    go = summ["p_above"] > c
    mm = np.array([np.nan if i.min_mean is None else i.min_mean for i in design.indications])
    has = ~np.isnan(mm)
    go[:, has] &= summ["mean"][:, has] >= mm[has]
    go[flags == FUTILITY] = False
    go[flags == EFFICACY] = True
    return go


# -- operating characteristics ----------------------------------------------------------------------------------------


def design_states(design: Design) -> list[States]:
    return [indication_states(i, design.interim_prior) for i in design.indications]


def n_outcomes(design: Design) -> int:
    """Joint end states of the design (with a borrowing interim: at most, before the impossible ones go)."""
    if design.interim == "borrow":
        return int(np.prod([2 * (i.interim_n + 1) + i.n + 1 for i in design.indications], dtype=float))
    return int(np.prod([len(s) for s in design_states(design)], dtype=float))


def use_exact(design: Design) -> bool:
    if design.oc == "exact":
        return True
    if design.oc == "simulate":
        return False
    return n_outcomes(design) <= design.max_outcomes


def _joint_index(states: list[States]) -> np.ndarray:
    grids = np.meshgrid(*[np.arange(len(s)) for s in states], indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1)


def _oc_rows(design, method, scenario, P, go, mean, nsize, mcse=None, flags=None):
    """OC table rows from weights P (summing to 1) over rows of go/mean/nsize (B, K); with ``flags``, the
    probabilities of stopping at the interim for futility and for efficacy (designs with an interim)."""
    p = np.array(scenario.p)
    null = p <= design.p0
    rows = []
    for k, ind in enumerate(design.indications):
        pg = float(P @ go[:, k])
        bias = float(P @ mean[:, k]) - p[k]
        mse = float(P @ (mean[:, k] - p[k]) ** 2)
        row = {
            "method": method.name,
            "scenario": scenario.name,
            "indication": ind.name,
            "p_true": p[k],
            "null": bool(null[k]),
            "go": pg,
            "expected_n": float(P @ nsize[:, k]),
            "bias": bias,
            "mse": mse,
        }
        if mcse is not None:
            row["go_mcse"] = mcse(go[:, k])
        if flags is not None and ind.interim_n is not None:
            row["stop_futility"] = float(P @ (flags[:, k] == FUTILITY))
            row["stop_efficacy"] = float(P @ (flags[:, k] == EFFICACY))
        rows.append(row)
    any_null = go[:, null].any(1) if null.any() else np.zeros(go.shape[0], bool)
    summary = {
        "method": method.name,
        "scenario": scenario.name,
        "indication": "(any)",
        "p_true": np.nan,
        "null": bool(null.any()),
        "go": float(P @ go.any(1)),
        "fwer": float(P @ any_null) if null.any() else np.nan,
        "expected_n": float(P @ nsize.sum(1)),
        "bias": np.nan,
        "mse": np.nan,
    }
    if mcse is not None:
        summary["go_mcse"] = mcse(go.any(1))
        summary["fwer_mcse"] = mcse(any_null) if null.any() else np.nan
    rows.append(summary)
    return rows


@dataclass
class ExactSpace:
    """Every joint end state of a design (one row each, C order over the indications' states) with its data,
    flags and one method's posterior summaries; the scenario-free part of exact operating characteristics."""

    states: list[States]
    idx: np.ndarray
    n: np.ndarray
    y: np.ndarray
    flags: np.ndarray
    summ: dict

    def probabilities(self, p) -> np.ndarray:
        """P(joint end state) under true rates ``p`` (one per indication)."""
        lp = sum(self.states[k].logprob(p[k])[self.idx[:, k]] for k in range(len(self.states)))
        P = np.exp(lp)
        return P / P.sum()


def exact_space(design: Design, method: Method, summaries: dict | None = None) -> ExactSpace:
    """The joint end states of ``design`` and ``method``'s summaries of each (computed unless given)."""
    if design.interim == "borrow":
        from analysis.basket.interim import exact_space_borrowing

        return exact_space_borrowing(design, method, summaries)
    states = design_states(design)
    idx = _joint_index(states)
    n = np.stack([states[k].n[idx[:, k]] for k in range(design.K)], 1)
    y = np.stack([states[k].y[idx[:, k]] for k in range(design.K)], 1)
    flags = np.stack([states[k].flag[idx[:, k]] for k in range(design.K)], 1)
    if summaries is not None:
        summ = summaries
        if len(summ["mean"]) != len(idx):
            raise ValueError(f"summaries hold {len(summ['mean'])} end states; the design has {len(idx)}")
    else:
        cls = method_class(method)
        summ = cls.exact_summaries(design, method, states)
        if summ is None:
            summ = analyze(design, method, n, y, cls.prepare(design, method, states))
    return ExactSpace(states, idx, n, y, flags, summ)


def exact_oc(
    design: Design,
    method: Method,
    scenarios=None,
    summaries: dict | None = None,
    thresholds=None,
    space: ExactSpace | None = None,
) -> list[dict]:
    """Exact operating characteristics of one method for all (or the given) scenarios.

    ``summaries``: the posterior summaries of every joint end state, when the caller has them already
    (:func:`engine_product_summaries` of ``design_states(design)``, or :func:`analyze`); computed otherwise.
    ``thresholds``: decision thresholds in place of the design's (one per indication); ``space``: the
    :class:`ExactSpace` when the caller has it.
    """
    sp = space if space is not None else exact_space(design, method, summaries)
    go = decide(design, sp.summ, sp.flags, thresholds)
    rows = []
    for sc in scenarios or design.scenarios:
        rows += _oc_rows(design, method, sc, sp.probabilities(sc.p), go, sp.summ["mean"], sp.n, flags=sp.flags)
    for r in rows:
        r["oc"] = "exact"
    return rows


def seed_for(design: Design, method: Method, scenario: Scenario, chunk: int) -> np.random.SeedSequence:
    """Seed of one simulation chunk: keyed by design seed, method, scenario and chunk number (never the worker)."""
    key = [_stable(design.name), _stable(method.name), _stable(scenario.name), int(chunk)]
    return np.random.SeedSequence(entropy=int(design.seed), spawn_key=tuple(key))


def _stable(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode("utf-8"))


def draw(design: Design, method: Method, p, rng: np.random.Generator, size: int):
    """``size`` simulated trials under rates ``p``: (n, y, flags, prepared), the last for :func:`analyze`."""
    if design.interim == "borrow":
        from analysis.basket.interim import draw as draw_borrowing

        return (*draw_borrowing(design, method, np.asarray(p, float), rng, size), None)
    states = design_states(design)
    idx = np.empty((size, design.K), int)
    for k, s in enumerate(states):
        lp = s.logprob(p[k])
        pr = np.exp(lp - logsumexp(lp))
        idx[:, k] = rng.choice(len(s), size=size, p=pr)
    n = np.stack([states[k].n[idx[:, k]] for k in range(design.K)], 1)
    y = np.stack([states[k].y[idx[:, k]] for k in range(design.K)], 1)
    flags = np.stack([states[k].flag[idx[:, k]] for k in range(design.K)], 1)
    return n, y, flags, method_class(method).prepare(design, method, states)


def simulate_chunk(design: Design, method: Method, scenario: Scenario, chunk: int, size: int, thresholds=None) -> dict:
    """Sums over ``size`` simulated trials (one chunk), to be combined by :func:`combine_chunks`; ``thresholds``
    in place of the design's (the same trials as with them: the seed does not depend on the thresholds)."""
    rng = np.random.default_rng(seed_for(design, method, scenario, chunk))
    n, y, flags, prepared = draw(design, method, scenario.p, rng, size)
    summ = analyze(design, method, n, y, prepared)
    go = decide(design, summ, flags, thresholds)
    p = np.array(scenario.p)
    null = p <= design.p0
    any_null = go[:, null].any(1) if null.any() else np.zeros(size, bool)
    err = summ["mean"] - p
    return {
        "method": method.name,
        "scenario": scenario.name,
        "chunk": chunk,
        "size": size,
        "go": go.sum(0),
        "any_go": int(go.any(1).sum()),
        "any_null": int(any_null.sum()),
        "n": n.sum(0).astype(float),
        "n2": (n.astype(float) ** 2).sum(0),
        "ntot2": float((n.sum(1).astype(float) ** 2).sum()),
        "err": err.sum(0),
        "err2": (err**2).sum(0),
        "err4": (err**4).sum(0),
        "fut": (flags == FUTILITY).sum(0),
        "eff": (flags == EFFICACY).sum(0),
    }


def combine_chunks(design: Design, method: Method, scenario: Scenario, parts: list[dict]) -> list[dict]:
    """OC rows with Monte Carlo SEs from the chunks of one (method, scenario)."""
    N = sum(p["size"] for p in parts)
    tot = {
        k: sum(np.asarray(p[k], float) for p in parts) for k in ("go", "n", "n2", "err", "err2", "err4", "fut", "eff")
    }
    tot |= {k: sum(p[k] for p in parts) for k in ("any_go", "any_null", "ntot2")}
    p = np.array(scenario.p)
    null = p <= design.p0
    rows = []

    def se_prop(x):
        return math.sqrt(max(x * (1 - x), 0) / N)

    for k, ind in enumerate(design.indications):
        g = tot["go"][k] / N
        en = tot["n"][k] / N
        bias = tot["err"][k] / N
        mse = tot["err2"][k] / N
        rows.append(
            {
                "method": method.name,
                "scenario": scenario.name,
                "indication": ind.name,
                "p_true": p[k],
                "null": bool(null[k]),
                "go": g,
                "go_mcse": se_prop(g),
                "expected_n": en,
                "expected_n_mcse": math.sqrt(max(tot["n2"][k] / N - en**2, 0) / N),
                "bias": bias,
                "bias_mcse": math.sqrt(max(mse - bias**2, 0) / N),
                "mse": mse,
                "mse_mcse": math.sqrt(max(tot["err4"][k] / N - mse**2, 0) / N),
            }
            | (
                {"stop_futility": tot["fut"][k] / N, "stop_efficacy": tot["eff"][k] / N}
                if ind.interim_n is not None
                else {}
            )
        )
    fw = tot["any_null"] / N
    ag = tot["any_go"] / N
    etot = tot["n"].sum() / N
    rows.append(
        {
            "method": method.name,
            "scenario": scenario.name,
            "indication": "(any)",
            "p_true": np.nan,
            "null": bool(null.any()),
            "go": ag,
            "go_mcse": se_prop(ag),
            "fwer": fw if null.any() else np.nan,
            "fwer_mcse": se_prop(fw) if null.any() else np.nan,
            "expected_n": etot,
            "expected_n_mcse": math.sqrt(max(tot["ntot2"] / N - etot**2, 0) / N),
            "bias": np.nan,
            "mse": np.nan,
        }
    )
    for r in rows:
        r["oc"] = "simulated"
        r["n_sim"] = N
    return rows
