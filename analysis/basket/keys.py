"""What each key of a basket design file means, for the reference pages (``make docs``) and ``--help``.

One entry per key the reader (:mod:`analysis.basket.spec`) allows; a borrowing method's own keys are its
class's ``key_docs`` (:mod:`analysis.basket.methods`), so a new method documents its keys in its own file.
``tests/review/test_reference.py`` fails when a key the reader allows has no description here.
"""

from __future__ import annotations

#: (table as the reference names it) -> key -> description
DESCRIPTIONS: dict[str, dict[str, str]] = {
    "(top level)": {
        "design": "Settings of the whole design: name, seed, how the operating characteristics are computed, "
        "the interim look's rules.",
        "indication": "One table per indication (disease, stratum): its sample size, null and target rates and "
        "decision threshold.",
        "method": "One table per borrowing method to compare, `[method.NAME]`; `type` chooses the method.",
        "scenarios": "Scenarios of true rates generated from the indications' null and target rates.",
        "scenario": "Further scenarios of true rates, one table each.",
        "calibration": "Decision thresholds calibrated to a target type I error (Kopp-Schneider et al. 2020); "
        "absent: the nominal thresholds `c` only.",
        "search": "Search for the smallest sample size meeting a type I error and a power target "
        "(`python -m analysis design FILE --search`).",
    },
    "[design]": {
        "name": "The design's name, used in file names and titles.",
        "seed": "Seed of every simulation (each chunk's seed derives from it, the method, scenario and chunk), "
        "recorded in design.json.",
        "oc": '"exact" enumerates every joint outcome, "simulate" draws trials, "auto" (default) enumerates '
        "when there are at most `max_outcomes` joint outcomes.",
        "n_sim": "Simulated trials per method and scenario when simulating (at least 100).",
        "chunk": "Simulated trials per task; results do not depend on it or on the number of workers.",
        "max_outcomes": 'Largest number of joint outcomes that "auto" still enumerates exactly.',
        "interim_prior": "[a, b]: the Beta prior behind the interim's predictive probability of a final go "
        "(the critical count of the final analysis without borrowing).",
        "interim": '"own": each indication\'s interim look uses its own data; "borrow": the method\'s posterior '
        "given every indication's stage-1 data (one look at all indications).",
        "interim_rule": '"predictive" (default): stop for futility when the predictive probability of a final go '
        'is below `futility`; "posterior": when P(p > p0 | stage-1 data) is. With interim = "borrow" only.',
    },
    "[[indication]]": {
        "name": "The indication's name (unique, as shown in tables).",
        "n": "Patients at the final analysis.",
        "p0": "Null response rate: a rate not worth pursuing (0 < p0 < target < 1).",
        "target": "Response rate worth pursuing, the power scenarios' rate.",
        "c": "Nominal decision threshold: a go when P(p > p0 | data) > c.",
        "min_mean": "Optional: a go also needs a posterior mean of at least this.",
        "interim_n": "Optional: patients at the one interim look (1 <= interim_n < n).",
        "futility": "Optional: stop at the interim for futility when the interim probability (see "
        "`interim_rule`) is below this.",
        "efficacy": "Optional: stop at the interim with a go when the interim probability exceeds this.",
    },
    "[scenarios]": {
        "generate": 'Any of "null" (every indication at p0: the global null), "target" (every indication at its '
        'target) and "single" (each indication alone at its target, the others at p0).',
    },
    "[[scenario]]": {
        "name": "The scenario's name (unique).",
        "p": "True response rates, one per indication in the order of the [[indication]] tables.",
    },
    "[calibration]": {
        "alpha": "Target type I error (0 < alpha < 1); the achieved error is at most alpha (outcomes are discrete).",
        "control": '"each": each indication\'s type I error under the global null; "partial": its largest '
        'over the partial nulls; "fwer": the family-wise error under the global null (one common threshold).',
        "thresholds": '"per-indication" (default) or "common": one threshold for all indications.',
        "n_sim": "Simulated trials per null scenario when the design is simulated, not enumerated.",
    },
    "[search]": {
        "n_min": "Smallest sample size per indication tried.",
        "n_max": "Largest sample size per indication tried (at most 1000).",
        "step": "Step between the sample sizes tried (default 1).",
        "power": "Target power (default 0.8) in each power scenario.",
        "alpha": "Target type I error (default the calibration's alpha).",
        "power_scenarios": "Names of the scenarios whose power must meet the target (default every scenario "
        "with all indications at target).",
    },
}

#: keys that every ``[method.NAME]`` table has
METHOD_COMMON = {
    "type": "The borrowing method (a registered kind; default NAME when NAME is one).",
}
#: the ``scale`` key, shared by the methods that can borrow on the null's scale
SCALE = (
    '"null": borrow each indication\'s gain over its null, logit(p) - logit(p0) (default when the null rates '
    'differ); "probability": borrow the rate itself (default when they are equal).'
)


def describe(table: str, key: str, method=None) -> str | None:
    """The description of ``key`` in ``table`` (a method's table when ``method`` is its class), or None."""
    if method is not None:
        return {**METHOD_COMMON, **getattr(method, "key_docs", {})}.get(key)
    return DESCRIPTIONS.get(table, {}).get(key)
