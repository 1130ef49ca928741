"""The evidence base: a PRISMA-style flow of the records behind the analysis, generated from the data files.

No systematic search was run: the records are those collected in the project's evidence file from abstracts,
journal pages and news summaries, without recorded databases, search terms or dates.  The flow therefore
counts what the data files hold and how the analysis used each record, so that a reader sees every record and
every reason for leaving one out:

- identified: every report of a cohort in ``published_cohorts.csv`` (one report may give several diseases), every
  cohort recorded in ``study_characteristics.csv`` as existing without readable responder counts, the case report
  of a relapse and the news report on the index study;
- excluded, with the reason: no readable counts; a news report (used only for a time point); a single-patient case
  report (used for a sensitivity analysis); the systematic review (it pools the primary studies, so it is a check
  only); a cohort row overlapping a larger report of the same centre (at most one row per overlap group);
- included: the rows the primary meta-analysis uses (:func:`analysis.frequentist.meta.select`), and the index study.

References
----------
Page MJ, et al. The PRISMA 2020 statement: an updated guideline for reporting systematic reviews. (The flow follows
its stages; this re-analysis is not a systematic review and says so.)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.data.dataset import DEFINITION_COLUMNS, read_definitions
from analysis.data.schema import DataError
from analysis.publish.format import md_table
from analysis.settings import DATA_RAW, ROOT, TOTAL

DEFINITIONS = DATA_RAW / "endpoint_definitions.csv"

#: reasons, in the order the flow lists them
NO_COUNTS = "cohort exists, responder counts could not be read"
#: the reasons for a news report and a case report, unless the study metadata words them (``flow.news``,
#: ``flow.case_report`` of study.yml: what the study used each for)
NEWS = "news report on the index study"
CASE_REPORT = "single-patient case report"
REVIEW = "systematic review pooling the primary studies (a check, never combined with them)"
OVERLAP = "overlaps a larger report from the same centre (one row per overlap group)"


def flow(cohorts: pd.DataFrame, characteristics: pd.DataFrame) -> dict:
    """Counts of every stage of the flow.

    Parameters
    ----------
    cohorts : DataFrame
        ``published_cohorts.csv`` as loaded by :func:`analysis.data.load_cohorts`.
    characteristics : DataFrame
        ``study_characteristics.csv`` as loaded by :func:`analysis.data.load_characteristics`.

    Returns
    -------
    dict
        ``identified``, ``excluded`` (reason -> count of records), ``reports`` (cohort reports with readable
        counts), ``rows`` (their study-by-disease rows), ``rows_excluded`` (reason -> rows), ``included_rows``,
        ``included_reports`` and ``included_studies`` (the ids of the included rows).
    """
    from analysis.frequentist.meta import SCENARIOS, select

    reports = cohorts["citation"].nunique()
    unreadable = characteristics[characteristics["item"] == "unreadable_cohort"]["study_id"].nunique()
    case = characteristics[characteristics["item"] == "relapse_report"]["study_id"].nunique()
    news = characteristics[characteristics["evidence"] == "news"]["source"].nunique()
    pooled = cohorts[cohorts["overlap_group"] == "POOLED"]
    primary = cohorts[cohorts["overlap_group"] != "POOLED"]
    chosen = select(cohorts, SCENARIOS[0])
    overlapping = primary[~primary["study_id"].isin(chosen["study_id"])]
    from analysis.publish.study import load_study

    own = load_study().get("flow") or {}
    excluded = {NO_COUNTS: unreadable, own.get("news", NEWS): news, own.get("case_report", CASE_REPORT): case}
    return {
        "identified": reports + unreadable + case + news,
        "excluded": excluded,
        "reports": reports,
        "rows": len(cohorts),
        "rows_excluded": {REVIEW: len(pooled), OVERLAP: len(overlapping)},
        "review_reports": pooled["citation"].nunique(),
        "overlap_ids": list(overlapping["study_id"]),
        "included_rows": len(chosen),
        "included_reports": chosen["citation"].nunique(),
        "included_studies": list(chosen["study_id"]),
    }


def flow_table(f: dict) -> str:
    """The flow as a table: stage, records, and the reason for every exclusion."""
    rows = [
        {"Stage": "Records identified (no systematic search; see Methods)", "Records": str(f["identified"])},
        *({"Stage": f"Excluded: {reason}", "Records": str(k)} for reason, k in f["excluded"].items() if k),
        {
            "Stage": "Cohort reports with readable counts (study-by-disease rows)",
            "Records": f"{f['reports']} ({f['rows']} rows)",
        },
        *({"Stage": f"Rows excluded: {reason}", "Records": str(k)} for reason, k in f["rows_excluded"].items() if k),
        {
            "Stage": "Included in the primary meta-analysis (reports, rows)",
            "Records": f"{f['included_reports']} ({f['included_rows']} rows)",
        },
    ]
    # the files of the data folder the report is built from (a cohort's is not data/raw/), as the colophon names them
    folder = DATA_RAW.resolve()
    shown = folder.relative_to(ROOT).as_posix() if folder.is_relative_to(ROOT) else folder.as_posix()
    names = [n for n in ("published_cohorts.csv", "study_characteristics.csv") if (folder / n).is_file()]
    files = ", ".join(f"`{shown}/{n}`" for n in names or ["published_cohorts.csv"])
    return md_table(
        pd.DataFrame(rows),
        f"Flow of the records behind the analysis (PRISMA-style), counted from the data files ({files}). A report "
        "may give several diseases, one row each. Rows are pooled only within one disease and endpoint class.",
        "tbl-flow",
        "lr",
    )


def evidence_variables(f: dict, cohorts: pd.DataFrame | None = None) -> dict:
    """The flow's counts for the prose (``evidence.*``), and each cohort row's counts (``evidence.cohort.ID``)."""
    rows = (
        {}
        if cohorts is None
        else {
            r.study_id: {"events": int(r.n_responders), "n": int(r.n_treated), "endpoint": r.endpoint}
            for r in cohorts.itertuples(index=False)
        }
    )
    return {
        "cohort": rows,
        "identified": f["identified"],
        "no_counts": f["excluded"][NO_COUNTS],
        "reports": f["reports"],
        "rows": f["rows"],
        "overlap_rows": f["rows_excluded"][OVERLAP],
        "review_rows": f["rows_excluded"][REVIEW],
        "included_rows": f["included_rows"],
        "included_reports": f["included_reports"],
    }


def load_definitions(path: Path = DEFINITIONS) -> pd.DataFrame:
    """The response endpoints' published definitions (``data/raw/endpoint_definitions.csv``), checked by
    :func:`analysis.data.dataset.read_definitions` (the check ``python -m analysis validate`` runs).

    Raises
    ------
    DataError
        Naming the file, row and field of every missing column or empty cell.
    """
    errors, rows = read_definitions(Path(path))
    if errors:
        raise DataError(path, errors)
    return pd.DataFrame([{c: r[c] for c in DEFINITION_COLUMNS} for r in rows], columns=list(DEFINITION_COLUMNS))


def definitions_table(defs: pd.DataFrame) -> str:
    """The endpoints as the literature defines them, and what the index study counted; without an
    endpoint-definitions file, each group's endpoint as the index-study file defines it."""
    if defs.empty:
        return _index_definitions_table()
    out = pd.DataFrame(
        {
            "Disease": defs["disease"],
            "Instrument": defs["instrument"],
            "Definition (thresholds)": defs["definition"].str.replace(">=", "\u2265").str.replace("<=", "\u2264"),
            "Counted in the index study": defs["index_study_use"].str.replace(">=", "\u2265"),
            "Source": defs["source"] + ", doi:" + defs["doi"],
        }
    )
    return md_table(
        out,
        "Definitions of the disease-specific response endpoints, as published. The index study counted a different "
        "degree of response in each disease, so the response rates are not comparable across diseases.",
        "tbl-endpoints",
        "lllll",
    )


def _index_definitions_table() -> str:
    from analysis.data import group_order, load_index

    idx = load_index()
    resp = idx[(idx["endpoint"] == "response") & (idx["group"] != TOTAL)].set_index("group")
    groups = group_order(resp.index)
    out = pd.DataFrame(
        {
            "Group": list(groups),
            "Response endpoint, as the index study defines it": [
                str(resp.loc[g, "endpoint_definition"]).replace(">=", "\u2265").replace("<=", "\u2264") for g in groups
            ],
            "Assessed": [str(resp.loc[g, "timepoint"]) for g in groups],
        }
    )
    return md_table(
        out,
        "Response endpoints of the index study, as its data file defines them (the data give no published "
        "definition with thresholds and source).",
        "tbl-endpoints",
        "lll",
    )


#: PRISMA 2020 items (Page et al. 2021), abridged, answered for this paper; "not done" where it was not done.
#: A supplement table is cited by its label (@tbl-x): its number depends on the sections a report has.
PRISMA_ITEMS = (
    ("1", "Title", "Not a systematic review, and not titled as one: a re-analysis of a case series."),
    ("2", "Abstract", "Structured abstract; the evidence base is described in the Methods."),
    ("3", "Rationale", "Introduction."),
    ("4", "Objectives", "Introduction, last paragraph."),
    ("5", "Eligibility criteria", "Methods, Evidence base: number treated and responding, stated endpoint."),
    ("6", "Information sources", "Abstracts, journal pages, news summaries; no databases; dates not recorded."),
    ("7", "Search strategy", "Not done: no search terms were recorded."),
    ("8", "Selection process", "One collection of records; no independent duplicate screening recorded."),
    ("9", "Data collection process", "Counts read from quoted sentences, stored with each row in data/raw/."),
    ("10", "Data items", "Patients treated and responding, endpoint, time point, product, overlap group."),
    ("11", "Study risk of bias assessment", "Not done formally; evidence level and overlap recorded per row."),
    ("12", "Effect measures", "Proportion of patients reaching the endpoint."),
    ("13", "Synthesis methods", "Exact binomial-normal random-effects model; DerSimonian-Laird as sensitivity."),
    ("14", "Reporting bias assessment", "Not done formally; discussed under Limitations."),
    ("15", "Certainty assessment", "Not done."),
    ("16", "Study selection", "Flow of the records (@tbl-flow)."),
    ("17", "Study characteristics", "Published cohorts (@tbl-meta)."),
    ("18", "Risk of bias in studies", "Not done."),
    ("19", "Results of individual studies", "@tbl-meta, one row per cohort."),
    ("20", "Results of syntheses", "Results, Other published cohorts; @tbl-meta."),
    ("21", "Reporting biases", "Not assessed; fewer than ten cohorts per disease."),
    ("22", "Certainty of evidence", "Not assessed."),
    ("23", "Discussion", "Discussion, comparison with other series and Limitations."),
    ("24", "Registration and protocol", "Not registered; no protocol."),
    ("25", "Support", "Declarations, Funding."),
    ("26", "Competing interests", "Declarations, Competing interests."),
    ("27", "Availability of data, code and other materials", "Declarations, Data availability; Reproducibility."),
)


def prisma_table() -> str:
    """The PRISMA 2020 checklist answered item by item (beside the BARG checklist in the supplement)."""
    out = pd.DataFrame(PRISMA_ITEMS, columns=["Item", "Topic", "Where reported, or why not"])
    return md_table(
        out,
        "PRISMA 2020 checklist [@page2021], abridged. The external evidence was not gathered by a systematic "
        "review; items that were not done say so.",
        "tbl-prisma",
        "lll",
    )
