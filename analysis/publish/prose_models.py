"""Generated sentences about the models, priors and designs: borrowing across the groups of the data, the MAP
priors and designs of the priors specification (by their names in the spec, never typed), the basket trial.

Like :mod:`analysis.publish.prose`, each function returns Markdown quoting its numbers as ``{{< var KEY >}}``,
or an empty string where the results hold no such analysis (a cohort without a design has no design paragraph).
"""

from __future__ import annotations

from analysis.publish.claims import CHANGE_WORDS
from analysis.publish.prose import TO, Facts, count_word, get, join, supp, var

#: the basket design's borrowing methods inside a sentence, in the order of the design's own list
BASKET_METHODS = ("hierarchical", "exnex", "jsd", "mem")


def _capital(text: str) -> str:
    """A sentence that opens with an endpoint's name opens with a capital ('Relapse-free survival ...')."""
    return text[:1].upper() + text[1:]


def exchangeability(v: dict, f: Facts) -> str:
    """Why borrowing is a sensitivity analysis: the endpoints the groups use (no numbers)."""
    names = list(dict.fromkeys(f.endpoint[g] for g in f.groups))
    if len(names) > 1:
        return f"{join(names)} have no clinical basis for exchangeability"
    return "Exchangeable response rates across diseases are an assumption, not a finding"


def sensitivity_methods(v: dict, f: Facts, study_text: str = "") -> str:
    """The paragraph on the models that borrow across diseases (its 'without' clause from the scenarios run);
    ``study_text`` (the study's ``sensitivity_methods``) closes it, e.g. why a cohort's data defeat NUTS."""
    extra = f" {study_text.strip()}" if study_text.strip() else ""
    left = f", without {join(list(f.left_out), 'or')}" if f.left_out else ""
    return (
        f"**Sensitivity analyses: borrowing across diseases.** {_capital(exchangeability(v, f))}, so models that borrow "
        "across diseases are sensitivity analyses: complete pooling; a hierarchical model in which the "
        "disease-specific logits are normal with mean mu and standard deviation tau [@neuenschwander2010]; "
        "and EXNEX, in which each disease is exchangeable with the others with prior probability "
        f"{var('bayes.diag.exnex_weight')} and otherwise stands alone with a {var('bayes.priors.exnex.nex')} logit "
        "[@neuenschwander2016] (fitted in PyMC [@abrilpla2023]; "
        f"mu ~ {var('bayes.priors.hierarchical.mu')}, tau ~ {var('bayes.priors.hierarchical.tau')}). "
        "With $y_d$ responders among $n_d$ patients of disease $d$, $y_d \\sim \\mathrm{Binomial}(n_d, p_d)$ "
        "and $\\operatorname{logit} p_d = \\mu + \\tau z_d$, $z_d \\sim \\mathrm{Normal}(0, 1)$. The priors' "
        f"implications on the probability scale are shown in {supp('fig-prior-predictive')}. "
        f"The hierarchical models were sampled with NUTS ({var('bayes.diag.sampler')} [@phan2019]; "
        f"{var('bayes.diag.chains')} chains of {var('bayes.diag.draws')} draws after "
        f"{var('bayes.diag.tune')} warm-up iterations, seed {var('bayes.diag.seed')}); a fit fails the "
        "build if any R-hat [@vehtari2021] exceeds the gate, any effective sample size is below it "
        "(ArviZ [@kumar2019]) or any transition diverges. The prior sensitivity analysis refits the models "
        "with lighter and heavier tails for tau (half-normal priors of three scales, and half-Cauchy priors "
        "of two scales computed by numerical integration), other priors for mu, other "
        f"EXNEX weights and a unimodal non-exchangeable prior{left}"
        + (", and with the external cohorts as further exchangeable units" if f.external else "")
        + ". We do not report a predictive rate for "
        'a "new disease": it has no endpoint, and under EXNEX it is by construction half the U-shaped '
        f"non-exchangeable prior.{extra}"
    )


def priors_methods(v: dict, f: Facts, study_text: str = "") -> str:
    """The MAP priors and the designs of the spec (empty without a MAP prior)."""
    if get(v, "priors.map.primary") is None:
        return ""
    extra = f" {study_text.strip()}" if study_text.strip() else ""
    out = (
        "**Priors for a follow-up trial.** For each disease we derived a meta-analytic-predictive (MAP) "
        "prior [@neuenschwander2010; @schmidli2014] from the published cohorts, one per overlap group, "
        f"with mu ~ {var('priors.map.primary.mu_prior')} and tau ~ {var('priors.map.primary.tau_prior')} as in "
        f"RBesT [@weber2021rbest].{extra} The MAP draws were "
        f"approximated by Beta mixtures of up to {var('priors.map.primary.em.k_max')} components fitted by "
        "expectation-maximisation from several data-driven starting values, the number of components chosen "
        f"by the lowest -2 log-likelihood plus {var('priors.map.primary.em.penalty')} per parameter (RBesT's "
        "penalty), with both parameters of every component at least one as in RBesT, and robustified with a "
        f"{var('priors.map.primary.robust_component')} component of weight "
        f"{var('priors.map.primary.robust_weight')}. A fitted mixture can itself contain a near-uniform "
        "component (for the lower tail of the MAP distribution), so we also report the effective vague weight: "
        f"the total weight of components with a + b of at most {var('priors.vague_max_ab')}. We report "
        "effective sample sizes by moment matching (the Beta with the prior's mean and variance), by the "
        "method of Morita and colleagues [@morita2008] at the prior mode with RBesT's flattening constant "
        f"s = {var('priors.morita_s')}, and by the expected local information ratio (ELIR) "
        "[@neuenschwander2020], each for the fitted mixture and for the exact MAP distribution computed by "
        "quadrature."
    )
    for d, g in f.designs.items():
        k = f"priors.design.{d}"
        interim = (
            f", with an interim futility analysis after {var(k + '.interim_n')} patients by predictive "
            "probability [@lee2008]"
            if str(get(v, k + ".interim_n") or "").strip()
            else ""
        )
        out += (
            f" As a worked design we took a single-arm {g} trial of {var(k + '.n')} patients that succeeds when "
            f"the posterior probability that the {f.rate_of(g)} exceeds {var(k + '.p0')} is above {var(k + '.c')}"
            f"{interim}."
        )
    if f.designs:
        out += (
            " The null rate is an assumption, not a published rate, so we show the design over a range of null "
            "rates and robust weights, and we compare borrowing with no borrowing at the same type I error by "
            "recalibrating the threshold [@koppschneider2020]. All operating characteristics were computed "
            "exactly by enumerating the binomial outcomes."
        )
    return out


def priors_results(v: dict, f: Facts) -> str:
    """The MAP prior and each design's boundary, where the study writes no discussion of its own."""
    k = "priors.map.primary"
    out = [
        f"{supp('tbl-priors')} and {supp('fig-map')} show the MAP priors. The primary prior, {var(k + '.label')}, "
        f"rests on {var(k + '.evidence')} ({var(k + '.responders')} responding). Its robust version has mean {var(k + '.mean')} (95% interval "
        f"{var(k + '.lower')}{TO}{var(k + '.upper')}) and is worth {var(k + '.ess_moment')} patients by moment "
        f"matching, {var(k + '.ess_morita')} by the Morita method and {var(k + '.ess_elir')} by ELIR."
    ]
    for d in f.designs:
        p = f"priors.design.{d}.priors"
        if get(v, p + ".primary.boundary") is None:
            continue
        s = (
            f"In the single-arm design (@tbl-design), the primary prior needs {var(p + '.primary.boundary')} "
            f"responses of {var(f'priors.design.{d}.n')} for success (type I error {var(p + '.primary.type1')})"
        )
        if get(v, p + ".vague.boundary") is not None:
            same = str(get(v, p + ".vague.boundary")) == str(get(v, p + ".primary.boundary"))
            s += (  # 'the vague prior 14 (type I error 0.058)' after the same numbers read as a list
                f", as does the vague prior ({var(p + '.vague.boundary')})"
                if same
                else f", the vague prior {var(p + '.vague.boundary')} (type I error {var(p + '.vague.type1')})"
            )
        out.append(s + ".")
    return " ".join(out)


def _moved(v: dict, i: int, g: str, extra: str = "") -> str:
    """What borrowing does to ``g``'s posterior mean, from the independent model's to the hierarchical model's
    ('raises it for MG from 0.83 to 0.85'); the ``i``-th clause of a list says 'it'."""
    verb = get(v, f"claims.borrowing_{g}")
    hier = var(f"bayes.hierarchical.{g}.estimate")
    if verb == CHANGE_WORDS["equal"]:
        return f"{var(f'claims.borrowing_{g}')} the posterior mean for {g}, at {hier}{extra}"
    subject = "the posterior mean" if i == 0 else "it"
    return (
        f"{var(f'claims.borrowing_{g}')} {subject} for {g} from {var(f'bayes.independent.{g}.estimate')}{TO}"
        f"{hier}{extra}"
    )


def borrowing(v: dict, f: Facts, focus: str | None) -> str:
    """What borrowing does to each group's posterior mean, how little the data decide it, and the checks."""
    out = []
    if focus:
        others = [g for g in f.groups if g != focus and get(v, f"claims.borrowing_{g}") is not None]
        h = f"bayes.hierarchical.{focus}"
        exnex = (
            f"; EXNEX mean {var(f'bayes.exnex.{focus}.estimate')}"
            if get(v, f"bayes.exnex.{focus}.estimate") is not None
            else ""
        )
        interval = f" (credible interval {var(h + '.lower')}{TO}{var(h + '.upper')}{exnex})"
        bits = [_moved(v, i, g) for i, g in enumerate(others)]
        bits.append(_moved(v, len(bits), focus, interval) + f" ({supp('tbl-bayes')})")
        out.append(
            "Under the hierarchical model, borrowing "
            + (bits[0] if len(bits) == 1 else ", ".join(bits[:-1]) + ", and " + bits[-1])
            + "."
        )
        if get(v, "bayes.hyper.hierarchical.tau.sd_ratio") is not None:
            exch = (
                f", and under EXNEX the posterior probability of exchangeability is "
                f"{var(f'bayes.exch.exnex.{focus}.posterior')} for {focus} against a prior "
                f"{var(f'bayes.exch.exnex.{focus}.prior')}"
                if get(v, f"bayes.exch.exnex.{focus}") is not None
                else ""
            )
            out.append(
                "The data do not decide how much to borrow: the posterior standard deviation of tau is "
                f"{var('bayes.hyper.hierarchical.tau.sd_ratio')} times the prior's ({supp('tbl-hyperparameters')})"
                f"{exch}."
            )
        if get(v, f"claims.sens_{focus}") is not None:
            rest = [g for g in f.groups if g != focus and get(v, f"claims.sens_{g}") is not None]
            tail = ", " + join([f"for {g} {var(f'claims.sens_{g}_bare')}" for g in rest]) if rest else ""
            out.append(
                f"Over {var('bayes.sens.n_scenarios')} {var('report.scenario_kinds')} ({supp('tbl-sensitivity')}, "
                f"{supp('fig-sensitivity')}), the posterior mean for {focus} {var(f'claims.sens_{focus}')} (lower "
                f"limit {var(f'bayes.sens.{focus}.min_lower')}{TO}{var(f'bayes.sens.{focus}.max_lower')}){tail}."
            )
    out.append(
        f"Every MCMC fit passed the convergence gates: the largest R-hat was {var('bayes.diag.max_rhat')}, with "
        f"{var('bayes.diag.divergences')} divergent transitions ({supp('tbl-diagnostics')})."
    )
    if get(v, "claims.crosscheck_gate") is not None:
        same = get(v, "bayes.crosscheck.max_z") == get(v, "bayes.crosscheck.max_diff_z")  # one row: said once
        z = (
            " Monte Carlo standard errors, also the largest standardised difference),"
            if same
            else f" Monte Carlo standard errors), and the largest standardised difference "
            f"{var('bayes.crosscheck.max_z')} Monte Carlo standard errors,"
        )
        out.append(
            "Against a deterministic computation of the same posteriors by numerical integration, the largest of "
            f"{var('bayes.crosscheck.n')} differences was {var('bayes.crosscheck.max_diff')} "
            f"({var('bayes.crosscheck.max_diff_z')}{z} {var('claims.crosscheck_gate')} the gate above which the "
            "build fails."
        )
    return " ".join(out)


def _basket_groups(v: dict, f: Facts) -> list[str]:
    return [g for g in f.groups if get(v, f"basket.indications.{g}") is not None]


def basket_methods(v: dict, f: Facts) -> str:
    """The basket trial's design, its groups from the design file (empty when it is not this cohort's)."""
    if not f.basket:
        return ""
    gs = _basket_groups(v, f)
    g0 = gs[0]
    ind = "basket.indications"
    methods = [m for m in BASKET_METHODS if get(v, f"basket.priors.{m}") is not None]
    names = {
        "hierarchical": f"the hierarchical model ({var('basket.priors.hierarchical')})",
        "exnex": f"EXNEX ({var('basket.priors.exnex')})",
        "jsd": "the weights of Fujikawa and colleagues, which borrow in proportion to the similarity of the "
        f"diseases' posteriors by Jensen-Shannon divergence ({var('basket.priors.jsd')}) [@fujikawa2020]",
        "mem": "the multisource exchangeability model, which averages each disease's posterior over which of the "
        f"other diseases share its response ({var('basket.priors.mem')}) [@kaizer2018; @hobbs2018]",
    }
    nulls = join([var(f"{ind}.{g}.p0") + f" for {g}" for g in gs])
    ways = [f"none (independent Beta priors: {var('basket.priors.independent')})", *(names[m] for m in methods)]
    return (
        "**A follow-up basket trial.** Follow-up studies enrol several diseases under one protocol. We "
        f"designed a basket trial of {var(f'{ind}.{g0}.n')} patients per disease that declares a "
        'disease worth pursuing ("go") when the posterior probability that its response rate exceeds its '
        f"null rate is above a threshold (null rates {nulls}, "
        f"target rates {join([var(f'{ind}.{g}.target') for g in gs])}; all assumptions for planning, stated in "
        f"`config/basket.toml`). After {var(f'basket.interim_n.{g0}')} patients per disease, one interim look "
        "stops a disease for futility when the predictive probability of a final go is below "
        f"{var(f'basket.futility.{g0}')}; the look uses each method's borrowing posterior of all diseases' "
        "data, and a stopped disease's patients still count in the final analysis [@fujikawa2020]. We compared "
        f"{count_word(len(ways))} ways of borrowing ({supp('tbl-basket-methods')}): {join(ways, oxford=True)}. Because the null "
        f"rates differ, all {count_word(len(methods))} "
        "borrowing methods borrow on the scale of each disease's gain over its own null, "
        "logit(p) - logit(p0), so that a disease at its null is exchangeable with another at its null "
        "[@berry2013; @neuenschwander2016]: the hierarchical and EXNEX models model that gain, the "
        "multisource model pools the diseases it judges exchangeable as sharing it, and the Jensen-Shannon "
        "weights compare and borrow the diseases' posteriors of it. Methods were compared at equal error: for "
        "each method we calibrated one threshold per disease, the smallest whose type I error under the global "
        f"null (every disease at its null rate) is at most {var('basket.alpha')} [@koppschneider2020]; outcomes "
        "are discrete, so the achieved error is at most, not exactly, the target. The posteriors of the "
        "hierarchical and EXNEX models were computed by a deterministic engine that integrates over mu and tau "
        "numerically and tabulates each disease's likelihood for every possible count, so that every "
        "operating characteristic, calibration included, was exact, by enumerating all joint outcomes of the "
        f"trial, under {var('basket.n_scenarios')} scenarios of true rates."
    )


def basket_results(v: dict, f: Facts) -> str:
    """The basket trial's results section with its figure (empty when the design is not this cohort's)."""
    if not f.basket:
        return ""
    gs = _basket_groups(v, f)
    same: dict[str, list[str]] = {}
    for g in gs:  # groups with the same words share one clause ('0.982 ... for SLE and IIM')
        same.setdefault(str(get(v, f"basket.say.all_active.{g}")), []).append(g)
    clauses = [f"{var(f'basket.say.all_active.{g[0]}')} for {join(g)}" for g in same.values()]
    active = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + ", and " + clauses[-1]
    lone = f"; averaged over the diseases, {var('basket.say.lone_avg')}" if get(v, "basket.say.lone_avg") else ""
    return (
        "## A follow-up basket trial\n\n"
        f"Before calibration the methods cannot be read side by side: {var('basket.say.nominal_range')}, "
        f"and {var('basket.say.nominal_fwer')} ({supp('tbl-basket-nominal')}). After calibration "
        f"({supp('tbl-basket-calibration')}), {var('basket.say.achieved')}; {var('basket.say.calibrated_fwer')}. "
        f"At this equal error, when all {count_word(len(gs))} diseases respond at their target rates, the largest "
        f"probability of a go is {active} (@fig-basket, {supp('tbl-basket')}). Borrowing has a price for a "
        f"disease that responds alone while the others do not: {var('basket.say.lone_cost')} "
        f"({supp('tbl-basket-lone')}){lone}. The calibration holds the type "
        f"I error under the global null only: {var('basket.say.partial')}, so a protocol that fears a "
        "non-responding disease among responding ones would calibrate on that scenario instead (the design "
        f'file\'s `control = "partial"`). The interim look saves patients: {var("basket.say.interim")}.\n\n'
        "![Probability of a go decision per disease in the follow-up basket trial at calibrated thresholds, "
        "by scenario of true rates and by borrowing method; crosses mark diseases whose true rate is the null "
        "rate (type I errors), dots diseases at their target rate (power); the dashed line is the target type I "
        'error.](figures/basket.png){#fig-basket fig-alt="One panel per disease, one row per scenario, with the '
        "probability of a go decision under each borrowing method at thresholds calibrated to equal type I "
        'error under the global null; a dashed line marks the target error."}'
    )
