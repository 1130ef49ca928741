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

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from scipy.special import betaln, gammaln, logsumexp

from analysis.bayes.engine import Engine, Model

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
    """A borrowing method: ``kind`` is independent, hierarchical, exnex or jsd; ``params`` its settings."""

    name: str
    kind: str
    params: dict = field(default_factory=dict, hash=False, compare=False)


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
            "indications": [vars(i) | {} for i in self.indications],
            "methods": [{"name": m.name, "type": m.kind, **_jsonable(m.params)} for m in self.methods],
            "scenarios": [{"name": s.name, "p": list(s.p)} for s in self.scenarios],
        }


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


def _beta_components(prior) -> np.ndarray:
    """(C, 3) array of (w, a, b) from [a, b], [[w, a, b], ...] or an object with ``.components`` (BetaMixture)."""
    if hasattr(prior, "components"):
        comps = np.array(prior.components, float)
    else:
        arr = np.asarray(prior, float)
        comps = np.array([[1.0, arr[0], arr[1]]]) if arr.ndim == 1 else arr
    comps[:, 0] /= comps[:, 0].sum()
    return comps


def beta_mixture_summary(prior, y, n, p0):
    """Posterior mean, second moment and P(p > p0) under a Beta-mixture prior, elementwise in (y, n, p0)."""
    comps = _beta_components(prior)
    y, n, p0 = (np.asarray(v, float)[..., None] for v in (y, n, p0))
    w, a, b = comps[:, 0], comps[:, 1], comps[:, 2]
    lw = np.log(w) + betaln(a + y, b + n - y) - betaln(a, b)
    pw = np.exp(lw - logsumexp(lw, axis=-1, keepdims=True))
    A, B = a + y, b + n - y
    mean = (pw * A / (A + B)).sum(-1)
    m2 = (pw * A * (A + 1) / ((A + B) * (A + B + 1))).sum(-1)
    pa = (pw * stats.beta.sf(p0, A, B)).sum(-1)
    return mean, m2, pa


def jsd_beta(a1, b1, a2, b2, logbase: float = math.e, nodes: int = 400) -> np.ndarray:
    """Jensen-Shannon divergence between Beta(a1, b1) and Beta(a2, b2), elementwise (broadcasting).

    Double-exponential (tanh-sinh) quadrature on [0, 1], exact to ~1e-10
    even for densities unbounded at 0 or 1.
    """
    t = np.linspace(-4.0, 4.0, nodes)
    h = t[1] - t[0]
    u = 0.5 * np.pi * np.sinh(t)
    x = 0.5 * (1 + np.tanh(u))
    dx = 0.25 * np.pi * np.cosh(t) / np.cosh(u) ** 2 * h  # dx/dt * h
    lx = np.log(np.clip(x, 1e-300, None))
    l1x = np.log(np.clip(0.5 * (1 - np.tanh(u)), 1e-300, None))
    args = np.broadcast_arrays(*(np.asarray(v, float) for v in (a1, b1, a2, b2)))
    a1, b1, a2, b2 = (v[..., None] for v in args)
    lp = (a1 - 1) * lx + (b1 - 1) * l1x - betaln(a1, b1)
    lq = (a2 - 1) * lx + (b2 - 1) * l1x - betaln(a2, b2)
    lm = np.logaddexp(lp, lq) - math.log(2)
    p, q = np.exp(lp), np.exp(lq)
    kl_p = np.sum(dx * p * (lp - lm), -1)
    kl_q = np.sum(dx * q * (lq - lm), -1)
    return np.clip(0.5 * (kl_p + kl_q) / math.log(logbase), 0.0, 1.0)


def jsd_weights(y, n, prior=(1.0, 1.0), epsilon: float = 2.0, tau: float = 0.5, logbase: float = math.e) -> np.ndarray:
    """Fujikawa's borrowing weights for data rows ``y``, ``n`` of shape (B, K): (B, K, K)."""
    y, n = np.atleast_2d(y), np.atleast_2d(n)
    a, b = prior[0] + y, prior[1] + n - y
    jsd = jsd_beta(a[:, :, None], b[:, :, None], a[:, None, :], b[:, None, :], logbase)
    w = (1 - jsd) ** epsilon
    w[w <= tau] = 0.0
    K = y.shape[1]
    w[:, np.arange(K), np.arange(K)] = 1.0
    return w


def jsd_posterior(y, n, prior=(1.0, 1.0), epsilon=2.0, tau=0.5, logbase=math.e, weights=None):
    """Borrowed Beta posteriors (shape1, shape2), each (B, K)."""
    y, n = np.atleast_2d(y).astype(float), np.atleast_2d(n).astype(float)
    w = jsd_weights(y, n, prior, epsilon, tau, logbase) if weights is None else weights
    a = np.einsum("bkl,bl->bk", w, prior[0] + y)
    b = np.einsum("bkl,bl->bk", w, prior[1] + n - y)
    return a, b


def mem_posterior(y, n, prior=(1.0, 1.0), inclusion: float = 0.5, p0=None, structure: str = "symmetric"):
    """Multisource exchangeability model (MEM): posterior summaries of each indication's rate.

    Kaizer, Koopmeiners and Hobbs (2018), Biostatistics 19:169-184; for basket trials Hobbs and Landin (2018),
    Statistics in Medicine 37:3557-3572, as in their R package ``basket`` (``mem_exact``).  Two indications are
    exchangeable (the same rate) or not, a priori with probability ``inclusion``; rates have a Beta(a, b) prior.

    ``structure="symmetric"`` (the ``basket`` package): a configuration is a symmetric exchangeability matrix
    ``M`` over all ``K (K - 1) / 2`` pairs, with prior ``prod inclusion^M_ij (1 - inclusion)^(1 - M_ij)`` and
    marginal ``prod_i [B(a + M_i . y, b + M_i . (n - y)) / B(a, b) * prod_{j: M_ij = 0} B(a + y_j, b + n_j - y_j) /
    B(a, b)]`` (binomial coefficients cancel); indication ``i``'s posterior is the mixture over configurations of
    ``Beta(a + M_i . y, b + M_i . (n - y))``.  ``structure="source"``: each indication has its own configuration
    of the ``K - 1`` others (Kaizer et al.'s source-specific MEM), ``2^(K-1)`` terms.  ``inclusion = 0`` is
    independent Beta(a, b) priors, ``1`` complete pooling, under either.

    ``y``, ``n``: (B, K).  Returns ``mean``, ``m2``, ``p_above`` (``P(p_k > p0_k)``, when ``p0`` is given) and
    ``p_ex`` (B, K, K): the posterior exchangeability probabilities (1 on the diagonal).
    """
    y, n = np.atleast_2d(y).astype(float), np.atleast_2d(n).astype(float)
    a, b = float(prior[0]), float(prior[1])
    if not 0.0 <= inclusion <= 1.0:
        raise ValueError(f"MEM: inclusion probability must be in [0, 1], got {inclusion}")
    if structure not in ("symmetric", "source"):
        raise ValueError(f"MEM: structure must be 'symmetric' or 'source', got {structure!r}")
    B, K = y.shape
    if structure == "symmetric" and K > 6:
        raise ValueError(f"MEM: the symmetric model enumerates 2^(K(K-1)/2) configurations; K = {K} is too many")
    own = betaln(a + y, b + n - y) - betaln(a, b)  # (B, K): each indication alone
    if structure == "source":
        S = np.array(np.meshgrid(*[[0, 1]] * (K - 1), indexing="ij")).reshape(K - 1, -1).T  # (C, K-1)
        rows_of = {}  # indication k's configurations, as rows over all K indications
        for k in range(K):
            others = [j for j in range(K) if j != k]
            Mk = np.zeros((S.shape[0], K))
            Mk[:, others] = S
            Mk[:, k] = 1.0
            rows_of[k] = Mk
    else:
        pairs = [(i, j) for i in range(K) for j in range(i + 1, K)]
        E = np.array(np.meshgrid(*[[0, 1]] * len(pairs), indexing="ij")).reshape(len(pairs), -1).T
        M = np.repeat(np.eye(K)[None], E.shape[0], 0)
        for p, (i, j) in enumerate(pairs):
            M[:, i, j] = M[:, j, i] = E[:, p]
        rows_of = {k: M[:, k, :] for k in range(K)}
    with np.errstate(divide="ignore"):  # inclusion 0 or 1: the configurations it excludes get log prior -inf
        log_in, log_out = np.log(inclusion), np.log1p(-inclusion)
    out = {key: np.empty((B, K)) for key in ("mean", "m2", "p_above")}
    out["p_ex"] = np.empty((B, K, K))

    def row_terms(R):  # R (C, K): one row of the configurations -> shape parameters and log marginal (B, C)
        A = a + y @ R.T
        Bb = b + (n - y) @ R.T
        lm = betaln(A, Bb) - betaln(a, b) + own @ (1 - R).T
        return A, Bb, lm

    terms = {k: row_terms(rows_of[k]) for k in range(K)}
    if structure == "symmetric":
        lp = np.where(E == 1, log_in, log_out).sum(1)
        lw_all = lp[None, :] + sum(terms[k][2] for k in range(K))
        w_all = np.exp(lw_all - logsumexp(lw_all, axis=1, keepdims=True))
    for k in range(K):
        A, Bb, lm = terms[k]
        if structure == "symmetric":
            w = w_all
        else:
            Sk = np.delete(rows_of[k], k, axis=1)
            lw = np.where(Sk == 1, log_in, log_out).sum(1)[None, :] + lm
            w = np.exp(lw - logsumexp(lw, axis=1, keepdims=True))
        out["mean"][:, k] = (w * A / (A + Bb)).sum(1)
        out["m2"][:, k] = (w * A * (A + 1) / ((A + Bb) * (A + Bb + 1))).sum(1)
        if p0 is not None:
            out["p_above"][:, k] = (w * stats.beta.sf(np.asarray(p0, float)[k], A, Bb)).sum(1)
        out["p_ex"][:, k, :] = w @ rows_of[k]
    if p0 is None:
        del out["p_above"]
    return out


class _JSDTable:
    """JSD weights looked up from a table over the distinct (n, y) states (fast for exact enumeration)."""

    def __init__(self, states: list[States], prior, epsilon, tau, logbase):
        pairs = sorted({(int(n), int(y)) for s in states for n, y in zip(s.n, s.y)})
        self.index = {p: i for i, p in enumerate(pairs)}
        nn = np.array([p[0] for p in pairs], float)
        yy = np.array([p[1] for p in pairs], float)
        a, b = prior[0] + yy, prior[1] + nn - yy
        jsd = jsd_beta(a[:, None], b[:, None], a[None, :], b[None, :], logbase)
        w = (1 - jsd) ** epsilon
        w[w <= tau] = 0.0
        np.fill_diagonal(w, 1.0)
        self.w = w

    def weights(self, n, y):
        idx = np.vectorize(lambda a, b: self.index[(int(a), int(b))])(n, y)
        return self.w[idx[:, :, None], idx[:, None, :]]


_ENGINES: dict = {}


def method_engine(method: Method, n_total: int) -> Engine:
    """The (per-process cached) engine of a hierarchical or EXNEX method."""
    key = (method.name, method.kind, repr(sorted(method.params.items())), n_total)
    if key not in _ENGINES:
        p = method.params
        if method.kind == "hierarchical":
            model = Model.hierarchical(p["mu"], p["tau"], name=method.name)
        elif "component" in p:  # several exchangeable components: weights per indication and component
            comps = [(c["mu"], c["tau"]) for c in p["component"]]
            per_indication = next((c["w"] for c in p["component"] if isinstance(c["w"], tuple)), None)
            if per_indication is not None:  # K x J (K = 1 included)
                K = len(per_indication)
                w = np.array([c["w"] if isinstance(c["w"], tuple) else (c["w"],) * K for c in p["component"]]).T
            else:
                w = np.array([c["w"] for c in p["component"]])
            model = Model(tuple(comps), weights=w, nex=_nex(p["nex"]), name=method.name)
        else:
            model = Model.exnex(p["mu"], p["tau"], _nex(p["nex"]), _weights(p.get("w", 0.5)), name=method.name)
        _ENGINES[key] = Engine(model, n_total)
    return _ENGINES[key]


def _nex(v):
    """One (m, s) pair, or one per indication (a K x 2 array)."""
    return np.asarray(v, float)


def _weights(v):
    """One exchangeability weight, or one per indication (a K x 1 array: one component)."""
    w = np.asarray(v, float)
    return w[:, None] if w.ndim == 1 else w


def analyze(design: Design, method: Method, n: np.ndarray, y: np.ndarray, jsd_table=None) -> dict:
    """Posterior mean, second moment and P(p_k > p0_k) for data rows (B, K)."""
    n, y = np.atleast_2d(n).astype(int), np.atleast_2d(y).astype(int)
    p0 = design.p0
    if method.kind == "independent":
        if "priors" in method.params:  # one prior per indication (MAP priors)
            parts = [beta_mixture_summary(pr, y[:, k], n[:, k], p0[k]) for k, pr in enumerate(method.params["priors"])]
            mean, m2, pa = (np.stack([part[i] for part in parts], 1) for i in range(3))
        else:
            mean, m2, pa = beta_mixture_summary(method.params.get("prior", (1.0, 1.0)), y, n, p0[None, :])
        return {"mean": mean, "m2": m2, "p_above": pa}
    if method.kind == "jsd":
        prm = method.params
        prior = tuple(prm.get("prior", (1.0, 1.0)))
        eps, tau, base = prm.get("epsilon", 2.0), prm.get("tau", 0.5), prm.get("logbase", math.e)
        w = jsd_table.weights(n, y) if jsd_table is not None else None
        a, b = jsd_posterior(y, n, prior, eps, tau, base, w)
        return {"mean": a / (a + b), "m2": a * (a + 1) / ((a + b) * (a + b + 1)), "p_above": stats.beta.sf(p0, a, b)}
    if method.kind == "mem":
        prm = method.params
        res = mem_posterior(
            y, n, tuple(prm.get("prior", (1.0, 1.0))), prm.get("inclusion", 0.5), p0, prm.get("structure", "symmetric")
        )
        return {k: res[k] for k in ("mean", "m2", "p_above")}
    if method.kind in ("hierarchical", "exnex"):
        eng = method_engine(method, int(sum(i.n for i in design.indications)))
        out = {k: np.empty(y.shape) for k in ("mean", "m2", "p_above")}
        patterns, inv = np.unique(n, axis=0, return_inverse=True)
        for pi, pat in enumerate(patterns):
            rows = np.nonzero(inv.ravel() == pi)[0]
            res = eng.batch(y[rows], pat, p0)
            for k in out:
                out[k][rows] = res[k]
        return out
    raise ValueError(f"method {method.name!r}: unknown type {method.kind!r}")


def decide(design: Design, summ: dict, flags: np.ndarray) -> np.ndarray:
    """Go decisions (B, K) from posterior summaries and end-state flags."""
    c = np.array([i.c for i in design.indications])
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


def _oc_rows(design, method, scenario, P, go, mean, nsize, mcse=None):
    """OC table rows from weights P (summing to 1) over rows of go/mean/nsize (B, K)."""
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


def exact_oc(design: Design, method: Method, scenarios=None, summaries: dict | None = None) -> list[dict]:
    """Exact operating characteristics of one method for all (or the given) scenarios.

    ``summaries``: the posterior summaries of every joint end state, when the caller has them already
    (:func:`engine_product_summaries` of ``design_states(design)``, or :func:`analyze`); computed otherwise.
    """
    states = design_states(design)
    idx = _joint_index(states)
    n = np.stack([states[k].n[idx[:, k]] for k in range(design.K)], 1)
    y = np.stack([states[k].y[idx[:, k]] for k in range(design.K)], 1)
    flags = np.stack([states[k].flag[idx[:, k]] for k in range(design.K)], 1)
    if summaries is not None:
        summ = summaries
        if len(summ["mean"]) != len(idx):
            raise ValueError(f"summaries hold {len(summ['mean'])} end states; the design has {len(idx)}")
    elif method.kind in ("hierarchical", "exnex"):
        summ = engine_product_summaries(design, method, states)
    else:
        summ = analyze(design, method, n, y, _jsd_table(design, method, states))
    go = decide(design, summ, flags)
    rows = []
    for sc in scenarios or design.scenarios:
        lp = sum(states[k].logprob(sc.p[k])[idx[:, k]] for k in range(design.K))
        P = np.exp(lp)
        rows += _oc_rows(design, method, sc, P / P.sum(), go, summ["mean"], n)
    for r in rows:
        r["oc"] = "exact"
    return rows


def _contract(Fs: list[np.ndarray], max_elems: float = 4e6) -> np.ndarray:
    """``Z[s_1, ..., s_K] = sum_g prod_k F_k[s_k, g]``, flattened in C order (first index slowest)."""
    G = Fs[0].shape[1]
    if len(Fs) == 1:
        return Fs[0].sum(1)
    mid = int(np.prod([F.shape[0] for F in Fs[1:-1]], dtype=float))
    step = max(1, int(max_elems // max(mid * G, 1)))
    out = []
    for i in range(0, Fs[0].shape[0], step):
        head = Fs[0][i : i + step]
        for F in Fs[1:-1]:
            head = (head[:, None, :] * F[None, :, :]).reshape(-1, G)
        out.append((head @ Fs[-1].T).ravel())
    return np.concatenate(out)


def engine_product_summaries(design: Design, method: Method, states: list[States]) -> dict:
    """Posterior summaries of every joint end state at once (hierarchical and EXNEX, any number of components).

    Given the components' hyper-parameters the indications are independent,
    so with one exchangeable component each posterior quantity over the
    product of the indications' end states is a sum over the grid of
    products of per-indication factors: a tensor contraction, done with
    matrix products instead of one posterior per outcome.  With ``J``
    components the product of per-indication sums is expanded over the
    ``J^K`` assignments of indications to components (NEX folded into the
    first, as in :func:`analysis.bayes.engine.mixture_weights`); each term
    is an outer product of one contraction per component over the
    indications it holds, and each contraction is computed once.
    """
    eng = method_engine(method, int(sum(i.n for i in design.indications)))
    grids = eng.grids()
    K, J = design.K, eng.model.J
    model = eng.model
    W = model.group_weights(K)
    nex = model.group_nex(K)
    w_nex = np.clip(1 - W.sum(1), 0, 1)
    priors = [np.exp(g.logw - g.logw.max()) for g in grids]
    sizes = [len(st) for st in states]
    quantities = ("m1", "m2", "tail")
    F = [[None] * K for _ in range(J)]  # F[j][k]: {quantity: (states of k, grid of j)}, "L" the factor itself
    for k, st in enumerate(states):
        thr = float(design.p0[k])
        for j in range(J):
            rows = {q: [] for q in ("L", *quantities)}
            for nn, yy in zip(st.n, st.y):
                tab = eng.table(int(nn), j, [thr])
                lex = W[k, j] * np.exp(tab.loglik[yy])  # W = 1 for the hierarchical model
                parts = {"m1": tab.m1[yy], "m2": tab.m2[yy], "tail": tab.tails[thr][yy]}
                if model.is_exnex and j == 0:  # the first component's factor also holds NEX
                    nt = eng.nex_table(int(nn), *nex[k], [thr])
                    ln = w_nex[k] * math.exp(nt.loglik[yy, 0])
                    rows["L"].append(lex + ln)
                    for q, v in parts.items():
                        nv = {"m1": nt.m1, "m2": nt.m2, "tail": nt.tails[thr]}[q][yy, 0]
                        rows[q].append(lex * v + ln * nv)
                else:
                    rows["L"].append(lex)
                    for q, v in parts.items():
                        rows[q].append(lex * v)
            F[j][k] = {q: np.array(v) for q, v in rows.items()}

    cache: dict = {}

    def alpha(j: int, S: tuple[int, ...], swap: tuple[int, str] | None = None) -> np.ndarray:
        """Component j's integral of its indications' factors, over the joint states of S (one axis per k in S,
        size 1 elsewhere); ``swap = (i, q)`` puts quantity q's numerator in place of indication i's factor."""
        key = (j, S, swap)
        if key not in cache:
            if not S:
                cache[key] = np.full([1] * K, priors[j].sum())
            else:
                Fs = [F[j][k][swap[1]] if swap is not None and k == swap[0] else F[j][k]["L"] for k in S]
                Fs[0] = Fs[0] * priors[j]
                shape = [sizes[k] if k in S else 1 for k in range(K)]
                cache[key] = _contract(Fs).reshape(shape)
        return cache[key]

    Z = np.zeros(sizes)
    num = {(i, q): np.zeros(sizes) for i in range(K) for q in quantities}
    for assign in itertools.product(range(J), repeat=K):
        subsets = [tuple(k for k in range(K) if assign[k] == j) for j in range(J)]
        base = [alpha(j, S) for j, S in enumerate(subsets)]
        Z += math.prod(base) if J > 1 else base[0]
        for i in range(K):
            j = assign[i]
            others = [b for jj, b in enumerate(base) if jj != j]
            for q in quantities:
                a = alpha(j, subsets[j], (i, q))
                num[(i, q)] += math.prod(others, start=a) if others else a
    Z = Z.ravel()
    out = {q: np.empty((Z.size, K)) for q in ("mean", "m2", "p_above")}
    for i in range(K):
        for q, name in (("m1", "mean"), ("m2", "m2"), ("tail", "p_above")):
            out[name][:, i] = num[(i, q)].ravel() / Z
    out["p_above"] = np.clip(out["p_above"], 0, 1)
    return out


def _jsd_table(design, method, states):
    if method.kind != "jsd":
        return None
    prm = method.params
    return _JSDTable(
        states,
        tuple(prm.get("prior", (1.0, 1.0))),
        prm.get("epsilon", 2.0),
        prm.get("tau", 0.5),
        prm.get("logbase", math.e),
    )


def seed_for(design: Design, method: Method, scenario: Scenario, chunk: int) -> np.random.SeedSequence:
    """Seed of one simulation chunk: keyed by design seed, method, scenario and chunk number (never the worker)."""
    key = [_stable(design.name), _stable(method.name), _stable(scenario.name), int(chunk)]
    return np.random.SeedSequence(entropy=int(design.seed), spawn_key=tuple(key))


def _stable(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode("utf-8"))


def simulate_chunk(design: Design, method: Method, scenario: Scenario, chunk: int, size: int) -> dict:
    """Sums over ``size`` simulated trials (one chunk), to be combined by :func:`combine_chunks`."""
    rng = np.random.default_rng(seed_for(design, method, scenario, chunk))
    states = design_states(design)
    idx = np.empty((size, design.K), int)
    for k, s in enumerate(states):
        lp = s.logprob(scenario.p[k])
        pr = np.exp(lp - logsumexp(lp))
        idx[:, k] = rng.choice(len(s), size=size, p=pr)
    n = np.stack([states[k].n[idx[:, k]] for k in range(design.K)], 1)
    y = np.stack([states[k].y[idx[:, k]] for k in range(design.K)], 1)
    flags = np.stack([states[k].flag[idx[:, k]] for k in range(design.K)], 1)
    summ = analyze(design, method, n, y, _jsd_table(design, method, states))
    go = decide(design, summ, flags)
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
    }


def combine_chunks(design: Design, method: Method, scenario: Scenario, parts: list[dict]) -> list[dict]:
    """OC rows with Monte Carlo SEs from the chunks of one (method, scenario)."""
    N = sum(p["size"] for p in parts)
    tot = {k: sum(np.asarray(p[k], float) for p in parts) for k in ("go", "n", "n2", "err", "err2", "err4")}
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
