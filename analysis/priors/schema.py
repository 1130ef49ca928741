"""The schema of a priors-and-designs specification file, checked before anything is computed.

Built on pydantic: every field has a type and a range, unknown fields are
errors (with the closest known name as a suggestion, so ``robust_wieght`` is
caught rather than silently ignored), whole numbers must be whole (``n = 20.7``
is an error, not 20), names are safe file names (they become output file
names), and names are unique.  Sizes whose exact operating characteristics
would take minutes are refused up front with the reason.  Messages name the
file, the table (``[[design]] #2 'sle'``) and the field.  The checks that span fields or tables are in
:mod:`analysis.priors.schema_checks`, the messages in :mod:`analysis.priors.schema_errors`
(:func:`~analysis.priors.schema_errors.validate_spec`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, model_validator

from analysis.bayes.prior import MAX_BETA
from analysis.priors.schema_checks import prior_idle_keys, prior_sources, references
from analysis.settings import SETTINGS

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
    name: str = Field(min_length=1, description="The study's label in the outputs (the MAP fit's tables).")
    n: Annotated[StrictInt, Field(ge=1)] | None = Field(
        default=None, description='family "beta": patients treated, the binomial denominator.'
    )
    r: Annotated[StrictInt, Field(ge=0)] | None = Field(
        default=None, description='family "beta": responders among the `n` patients (0 <= r <= n).'
    )
    m: Number | None = Field(default=None, description='family "normal": the study\'s observed mean.')
    se: Annotated[Number, Field(gt=0)] | None = Field(
        default=None, description='family "normal": standard error of `m` (> 0), on the scale of `m`.'
    )
    y: Annotated[StrictInt, Field(ge=0)] | None = Field(
        default=None, description='family "poisson": number of events counted over `exposure`.'
    )
    exposure: Annotated[Number, Field(gt=0)] | None = Field(
        default=None,
        description='family "poisson": exposure (> 0, e.g. patient-years) over which the `y` events were '
        "counted; the MAP prior is of the event rate per unit of exposure.",
    )

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
    name: Name = Field(description="The prior's name (unique, a safe file name), by which designs refer to it.")
    label: str | None = Field(
        default=None,
        min_length=1,
        max_length=120,
        description="Label in tables and figures (1 to 120 characters); default the name.",
    )
    short_label: str | None = Field(
        default=None,
        min_length=1,
        max_length=60,
        description="Short label in the priors figures' panel titles and legends (1 to 60 characters; a ':' "
        "becomes ',' in titles); default `label`. Changes no number.",
    )
    family: Literal["beta", "normal", "gamma", "poisson", "mvnormal"] = Field(
        default="beta",
        description='"beta" (default): a response rate, Beta mixtures and binomial data; "normal": a mean, '
        'Normal mixtures with reference scale `sigma`; "poisson": an event rate, a MAP prior from `studies` '
        '{y, exposure} or a Gamma `mixture`; "gamma": a Gamma `mixture` (shape, rate) with `likelihood`; '
        '"mvnormal": a multivariate normal mixture (`components`), a prior for a model, not for a design.',
    )
    disease: str | None = Field(
        default=None,
        min_length=1,
        description="MAP prior of a response rate from the published cohorts of this disease, spelled as in the "
        "`disease` column of the data's published_cohorts.csv: never the systematic-review rows, one cohort per "
        "overlap group (the largest). One of `disease`, `studies` and `mixture` is given.",
    )
    products: list[Literal[PRODUCT_CLASSES]] | None = Field(
        default=None,
        min_length=1,
        description="With `disease`: keep only the cohorts of these product classes, before one cohort per "
        "overlap group is kept (so a restriction never counts the same patients twice); absent: every product.",
    )
    endpoint_classes: list[Literal[ENDPOINT_CLASSES]] | None = Field(
        default=None,
        min_length=1,
        description="With `disease`: keep only the cohorts whose endpoint is of these classes (data/README.md), "
        "before the overlap groups are reduced; absent: every endpoint class.",
    )
    studies: list[Study] | None = Field(
        default=None,
        min_length=1,
        description="MAP prior from these historical studies (Neuenschwander et al. 2010; RBesT's gMAP), one "
        'table each: {name, n, r} for "beta", {name, m, se} for "normal" (with `sigma`), {name, y, exposure} '
        'for "poisson".',
    )
    mixture: list[list[Number]] | None = Field(
        default=None,
        min_length=1,
        description="A mixture given directly, one row per component: [w, a, b] for Beta and Gamma (shape, rate), "
        "[w, m, s] for Normal; weights > 0 that sum to 1 (RBesT's mixbeta, mixgamma, mixnorm).",
    )
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
    sigma: Annotated[Number, Field(gt=0)] | None = Field(
        default=None,
        description='family "normal": the reference scale, the known standard deviation of one observation '
        "(n observations have standard error sigma / sqrt(n)); the unit of the ESS. Needed with `studies` and "
        "to robustify.",
    )
    likelihood: Literal["poisson", "exp"] | None = Field(
        default=None,
        description='A Gamma `mixture`: "poisson" (default; event counts per unit of exposure) or "exp" '
        '(exponential event times); family "poisson" takes "poisson" only. Refused for other families.',
    )
    robust_weight: Probability | None = Field(
        default=None,
        description="Weight w (0 < w < 1) of a vague component added to the prior, the others scaled by 1 - w "
        "(robust MAP prior, Schmidli et al. 2014; RBesT's robustify). Absent: not robustified.",
    )
    robust_mean: Number | None = Field(
        default=None,
        description="Mean of the robust component: default 0.5 for Beta (then in (0, 1)), the prior's mean for "
        "Normal and Gamma. Needs `robust_weight`.",
    )
    robust_n: Annotated[Number, Field(ge=0, le=MAX_BETA)] | None = Field(
        default=None,
        description="Observations the robust component is worth, default 1 (Beta(1, 1) at mean 0.5; 0 gives "
        "Beta(0.5, 0.5); Normal: sd sigma / sqrt(n); > 0 for Normal and Gamma). Needs `robust_weight`.",
    )
    mu: str | None = Field(
        default=None,
        description="Prior of the MAP model's mean mu, as text, a prior on real values: on the logit scale for a "
        'response rate (default "Normal(0, 2)", as RBesT\'s example), the log scale for an event rate (default '
        '"Normal(0, 2)"), the scale of the mean for "normal" (default Normal(0, 100 sigma)). MAP priors only.',
    )
    tau: str | None = Field(
        default=None,
        description='Prior of the between-study standard deviation tau, as text (default "HalfNormal(1)"; '
        'HalfNormal(sigma / 2) for "normal"); a prior on positive values. MAP priors only; for a response rate '
        "with a Normal mu and a HalfNormal tau the exact MAP distribution's ESS is reported too.",
    )
    max_components: Annotated[StrictInt, Field(ge=1, le=8)] | None = Field(
        default=None,
        description="Most components (1 to 8, default 4) of the mixture fitted to the MAP draws; the number is "
        "chosen by penalised likelihood (RBesT's automixfit). MAP priors only.",
    )

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
        prior_sources(self)
        prior_idle_keys(self)
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
            for k in (
                *("disease", "products", "endpoint_classes", "studies", "mixture", "sigma", "likelihood"),
                *("robust_weight", "robust_mean", "robust_n", "mu", "tau", "max_components"),
            )
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

    p0: list[Rate] = Field(
        min_length=1,
        max_length=50,
        description="Null rates (each in (0, 1)) at which the design is evaluated, the threshold `c` fixed.",
    )
    robust_weight: list[Rate] = Field(
        min_length=1,
        max_length=50,
        description="Robust weights (each in (0, 1)) given in turn to the design's prior, which must have "
        "`robust_weight` (its robust mean and n are kept); compared Beta priors without one are shown as they are.",
    )
    delta: Annotated[Number, Field(gt=0, lt=1)] = Field(
        default=0.2, description="The power is computed at p0 + delta, for each null rate p0 (p0 + delta < 1)."
    )


class Calibration(_Strict):
    """Thresholds c that give each prior the same type I error at p0 (Kopp-Schneider et al. 2020)."""

    alpha: list[Annotated[Number, Field(gt=0, lt=0.5)]] = Field(
        default=[],
        description="Target type I errors at p0 (each in (0, 0.5)): each Beta prior of the design gets the "
        "threshold c whose exact type I error is the largest one at most alpha.",
    )
    match: str | None = Field(
        default=None,
        description="A prior of the design (`prior` or one in `compare`) whose exact type I error at the "
        "design's `c` is a further target, met with equality. At least one of `alpha` and `match` is given.",
    )

    @model_validator(mode="after")
    def _a_target(self):
        if not self.alpha and self.match is None:
            raise ValueError("neither 'alpha' nor 'match' is given: the table sets no target, so it has no effect")
        return self


class OneSample(_Strict):
    name: Name = Field(description="The design's name (unique, a safe file name).")
    type: Literal["one-sample"] = Field(
        description="A single-arm design: success when P(theta > p0 | data) > c (RBesT's decision1S, upper "
        "tail), its operating characteristics exact (oc1S)."
    )
    prior: str = Field(description='Name of the prior the trial is analysed with (not a "mvnormal" one).')
    compare: list[str] = Field(
        default=[], description="Names of further priors evaluated with the same n, p0 and c, after `prior`."
    )
    n: Annotated[StrictInt, Field(ge=1, le=MAX_N_ONE_SAMPLE)] = Field(
        description="Patients (units) at the final analysis."
    )
    p0: Number = Field(
        description="Null value of theta (for a Beta prior a rate in (0, 1)): success needs "
        "P(theta > p0 | data) > c; the type I error is the probability of success at p0."
    )
    c: Probability = Field(description="Decision threshold (0 < c < 1).")
    interim_n: Annotated[StrictInt, Field(ge=1)] | None = Field(
        default=None,
        description="Patients at one interim look (1 <= interim_n < n) that may stop the trial for futility; "
        "evaluated for Beta priors only.",
    )
    futility: Annotated[Number, Field(ge=0, lt=1)] | None = Field(
        default=None,
        description="Stop at the interim when the predictive probability of final success is below this "
        "(Lee & Liu 2008); default 0.1. Needs `interim_n`.",
    )
    design_prior: str | None = Field(
        default=None,
        description="Name of the prior of the true rate under which each prior's probability of success "
        "(assurance; RBesT's pos1S) is computed.",
    )
    grid: Annotated[StrictInt, Field(ge=2, le=10_001)] = Field(
        default=101, description="Points of the grid of true values on which the OC curve is computed."
    )
    grid_range: tuple[Number, Number] | None = Field(
        default=None,
        description="[low, high] of the grid for a Normal or Gamma prior, default its 0.1% and 99.9% quantiles; "
        "ignored for a Beta prior (the grid spans [0, 1]).",
    )
    report_rates: list[Number] = Field(
        default=[0.7, 0.8, 0.9],
        description="True values at which the probability of success is reported, besides p0 and power_rate "
        "(for a Beta prior rates in [0, 1]).",
    )
    power_rate: Number = Field(
        default=0.8,
        description="True value of the alternative (for a Beta prior a rate in (0, 1)): the power, the interim "
        "look's stopping probability and expected size, and the calibrated designs' power are reported there.",
    )
    sensitivity: Sensitivity | None = Field(
        default=None, description="The design over grids of null rates and robust weights (exact OC, oc1S)."
    )
    calibration: Calibration | None = Field(
        default=None,
        description="Thresholds c that give every Beta prior of the design the same type I error at p0 "
        "(Kopp-Schneider et al. 2020).",
    )

    @model_validator(mode="after")
    def _interim(self):
        if self.interim_n is not None and self.interim_n >= self.n:
            raise ValueError(f"interim_n = {self.interim_n} must be below n = {self.n}")
        if self.futility is not None and self.interim_n is None:
            raise ValueError("futility needs interim_n (the interim sample size)")
        return self


class TwoSample(_Strict):
    name: Name = Field(description="The design's name (unique, a safe file name).")
    type: Literal["two-sample"] = Field(
        description="Treatment against control: success when P(g(theta_t) - g(theta_c) > delta | data) > c "
        "(RBesT's decision2S, upper tail), its operating characteristics exact (oc2S)."
    )
    prior_treatment: str = Field(description="Name of the treatment arm's prior.")
    prior_control: str = Field(description="Name of the control arm's prior (often a robust MAP prior).")
    n_t: Annotated[StrictInt, Field(ge=1, le=MAX_N_PER_ARM)] = Field(description="Treatment-arm patients (units).")
    n_c: Annotated[StrictInt, Field(ge=1, le=MAX_N_PER_ARM)] = Field(description="Control-arm patients (units).")
    delta: Number = Field(
        default=0.0,
        description="Margin of the success criterion on the scale of `link` (in (-1, 1) for a Beta treatment "
        "prior and the identity link).",
    )
    c: Probability = Field(description="Decision threshold (0 < c < 1).")
    p_c: Number = Field(
        description="True control value at which the OC curve over treatment values is computed (a rate in "
        "[0, 1] when the treatment prior is Beta)."
    )
    link: Literal["identity", "logit", "log"] = Field(
        default="identity",
        description='The comparison g: "identity" (difference), "logit" (log odds ratio) or "log" (log '
        "relative risk or rate ratio).",
    )
    grid: Annotated[StrictInt, Field(ge=2, le=10_001)] = Field(
        default=101, description="Points of the grid of true treatment values on which the OC is computed."
    )
    grid_range: tuple[Number, Number] | None = Field(
        default=None,
        description="[low, high] of the grid for a Normal or Gamma treatment prior, default its 0.1% and 99.9% "
        "quantiles; ignored for a Beta prior (the grid spans [0, 1]).",
    )
    power_rate: Number | None = Field(
        default=None,
        description="True treatment value of the alternative (for a Beta treatment prior a rate in (0, 1)): the "
        "power, the probability of success with treatment value power_rate and control value `p_c`, is reported "
        "besides the OC curve. Absent: no power reported.",
    )


class AdaptiveTwoSample(_Strict):
    """Adaptive two-stage robust-MAP design (Schmidli et al. 2014; :mod:`analysis.priors.adaptive2S`)."""

    name: Name = Field(description="Name of the design (a safe file name).")
    type: Literal["adaptive-two-sample"] = Field(
        description="Adaptive two-stage robust-MAP design (Schmidli et al. 2014): the stage-2 control size "
        "follows the ESS of the control posterior at the interim; exact OC."
    )
    prior_treatment: str = Field(description="Name of the treatment arm's Beta prior.")
    prior_control: str = Field(description="Name of the control arm's Beta prior (usually a robust MAP prior).")
    n1: Annotated[StrictInt, Field(ge=1, le=MAX_N_PER_ARM, description="Stage-1 control patients.")]
    n_target: Annotated[
        StrictInt,
        Field(
            ge=1,
            le=MAX_N_PER_ARM,
            description="Target control information: stage 2 enrols max(n_target - round(ESS), n_min) "
            "controls, ESS that of the control posterior after stage 1.",
        ),
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
        default="morita",
        description="ESS of the interim posterior that sets stage 2 (RBesT's ess): morita (Morita et al. "
        "2008; RBesT's demo), elir (Neuenschwander et al. 2020) or moment.",
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


class IndexModels(_Strict):
    """Settings of the index-study models' sensitivity analysis (``python -m analysis sensitivity --spec FILE``)."""

    leave_out: str | None = Field(
        default=None,
        min_length=1,
        description="A group of the index study (as spelled in the `group` column of index_study.csv) that one more "
        "scenario leaves out, e.g. the group whose endpoint is weaker than the others'; the scenario is "
        "`no_<group in lower case>`, labelled '<group> left out'. Absent: no such scenario. A group the data lack "
        "is an error.",
    )


class Spec(_Strict):
    seed: Annotated[StrictInt, Field(ge=0, le=2**32 - 1)] = Field(
        default=SETTINGS.mcmc.seed,
        description="Seed of the MCMC fits of the MAP priors, recorded in priors.json (default the analysis' "
        "seed, analysis/settings.py); the designs are exact and draw no random numbers.",
    )
    prior: list[PriorSpec] = Field(min_length=1, description="The priors, one `[[prior]]` table each.")
    design: list[Design] = Field(
        default=[],
        description="The designs, one `[[design]]` table each; `type` chooses the kind. Absent: priors only.",
    )
    index_models: IndexModels | None = Field(
        default=None,
        description="Settings of the index-study models' sensitivity analysis, one `[index_models]` table; "
        "read by the sensitivity step, not by the priors step.",
    )

    @model_validator(mode="after")
    def _references(self):
        references(self.prior, self.design)
        return self
