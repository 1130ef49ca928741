"""The schema of a priors-and-designs specification file, checked before anything is computed.

Built on pydantic: every field has a type and a range, unknown fields are
errors (with the closest known name as a suggestion, so ``robust_wieght`` is
caught rather than silently ignored), whole numbers must be whole (``n = 20.7``
is an error, not 20), names are safe file names (they become output file
names), and names are unique.  Sizes whose exact operating characteristics
would take minutes are refused up front with the reason.  Messages name the
file, the table (``[[design]] #2 'sle'``) and the field.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, ValidationError, model_validator

from analysis.bayes.prior import MAX_BETA

#: a name that is also a safe file name: letters, digits, '_', '-', '.', not starting with '.'
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
#: exact one-sample OC enumerate n + 1 outcomes per rate; two-sample ones (n_t + 1) x (n_c + 1)
MAX_N_ONE_SAMPLE = 100_000
MAX_N_PER_ARM = 5_000

Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Number = StrictInt | StrictFloat
Probability = Annotated[Number, Field(gt=0, lt=1)]


class SpecError(ValueError):
    """A specification file is not valid; the message names the file, the table and the field."""


class _Strict(BaseModel):
    # NaN and +-inf (TOML's nan, inf) are refused in every numeric field, naming the field
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Study(_Strict):
    name: str = Field(min_length=1)
    n: Annotated[StrictInt, Field(ge=1)] | None = None
    r: Annotated[StrictInt, Field(ge=0)] | None = None
    m: Number | None = None
    se: Annotated[Number, Field(gt=0)] | None = None
    y: Annotated[StrictInt, Field(ge=0)] | None = None
    exposure: Annotated[Number, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _counts(self):
        if self.n is not None and self.r is not None and self.r > self.n:
            raise ValueError(f"study '{self.name}': r = {self.r} exceeds n = {self.n}")
        return self


PRODUCT_CLASSES = ("cd19_autologous", "cd19_allogeneic", "dual_cd19_bcma", "bcma", "mixed")
ENDPOINT_CLASSES = ("remission", "response", "low_activity", "event_free", "weak", "nonstandard")


class MvComponent(_Strict):
    """One component of a multivariate normal mixture prior: weight, mean vector, covariance matrix."""

    w: Annotated[Number, Field(gt=0, le=1, description="Weight of the component; the weights sum to 1.")]
    mean: list[Number] = Field(min_length=1, max_length=20, description="Mean vector of the component.")
    cov: list[list[Number]] = Field(
        min_length=1, max_length=20, description="Covariance matrix of the component (symmetric positive definite)."
    )


class PriorSpec(_Strict):
    name: Name
    label: str | None = Field(default=None, min_length=1, max_length=120)
    family: Literal["beta", "normal", "gamma", "poisson", "mvnormal"] = "beta"
    disease: str | None = Field(default=None, min_length=1)
    products: list[Literal[PRODUCT_CLASSES]] | None = Field(default=None, min_length=1)
    endpoint_classes: list[Literal[ENDPOINT_CLASSES]] | None = Field(default=None, min_length=1)
    studies: list[Study] | None = Field(default=None, min_length=1)
    mixture: list[list[Number]] | None = Field(default=None, min_length=1)
    components: list[MvComponent] | None = Field(
        default=None,
        min_length=1,
        description='family = "mvnormal": the components {w, mean, cov} of a multivariate normal mixture.',
    )
    sigma_cov: list[list[Number]] | None = Field(
        default=None,
        min_length=1,
        description='family = "mvnormal": sampling covariance of one observation (for the posterior with n).',
    )
    sigma: Annotated[Number, Field(gt=0)] | None = None
    likelihood: Literal["poisson", "exp"] | None = None
    robust_weight: Probability | None = None
    robust_mean: Number | None = None
    robust_n: Annotated[Number, Field(ge=0, le=MAX_BETA)] | None = None
    mu: str | None = None
    tau: str | None = None
    max_components: Annotated[StrictInt, Field(ge=1, le=8)] | None = None

    @model_validator(mode="after")
    def _one_source(self):
        if self.family == "mvnormal" or self.components is not None or self.sigma_cov is not None:
            return self._mvnormal()
        sources = [k for k in ("disease", "studies", "mixture") if getattr(self, k) is not None]
        if len(sources) != 1:
            raise ValueError(f"give exactly one of 'disease', 'studies', 'mixture'; got {sources}")
        for key in ("products", "endpoint_classes"):
            if getattr(self, key) is not None and self.disease is None:
                raise ValueError(f"'{key}' selects published cohorts: it needs 'disease'")
        need = {"beta": ("n", "r"), "normal": ("m", "se"), "poisson": ("y", "exposure"), "gamma": ("y", "exposure")}
        for s in self.studies or []:
            missing = [k for k in need[self.family] if getattr(s, k) is None]
            if missing:
                raise ValueError(f"study '{s.name}' needs {list(need[self.family])} for family {self.family!r}")
        for i, row in enumerate(self.mixture or [], start=1):
            if len(row) != 3:
                raise ValueError(f"'mixture' row {i}: expected [weight, parameter 1, parameter 2], got {row}")
            if not (row[0] > 0 and row[2] > 0 and (row[1] > 0 or self.family == "normal")):
                names = "[w, m, s] with w, s > 0" if self.family == "normal" else "[w, a, b] all > 0"
                raise ValueError(f"'mixture' row {i}: {row} must be {names}")
            if self.family == "beta" and max(row[1:]) > MAX_BETA:
                raise ValueError(f"'mixture' row {i}: {row}; a and b must be at most {MAX_BETA:,} (a million patients)")
        # weights that do not sum to 1 are refused when the prior is built, naming 'mixture'
        if self.family == "beta" and self.robust_mean is not None and not 0 < self.robust_mean < 1:
            raise ValueError(f"robust_mean {self.robust_mean} must be in (0, 1) for a Beta prior")
        for key in ("mu", "tau"):
            text = getattr(self, key)
            if text is not None:
                from analysis.bayes.prior import Prior

                prior = Prior.parse(text)
                need_support = "real" if key == "mu" else "positive"
                if prior.support != need_support:
                    raise ValueError(f"{key} = {text!r}: the MAP model's {key} needs a prior on {need_support} values")
        return self

    def _mvnormal(self):
        """A multivariate normal mixture prior (RBesT's mixmvnorm): ``components`` only, checked here."""
        if self.family != "mvnormal":
            raise ValueError("'components' and 'sigma_cov' are for family = \"mvnormal\"")
        given = [
            k
            for k in ("disease", "studies", "mixture", "sigma", "robust_weight", "robust_mean", "robust_n")
            if getattr(self, k) is not None
        ]
        if self.components is None or given:
            raise ValueError(f"family 'mvnormal' takes 'components' (and optionally 'sigma_cov') only; got {given}")
        from analysis.priors.mixmvnorm import MvNormalMixture

        MvNormalMixture([(c.w, c.mean, c.cov) for c in self.components], sigma=self.sigma_cov)
        return self


Rate = Annotated[Number, Field(gt=0, lt=1)]


class Sensitivity(_Strict):
    """The design over a grid of null rates and robust weights, each evaluated exactly (oc1S)."""

    p0: list[Rate] = Field(min_length=1, max_length=50)
    robust_weight: list[Rate] = Field(min_length=1, max_length=50)
    delta: Annotated[Number, Field(gt=0, lt=1)] = 0.2


class Calibration(_Strict):
    """Thresholds c that give each prior the same type I error at p0 (Kopp-Schneider et al. 2020)."""

    alpha: list[Annotated[Number, Field(gt=0, lt=0.5)]] = []
    match: str | None = None


class OneSample(_Strict):
    name: Name
    type: Literal["one-sample"]
    prior: str
    compare: list[str] = []
    n: Annotated[StrictInt, Field(ge=1, le=MAX_N_ONE_SAMPLE)]
    p0: Number
    c: Probability
    interim_n: Annotated[StrictInt, Field(ge=1)] | None = None
    futility: Annotated[Number, Field(ge=0, lt=1)] | None = None
    design_prior: str | None = None
    grid: Annotated[StrictInt, Field(ge=2, le=10_001)] = 101
    grid_range: tuple[Number, Number] | None = None
    report_rates: list[Number] = [0.7, 0.8, 0.9]
    power_rate: Number = 0.8
    sensitivity: Sensitivity | None = None
    calibration: Calibration | None = None

    @model_validator(mode="after")
    def _interim(self):
        if self.interim_n is not None and self.interim_n >= self.n:
            raise ValueError(f"interim_n = {self.interim_n} must be below n = {self.n}")
        if self.futility is not None and self.interim_n is None:
            raise ValueError("futility needs interim_n (the interim sample size)")
        return self


class TwoSample(_Strict):
    name: Name
    type: Literal["two-sample"]
    prior_treatment: str
    prior_control: str
    n_t: Annotated[StrictInt, Field(ge=1, le=MAX_N_PER_ARM)]
    n_c: Annotated[StrictInt, Field(ge=1, le=MAX_N_PER_ARM)]
    delta: Number = 0.0
    c: Probability
    p_c: Number
    link: Literal["identity", "logit", "log"] = "identity"
    grid: Annotated[StrictInt, Field(ge=2, le=10_001)] = 101
    grid_range: tuple[Number, Number] | None = None
    power_rate: Number = 0.8


class AdaptiveTwoSample(_Strict):
    """Adaptive two-stage robust-MAP design (Schmidli et al. 2014; :mod:`analysis.priors.adaptive2S`)."""

    name: Name = Field(description="Name of the design (a safe file name).")
    type: Literal["adaptive-two-sample"] = Field(description="Adaptive two-stage robust-MAP design.")
    prior_treatment: str = Field(description="Name of the treatment arm's Beta prior.")
    prior_control: str = Field(description="Name of the control arm's Beta prior (usually a robust MAP prior).")
    n1: Annotated[StrictInt, Field(ge=1, le=MAX_N_PER_ARM, description="Stage-1 control patients.")]
    n_target: Annotated[
        StrictInt,
        Field(ge=1, le=MAX_N_PER_ARM, description="Target control information: stage 2 adds n_target - round(ESS)."),
    ]
    n_min: Annotated[StrictInt, Field(ge=0, le=MAX_N_PER_ARM, description="Minimum stage-2 control patients.")]
    m: Annotated[StrictInt, Field(ge=1, le=MAX_N_PER_ARM, description="Treatment patients (fixed).")]
    c: Probability = Field(description="Success when P(p_t - p_c > delta | data) > c.")
    delta: Annotated[Number, Field(gt=-1, lt=1, description="Margin of the success criterion.")] = 0.0
    p_c: list[Annotated[Number, Field(ge=0, le=1)]] = Field(
        min_length=1, max_length=101, description="True control rates at which the OC are computed."
    )
    effect: list[Annotated[Number, Field(gt=-1, lt=1)]] = Field(
        default=[0.0], min_length=1, max_length=20, description="True differences p_t - p_c (0: type I error)."
    )
    ess_method: Literal["morita", "elir", "moment"] = Field(
        default="morita", description="ESS of the interim posterior that sets stage 2 (RBesT's demo: morita)."
    )
    s: Annotated[Number, Field(gt=0, description="Morita flattening constant (RBesT's 100).")] = 100.0
    conditional: bool = Field(
        default=True, description="Exact OC given the stage-1 data (false: RBesT demo's oc2S weighting)."
    )

    @model_validator(mode="after")
    def _sizes(self):
        if self.n_min > self.n_target:
            raise ValueError(f"n_min = {self.n_min} exceeds n_target = {self.n_target}")
        for pc in self.p_c:
            for e in self.effect:
                if not 0 <= pc + e <= 1:
                    raise ValueError(f"p_c {pc:g} + effect {e:g} = {pc + e:g} is not a rate in [0, 1]")
        return self


Design = Annotated[OneSample | TwoSample | AdaptiveTwoSample, Field(discriminator="type")]


class Spec(_Strict):
    seed: Annotated[StrictInt, Field(ge=0, le=2**32 - 1)] = 20240222
    prior: list[PriorSpec] = Field(min_length=1)
    design: list[Design] = []

    @model_validator(mode="after")
    def _references(self):
        names = [p.name for p in self.prior]
        for what, items in (("prior", self.prior), ("design", self.design)):
            seen = set()
            for x in items:
                if x.name in seen:
                    raise ValueError(f"two [[{what}]] tables are named {x.name!r}; names must be unique")
                seen.add(x.name)
        families = {p.name: p.family for p in self.prior}
        for i, d in enumerate(self.design, start=1):
            for key in ("prior", "design_prior", "prior_treatment", "prior_control"):
                ref = getattr(d, key, None)
                if families.get(ref) == "mvnormal":
                    raise ValueError(
                        f"[[design]] #{i} {d.name!r}, field '{key}': prior {ref!r} is multivariate normal, a prior "
                        "for a model (as_pymc), not for a design"
                    )
        for i, d in enumerate(self.design, start=1):
            at = f"[[design]] #{i} {d.name!r}"
            grid_range = getattr(d, "grid_range", None)
            if grid_range is not None and not grid_range[0] < grid_range[1]:
                raise ValueError(f"{at}, field 'grid_range': {list(grid_range)} must be [low, high] with low < high")
            refs = [
                getattr(d, k)
                for k in ("prior", "design_prior", "prior_treatment", "prior_control")
                if getattr(d, k, None)
            ]
            cal = getattr(d, "calibration", None)
            if cal is not None and cal.match is not None:
                refs.append(cal.match)
            for ref in [*refs, *getattr(d, "compare", [])]:
                if ref not in names:
                    raise ValueError(f"{at}: prior {ref!r} is not defined; defined: {names}")
            if isinstance(d, AdaptiveTwoSample):
                for key in ("prior_treatment", "prior_control"):
                    if families[getattr(d, key)] != "beta":
                        raise ValueError(
                            f"{at}, field '{key}': the adaptive design needs a Beta prior (binary endpoint)"
                        )
                continue
            _one_family(d, at, {p.name: _endpoint(p) for p in self.prior})
            main = families[d.prior if isinstance(d, OneSample) else d.prior_treatment]
            if main == "beta":
                rates = {"p0": d.p0} if isinstance(d, OneSample) else {"p_c": d.p_c}
                rates["power_rate"] = d.power_rate
                for key, v in rates.items():
                    if not 0 < v < 1 and not (key == "p_c" and 0 <= v <= 1):
                        raise ValueError(f"{at}, field '{key}': {v} must be a rate in (0, 1)")
                if isinstance(d, TwoSample) and d.link == "identity" and not -1 < d.delta < 1:
                    raise ValueError(f"{at}, field 'delta': {d.delta} must be a difference in (-1, 1)")
                for r in getattr(d, "report_rates", []):
                    if not 0 <= r <= 1:
                        raise ValueError(f"{at}, field 'report_rates': {r} is not a rate in [0, 1]")
        return self


def _endpoint(p: PriorSpec) -> str:
    """The endpoint a prior is for, in words: priors of one design must agree on it."""
    if p.family == "beta":
        return "a Beta prior (a binary endpoint)"
    if p.family == "normal":
        return "a normal prior (a continuous endpoint)"
    return f"a Gamma prior ({p.likelihood or 'poisson'} likelihood)"


def _one_family(d, at: str, endpoints: dict[str, str]) -> None:
    """Refuse a design whose priors are of different families (a Normal prior in ``compare`` of a binomial design
    was evaluated as a continuous design; mixed Normal and Beta arms failed with a traceback)."""
    key = "prior" if isinstance(d, OneSample) else "prior_treatment"
    main = getattr(d, key)
    others = [(k, getattr(d, k, None)) for k in ("design_prior", "prior_control")]
    others += [("compare", c) for c in getattr(d, "compare", [])]
    cal = getattr(d, "calibration", None)
    others.append(("calibration.match", cal.match if cal is not None else None))
    for k, ref in others:
        if ref is not None and endpoints[ref] != endpoints[main]:
            raise ValueError(
                f"{at}, field '{k}': prior {ref!r} is {endpoints[ref]}, but the design's prior {main!r} (field "
                f"'{key}') is {endpoints[main]}; every prior of a design must be of one family"
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
