"""Sentences generated per group: the report's text that follows the groups, endpoints and designs of the data.

Every function takes the variables of the report (``_variables.yml`` as a nested mapping, values as printed) and
the :class:`Facts` of the cohort, and returns Markdown that quotes each number as ``{{< var KEY >}}``: the text
loops over the groups of the data, names each endpoint as the study metadata names it (else as the index file
defines it), and words a comparison only from a computed statement (``claims.*``, :mod:`analysis.publish.claims`)
or from the printed numbers it shows.  No study or disease is written here; the study's own prose
(:mod:`analysis.publish.study`) replaces the generic text where it gives one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
TO = "\\ to\\ "  # an interval's 'to', held to its limits (as the template writes it)


def var(key: str) -> str:
    return f"{{{{< var {key} >}}}}"


def supp(label: str) -> str:
    """A link to a table or figure of the supplement, numbered by the render step."""
    return f"[{{{{< meta supplement-numbers.{label} >}}}}](supplement.html#{label})"


def join(items: list[str], word: str = "and", oxford: bool = False) -> str:
    """'a, b and c' ('a, b, and c' with ``oxford``, for items that hold commas or 'and' themselves)."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + ("," if oxford and len(items) > 2 else "") + f" {word} " + items[-1]


def count_word(n: int) -> str:
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def get(v: dict, key: str, default=None):
    """The value of a dotted key ('freq.n.response_all'), or ``default`` when there is none."""
    node = v
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _num(text) -> float | None:
    try:
        return float(str(text).replace("\\", "").replace("\u2212", "-"))
    except ValueError:
        return None


@dataclass(frozen=True)
class Facts:
    """What the sentences need besides the variables: the cohort's groups and the words for them."""

    groups: tuple[str, ...]
    endpoint: dict[str, str]  #: each group's response endpoint as a sentence names it
    rate: dict[str, str] = field(default_factory=dict)  #: the rate's noun ('remission rate'), default 'response rate'
    names: dict[str, str] = field(default_factory=dict)  #: a group's name in full, where the study gives one
    cite: str = ""  #: the index study's citation ('[@key]', 'doi:...'), '' when unpublished
    definitions: tuple[dict, ...] = ()  #: endpoint_definitions.csv's rows
    safety: tuple[tuple[str, str], ...] = ()  #: (endpoint, its definition) of the whole cohort's harms
    left_out: tuple[str, ...] = ()  #: groups a sensitivity scenario leaves out
    designs: dict[str, str] = field(default_factory=dict)  #: design name -> the group its prior is for
    basket: bool = False  #: the basket design's indications are groups of the data
    heterogeneity_p: str | None = None  #: the exact test of equal response rates, as printed (None: not testable)
    evidence: bool = True  #: the data hold published cohorts (else no meta-analysis, no evidence flow)
    external: bool = True  #: the sensitivity analysis added external cohorts as exchangeable units

    def rate_of(self, g: str) -> str:
        return self.rate.get(g, "response rate")

    def spelled(self, g: str) -> str:
        """The group at its first use: 'myasthenia gravis (MG)' when the study names it in full, else 'MG'."""
        return f"{self.names[g]} ({g})" if g in self.names else g

    @property
    def one_endpoint(self) -> bool:
        """Every group has the same response endpoint (the rate across all patients pools like with like)."""
        return len(set(self.endpoint.values())) <= 1


def conditioned(v: dict) -> bool:
    """The patients had a lymphodepletion (the data's value is not 'none ...')."""
    value = str(get(v, "context.lymphodepletion") or "").strip().lower()
    return bool(value) and not value.startswith("none")


# -- the abstract ---------------------------------------------------------------------------------------------


def _limits(g: str) -> str:
    return f"{var(f'freq.cp.response_{g}.lower')}{TO}{var(f'freq.cp.response_{g}.upper')}"


def abstract_results(v: dict, f: Facts, safety: str) -> str:
    """The results paragraph of the abstract: each group's count, interval and bound, relapse, harms, borrowing."""

    def count(g: str) -> str:
        return f"{var(f'freq.events.response_{g}')} of {var(f'freq.n.response_{g}')}"

    def limits(g: str) -> str:
        return f"{_limits(g)}; {var(f'freq.lower_bound.{g}')}"

    if f.one_endpoint:  # one endpoint for all: named once, then each group's count (the sarcoma strata)
        ep = next(iter(f.endpoint.values()), "the response endpoint")
        parts = [
            f"The response endpoint, {ep}, was reached by "
            + join([f"{count(g)} with {g} ({limits(g)})" for g in f.groups])
        ]
    else:
        g, *rest = f.groups
        ep = f.endpoint[g][:1].upper() + f.endpoint[g][1:]
        parts = [
            f"{ep} was reached by {count(g)} patients with {g} (95% CI {_limits(g)}; one-sided lower bound "
            f"{var(f'freq.lower_bound.{g}')})",
            *(f"{f.endpoint[g]} by {count(g)} with {g} ({limits(g)})" for g in rest),
        ]
    out = [join(parts) + "."]
    for g in get(v, "freq.relapse") or {}:
        out.append(f"Counting one {g} responder as relapsed lowers its bound to {var(f'freq.relapse.{g}.lower1s')}.")
    if safety:
        out.append(safety)
    focus = borrowing_focus(v, f)
    if focus:
        out.append(
            f"Borrowing across diseases {var(f'claims.borrowing_{focus}')} the {focus} posterior mean from "
            f"{var(f'bayes.independent.{focus}.estimate')}{TO}{var(f'bayes.hierarchical.{focus}.estimate')}, as the "
            "heterogeneity prior dictates."
        )
    return " ".join(out)


def safety_sentence(v: dict, f: Facts) -> str:
    """The harms in one sentence: each category with events, then the bound for those without."""
    seen = [(e, d) for e, d in f.safety if (get(v, f"freq.events.{e}_all") or 0) > 0]
    bits = [f"{d} occurred in {var(f'freq.who.{e}_all')}" for e, d in seen]
    text = ""
    if bits:
        text = join(bits)
        text = text[:1].upper() + text[1:]
    if (get(v, "freq.zero_events.k") or 0) > 0:
        zero = (
            f"for {var('freq.zero_events.names')} (no events) the one-sided 95% upper bound is "
            f"{var('freq.zero_events.upper1s')}"
        )
        text = f"{text}; {zero}" if text else zero[:1].upper() + zero[1:]
    return f"{text}." if text else ""


def borrowing_focus(v: dict, f: Facts) -> str | None:
    """The group whose posterior mean borrowing moves most (as printed), for the sentences about borrowing."""
    shift = {}
    for g in f.groups:
        a, b = _num(get(v, f"bayes.independent.{g}.estimate")), _num(get(v, f"bayes.hierarchical.{g}.estimate"))
        if a is not None and b is not None and get(v, f"claims.borrowing_{g}") is not None:
            shift[g] = abs(b - a)
    return max(shift, key=shift.get) if shift else None


# -- default prose, where the study gives none -----------------------------------------------------------------


def title(v: dict, f: Facts) -> str:
    groups = join([f.names.get(g, g) for g in f.groups])
    return f"{var('context.product')} in {groups}: what {var('freq.n.response_all')} patients can tell us"


def background(v: dict, f: Facts) -> str:
    return (
        f"At {var('context.centre')}, {var('freq.n.response_all')} patients with "
        f"{join([f.spelled(g) for g in f.groups], 'or', oxford=bool(f.names))} "
        f"received {var('context.product')}, and {var('freq.who.response_all')} reached the response endpoint of "
        "their disease. We asked how precisely so few patients determine response"
        + (" and harm rates." if f.safety else " rates.")
    )


def methods(v: dict, f: Facts) -> str:
    # meta-analyses are promised only when some rate was pooled (the two-group cohort's cohorts pool nothing)
    meta = " and meta-analyses of other published cohorts" if pooled_rates(v, f) else ""
    return (
        "Exact 95% confidence intervals and one-sided lower bounds per disease, and independent Bayesian models "
        f"without borrowing (primary); models borrowing across diseases{meta} as sensitivity analyses."
    )


def conclusions(v: dict, f: Facts) -> str:
    return (
        f"With {var('freq.n.response_all')} patients, the response rate of each disease remains imprecisely "
        "determined. Without a control group the data cannot establish the therapy's effect."
    )


def introduction(v: dict, f: Facts) -> str:
    n = join([var(f"freq.n.response_{g}") for g in f.groups])
    source = f" {f.cite}" if f.cite else " (unpublished)"
    return (
        f"At {var('context.centre')}, {var('freq.who.response_all')} with "
        f"{join([f.spelled(g) for g in f.groups], 'or', oxford=bool(f.names))} treated "
        f"with {var('context.product')}{source} reached the response endpoint of their disease. With {n} patients "
        "per disease, observed rates of "
        + join([f"{var(f'freq.events.response_{g}')} of {var(f'freq.n.response_{g}')}" for g in f.groups])
        + " say little about the true rates.\n\n"
        "Our objective was to quantify, for each disease separately, how low the true response rate could "
        "plausibly be"
        + (", and how often uncommon harms could occur," if f.safety else ",")
        + " given the reported counts; and to show how "
        f"much any borrowing of information across diseases{' or from other published cohorts' if f.evidence else ''} depends on "
        "assumptions rather than data."
    )


def _cite(doi: str) -> str:
    from analysis.publish.context import bib_key

    key = bib_key(doi)
    return f" [@{key}]" if key else (f" (doi:{doi})" if doi else "")


def patients(v: dict, f: Facts) -> str:
    source = f" {f.cite}" if f.cite else ""
    therapies = "therapy" if str(get(v, "context.refractory_min_therapies")) == "1" else "therapies"
    out = [
        f"All {var('context.patients.all')} patients were treated at {var('context.centre')} "
        f"({var('context.setting')}), and all were refractory to at least "
        f"{var('context.refractory_min_therapies')} conventional {therapies}{source} (@tbl-characteristics). "
        f"Each received {var('context.product')} at a dose of {var('context.dose')}"
        + (
            f", after lymphodepletion with {var('context.lymphodepletion')}, so the effect of the conditioning "
            "cannot be separated from that of the product. "
            if conditioned(v)
            else ". "
        )
        + f"The median follow-up was {var('context.follow_up.median')} "
        f"{var('context.follow_up.unit')} (range {var('context.follow_up.min')}{TO}{var('context.follow_up.max')})."
    ]
    ends = []
    rows = [row for row in f.definitions if row["disease"] in f.groups]
    if f.one_endpoint and rows:  # one endpoint: defined once, not once per group
        row = rows[0]
        out.append(
            f"**Endpoints.** Every group has the same response endpoint ({supp('tbl-endpoints')}): "
            f"{row['index_study_use']} on the {row['instrument']} ({row['definition']}){_cite(row.get('doi', ''))}."
        )
        rows = []
    for row in rows:
        g = row["disease"]
        ends.append(
            f"In {g} it is {row['index_study_use']} on the {row['instrument']} ({row['definition']})"
            f"{_cite(row.get('doi', ''))}."
        )
    if ends:
        out.append(
            f"**Endpoints.** The response endpoint differs by disease ({supp('tbl-endpoints')}). " + " ".join(ends)
        )
    stated = [g for g in f.groups if str(get(v, f"context.timepoint.{g}") or "not stated") != "not stated"]
    unstated = [g for g in f.groups if g not in stated]
    times = {str(get(v, f"context.timepoint.{g}")) for g in stated}
    if len(stated) > 1 and len(times) == 1:  # one time point for all: said once (the sarcoma strata)
        who = join(stated) if unstated else "every group"
        when = [f"In {who} the endpoint was assessed {var(f'context.timepoint.{stated[0]}')}."]
    else:
        when = [f"In {g} the endpoint was assessed {var(f'context.timepoint.{g}')}." for g in stated]
    if unstated:
        when.append(f"For {join(unstated)} the sources do not state when the endpoint was assessed.")
    # a time point the sources leave open: a response is read as reached at some time during follow-up
    loose = " We read every response as an endpoint reached at some time during follow-up." if unstated else ""
    out[-1] += " " + " ".join(when) + loose
    return "\n\n".join(out)


def primary_methods(v: dict, f: Facts) -> str:
    """The primary analysis: exact intervals and bounds per group, the upper bound of a harm without events (only
    when the data hold harms), and the independent Bayesian model."""
    harms = (
        " For every adverse\nevent category with no event we report the exact one-sided 95% upper bound."
        if f.safety
        else ""
    )
    return (
        "**Primary analysis: each disease on its own.** For each disease we computed the exact\n"
        "Clopper-Pearson 95% confidence interval [@clopper1934] and the exact one-sided 95% lower confidence\n"
        "bound, below which every benchmark response rate is rejected by the one-sided exact binomial test;\n"
        "Wilson [@wilson1927] and Jeffreys [@brown2001] intervals are reported beside them (statsmodels\n"
        "[@seabold2010]). No published source gives the response rate of such patients on further standard\n"
        f"treatment, so we report bounds instead of tests against an assumed benchmark.{harms} The Bayesian primary\n"
        f"analysis gives each disease an independent {var('bayes.priors.independent.p')} prior (exact\n"
        "conjugate posterior, no borrowing). {{< var report.all_patients >}}"
    )


EVIDENCE_HEADING = "## Evidence base {#sec-evidence}\n\n"
META_HEADING = "## Other published cohorts\n\n"
META_METHODS = """**Other published cohorts.** Cohorts were pooled only within one disease and one endpoint class
with an exact binomial-normal random-effects model fitted by maximum likelihood with
profile-likelihood intervals [@stijnen2010]; DerSimonian-Laird pooling [@dersimonian1986] is a
sensitivity analysis. Further analyses leave out weak or non-standard endpoints and products other
than autologous CD19 CAR T cells."""


def evidence(v: dict, f: Facts) -> str:
    # '0 cohorts gave no readable responder counts' said nothing: the clause only when some did
    unread = (
        f"{var('evidence.no_counts')} cohorts gave no readable responder counts and "
        if str(get(v, "evidence.no_counts") or 0) != "0"
        else ""
    )
    return (
        "No systematic search was run, so this is not a systematic review. Other published cohorts treated for "
        "the same diseases were collected with the quoted sentence from which each count was read "
        "(`published_cohorts.csv`). A cohort was eligible if it reported the number treated and the number "
        f"reaching a stated response endpoint in one of the diseases. Of {var('evidence.identified')} records "
        f"identified, {unread}{var('evidence.included_reports')} reports ({var('evidence.included_rows')} disease "
        f"rows) {'entered the primary meta-analysis' if pooled_rates(v, f) else 'were read'} ({supp('tbl-flow')}, a PRISMA-style flow generated from the data "
        "files)."
    )


def safety_results(v: dict, f: Facts) -> str:
    # a cohort whose data hold no adverse-event rows has no safety table to refer to (the sarcoma strata)
    out = "@tbl-safety lists the adverse events." if f.safety else "The data hold no counts of adverse events."
    sentence = safety_sentence(v, f)
    if sentence:
        out += " " + sentence
    if (get(v, "freq.zero_events.k") or 0) > 0:
        out += " The data are compatible with such events in up to that share of patients."
    return out


def pooled_rates(v: dict, f: Facts) -> list[tuple[str, str]]:
    """(group, endpoint class) of every primary meta-analysis that pooled more than one cohort."""
    return [
        (g, cls)
        for g in f.groups
        for cls, m in (get(v, f"freq.meta.primary.{g}") or {}).items()
        if isinstance(m, dict) and (m.get("k") or 0) > 1 and m.get("dl")
    ]


def meta_results(v: dict, f: Facts) -> str:
    pooled = []
    for g, cls in pooled_rates(v, f):
        key = f"freq.meta.primary.{g}.{cls}"
        pooled.append(
            f"For {g} ({cls}), the pooled rate of {var(key + '.k')} cohorts is {var(key + '.estimate')} "
            f"(95% CI {var(key + '.lower')}{TO}{var(key + '.upper')}), and {var(key + '.dl.estimate')} by "
            "DerSimonian-Laird."
        )
    if not pooled:
        return (
            "No disease has more than one published cohort with the same endpoint class, so no rate was pooled "
            f"({supp('tbl-meta')} lists each cohort)."
        )
    return " ".join(pooled) + f" {supp('tbl-meta')} lists every cohort."


def discussion(v: dict, f: Facts) -> str:
    bounds = join([f"{var(f'freq.lower_bound.{g}')} for {g}" for g in f.groups])
    if f.one_endpoint:
        out = (
            f"Taken one disease at a time, the counts leave response rates as low as {bounds} compatible with the "
            "data. Models that borrow across diseases, which share one endpoint, narrow the credible intervals only by "
            "assuming that the diseases' response rates are exchangeable, and how much they borrow is set by the "
            "prior, not by the data."
        )
    else:
        out = (
            f"Taken one disease at a time, as their different endpoints require, the counts leave response rates as "
            f"low as {bounds} compatible with the data. Models that borrow across diseases narrow these intervals "
            "only by assuming that the diseases' endpoints are exchangeable, and how much they borrow is set by the "
            "prior, not by the data."
        )
    if (get(v, "freq.zero_events.k") or 0) > 0:
        out += (
            f" The safety data leave rates of {var('freq.zero_events.names')} of up to "
            f"{var('freq.zero_events.upper1s')} compatible with observing none."
        )
    return out


def limitations(v: dict, f: Facts) -> str:
    endpoints = "All diseases share one endpoint" if f.one_endpoint else "The endpoints differ between diseases"
    conditioning = (
        f"Every patient received {var('context.lymphodepletion')}, so the effect of the conditioning cannot be "
        "separated from that of the product. "
        if conditioned(v)
        else ""
    )
    return (
        "The cohort is a single-arm series without a control group, so a response rate can only be compared "
        f"with an assumed benchmark. {endpoints} "
        f"({supp('tbl-endpoints')}), and follow-up ranged from {var('context.follow_up.min')}{TO}"
        f"{var('context.follow_up.max')} {var('context.follow_up.unit')}, so the rates say nothing about how long "
        f"responses last. {conditioning}"
        + (
            "The external cohorts were not found by a systematic search, and early successful series are more "
            "likely to be published."
            if f.evidence
            else "No other published cohort informs the estimates: each rests on this cohort alone."
        )
        + ("" if f.safety else " The data hold no adverse events, so the report says nothing about harms.")
    )


def conclusion(v: dict, f: Facts) -> str:
    bounds = join([f"{var(f'freq.lower_bound.{g}')} for {g}" for g in f.groups])
    return (
        f"In this cohort of {var('freq.n.response_all')} patients, the exact one-sided 95% lower confidence "
        f"bounds of the response rate are {bounds}. Controlled trials with prespecified endpoints and follow-up "
        "per disease are needed before these rates can be taken as a property of the therapy."
    )


# -- generated for every study ---------------------------------------------------------------------------------


def response(v: dict, f: Facts) -> str:
    """The results per group: counts, exact interval and bound, and the posterior without borrowing."""
    g0, rest = f.groups[0], f.groups[1:]
    out = [
        f"@tbl-estimates and @fig-bayes show the response rates. In {g0}, {var(f'freq.events.response_{g0}')} of "
        f"{var(f'freq.n.response_{g0}')} patients reached {f.endpoint[g0]} (exact 95% CI {_limits(g0)}); the "
        f"one-sided 95% lower bound, {var(f'freq.lower_bound.{g0}')}, is the lowest response rate the data do "
        "not exclude."
    ]
    if rest:
        bits = [
            f"{f.endpoint[g]} in {g} ({var(f'freq.events.response_{g}')}/{var(f'freq.n.response_{g}')})"
            + (" the bound is " if i == 0 else " ")
            + var(f"freq.lower_bound.{g}")
            for i, g in enumerate(rest)
        ]
        out.append("For " + (bits[0] if len(bits) == 1 else ", for ".join(bits[:-1]) + ", and for " + bits[-1]) + ".")
    post = [
        f"{var(f'bayes.independent.{g}.estimate')} for {g} ({var(f'bayes.independent.{g}.lower')}{TO}"
        f"{var(f'bayes.independent.{g}.upper')})"
        for g in f.groups
        if get(v, f"bayes.independent.{g}") is not None
    ]
    if post:
        out.append(
            f"Without borrowing, the posterior mean response probability (95% credible interval) is {join(post)}; "
            f"{supp('tbl-exceedance')} "
            "gives the probability that each rate exceeds a range of benchmarks."
        )
    if get(v, "freq.who.drug_free_all") is not None:
        out.append(f"Immunosuppressive therapy was stopped in {var('freq.who.drug_free_all')}.")
    out.append(
        f"Across all patients the exact 95% CI is {var('freq.cp.response_all.lower')}{TO}"
        f"{var('freq.cp.response_all.upper')}"
        + (
            ", over the one endpoint all diseases share."
            if f.one_endpoint
            else ", a descriptive figure that adds different endpoints."
        )
    )
    if f.heterogeneity_p is not None:
        out.append(
            "An exact test of equal response rates across diseases, with almost no power at these sizes, gives "
            f"p = {var('report.heterogeneity_p')}; it cannot show that the rates are equal."
        )
    elif get(v, "freq.test.heterogeneity_note") is not None:  # why it could not be computed
        # 'not testable: every patient responded, ...' is said of the hypothesis, not of the test
        what = "hypothesis" if str(get(v, "freq.test.heterogeneity_note")).startswith("not testable") else "exact test"
        out.append(f"The {what} of equal response rates across diseases is {var('freq.test.heterogeneity_note')}.")
    return " ".join(out)


def relapse(v: dict, f: Facts) -> str:
    """The relapse sensitivity analysis, where the results hold one (empty otherwise)."""
    out = []
    for g in get(v, "freq.relapse") or {}:
        k = f"freq.relapse.{g}"
        out.append(
            f"**Relapse.** If one responder with {g} relapsed, {var(k + '.events')} of {var(k + '.n')} patients "
            f"with {g} had a lasting response: exact 95% CI {var(k + '.lower')}{TO}{var(k + '.upper')}, one-sided "
            f"lower bound {var(k + '.lower1s')} instead of {var(k + '.observed_lower1s')}."
        )
    return "\n\n".join(out)
