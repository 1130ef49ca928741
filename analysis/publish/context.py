"""The clinical context of the index study: its characteristics table and the numbers the prose quotes.

Everything here comes from ``data/raw/study_characteristics.csv`` (validated by
:mod:`analysis.data.characteristics`) and, for patients per disease, from the
index study's counts (``data/raw/index_study.csv``); the two must agree.  A fact
the table or the prose needs but the file lacks is a :class:`DataError` naming
the file and the missing ``item`` / ``group`` / ``statistic``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.data import DataError, group_order
from analysis.data.characteristics import CHARACTERISTICS
from analysis.data.dataset import check_facts, described_study, index_study_id
from analysis.publish.format import group_name, md_table
from analysis.settings import MANUSCRIPT, TOTAL

#: Studies are cited by their DOI's entry in manuscript/references.bib ('[@key]'), else by DOI.
REFERENCES = MANUSCRIPT / "references.bib"
NOT_STATED = "not stated"
#: what the report prints where the citation of an index study without a DOI would stand
UNPUBLISHED = "unpublished"

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _path(df: pd.DataFrame) -> Path:
    return Path(df.attrs.get("path", CHARACTERISTICS))


def _number(value: str) -> int | float:
    x = float(value)
    return int(x) if x == int(x) else x


def _study(df: pd.DataFrame) -> str:
    """The index study's id: set by :func:`_checked` from the index file, else the study the file describes."""
    study = df.attrs.get("index_study") or described_study(df.to_dict("records"))
    if study is None:
        raise DataError(_path(df), ["field 'study_id': no single study has a row for group 'all', item 'patients'"])
    return study


def _checked(df: pd.DataFrame, index: pd.DataFrame | None) -> pd.DataFrame:
    """``df`` with the index study's id and DOI attached, after every check between it and ``index``
    (:func:`analysis.data.dataset.check_facts`): all problems are raised at once."""
    study = None
    if index is not None:
        study, errors = index_study_id(index.to_dict("records"))
        if errors:
            raise DataError(Path(index.attrs.get("path", "index_study.csv")), errors)
    study = study or described_study(df.to_dict("records"))
    if study is None:
        raise DataError(_path(df), ["field 'study_id': no single study has a row for group 'all', item 'patients'"])
    errors = check_facts(df.to_dict("records"), study, None if index is None else index.to_dict("records"))
    if errors:
        raise DataError(_path(df), errors)
    out = df.copy()
    out.attrs.update(df.attrs, index_study=study, index_doi=_index_doi(df, index, study))
    return out


def _index_doi(df: pd.DataFrame, index: pd.DataFrame | None, study: str) -> str:
    """The index study's DOI: from the index file, else from its characteristics rows; '' if unpublished."""
    dois = [] if index is None else [d for d in index["doi"] if d]
    dois += [d for d in df.loc[df["study_id"] == study, "doi"] if d]
    return dois[0] if dois else ""


def bib_key(doi: str, references: Path = REFERENCES) -> str | None:
    """The BibTeX key of the entry with this DOI in ``references``, if any."""
    if not doi or not Path(references).is_file():
        return None
    for entry in re.split(r"(?m)^@", Path(references).read_text(encoding="utf-8")):
        key = re.match(r"\w+\{([^,\s]+),", entry)
        found = re.search(r"(?mi)^\s*doi\s*=\s*\{([^}]*)\}", entry)
        if key and found and found.group(1).strip().lower() == doi.strip().lower():
            return key.group(1)
    return None


def citation(df: pd.DataFrame) -> str:
    """How the report cites the index study: '[@key]' for a DOI in the references, 'doi:...' for
    another DOI, :data:`UNPUBLISHED` for none (the data of an unpublished cohort)."""
    doi = df.attrs.get("index_doi", "")
    if not doi:
        return UNPUBLISHED
    key = bib_key(doi)
    return f"[@{key}]" if key else f"doi:{doi}"


def _find(df: pd.DataFrame, item: str, group: str = TOTAL, statistic: str = "text", study: str | None = None):
    study = study or _study(df)
    rows = df[
        (df["study_id"] == study) & (df["group"] == group) & (df["item"] == item) & (df["statistic"] == statistic)
    ]
    return None if rows.empty else rows.iloc[0]


def _get(df: pd.DataFrame, item: str, group: str = TOTAL, statistic: str = "text", study: str | None = None):
    study = study or _study(df)
    row = _find(df, item, group, statistic, study)
    if row is None:
        raise DataError(
            _path(df),
            [f"no row with study_id '{study}', group '{group}', item '{item}', statistic '{statistic}'; "
             "the manuscript needs it"],
        )  # fmt: skip
    return row


def _value(df: pd.DataFrame, item: str, group: str = TOTAL, statistic: str = "text", study: str | None = None):
    v = _get(df, item, group, statistic, study)["value"]
    return v if statistic == "text" else _number(v)


def dose_text(value: str, unit: str = "") -> str:
    """'1 x 10^6' and 'per kg' as a journal prints them: '1 × 10⁶ per kg' (the unit may end the value too)."""
    m = re.fullmatch(r"\s*([\d.]+(?:\s*[-–]\s*[\d.]+)?)\s*[x×]\s*10\^(-?\d+)\s*(.*?)\s*", value)
    text = f"{m.group(1)} × 10{m.group(2).translate(_SUPERSCRIPT)} {m.group(3)}".strip() if m else value
    return f"{text} {unit}".strip()


def _and(items: list[str]) -> str:
    if not items:  # a cohort without unreadable reports
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _groups(df: pd.DataFrame) -> tuple[str, ...]:
    pts = df[(df["study_id"] == _study(df)) & (df["item"] == "patients")]
    return group_order(pts["group"])


def patients(df: pd.DataFrame, index: pd.DataFrame | None = None) -> dict[str, int]:
    """Patients per disease and in all, from this file; checked against the index study's counts when given
    (:func:`analysis.data.dataset.check_facts`, the check ``python -m analysis validate`` runs)."""
    df = _checked(df, index)
    groups = _groups(df)
    counts = {g: int(_value(df, "patients", g, "count")) for g in groups}
    counts[TOTAL] = int(_value(df, "patients", TOTAL, "count"))
    return counts


class _Notes:
    """Footnote letters, in order of first use, for facts from another study or a news report."""

    def __init__(self, df: pd.DataFrame, footnotes: dict[str, str] | None = None):
        self.df, self.notes, self.footnotes = df, {}, footnotes or {}

    def mark(self, row) -> str:
        if row["evidence"] == "news":
            key, text = "news", "News report on the index study (a lower level of evidence)."
        elif row["study_id"] != _study(self.df):
            key = row["study_id"]
            doi = f"doi:{row['doi']}" if row["doi"] else ""
            source = str(row["source"])
            text = (source[:1].upper() + source[1:] + (f", {doi}" if doi else "")).strip() + "."
            if key in self.footnotes:  # the study metadata's words for this study (footnotes.KEY), citing it
                bib = bib_key(row["doi"])
                text = self.footnotes[key].replace("{cite}", f"[@{bib}]" if bib else doi).strip()
        else:
            return ""
        if key not in self.notes:
            self.notes[key] = (chr(ord("a") + len(self.notes)), text)
        return f" ^{self.notes[key][0]}^"

    def caption(self) -> str:
        return " ".join(f"^{letter}^ {text}" for letter, text in self.notes.values())


def index_timepoints(df: pd.DataFrame, index: pd.DataFrame | None) -> dict[str, str]:
    """When each group's endpoint was assessed, from the index file's ``timepoint`` column ('at month 6').

    Used only when the characteristics file states no ``endpoint_timepoint`` at all (a cohort whose index rows
    carry the time point); a group whose response rows give more than one time point, or none, is left out."""
    if index is None or "timepoint" not in index or (df["item"] == "endpoint_timepoint").any():
        return {}
    rows = index[index["group"] != TOTAL]
    if "endpoint" in rows:
        rows = rows[rows["endpoint"] == "response"]
    out = {}
    for g, sub in rows.groupby("group", sort=False):
        found = {str(t).strip() for t in sub["timepoint"] if str(t).strip() and str(t) != "nan"}
        if len(found) == 1:
            t = found.pop()
            at = re.match(r"(\d|(day|week|month|year)s?\b)", t, re.IGNORECASE)
            out[str(g)] = f"at {t}" if at else t
    return out


def characteristics_table(df: pd.DataFrame, index: pd.DataFrame | None = None, meta: dict | None = None) -> str:
    """Table 1: the index study's patients, treatment, endpoints and their timing, follow-up and durability.

    ``meta`` is the study metadata (:func:`analysis.publish.study.load_study`, read from the data folder when
    not given): its ``footnotes`` word the notes on facts from other studies, its ``characteristics_caption``
    is added to the caption."""
    from analysis.publish.study import load_study

    meta = load_study() if meta is None else meta
    df = _checked(df, index)
    groups = _groups(df)
    cols = [group_name(g) for g in groups] + ["All patients"]
    notes = _Notes(df, meta.get("footnotes"))
    rows: list[dict[str, str]] = []

    def add(label: str, per_group: dict[str, str] | None = None, whole: str = "") -> None:
        row = {"Characteristic": label, **{group_name(g): "" for g in groups}, "All patients": whole}
        for g, text in (per_group or {}).items():
            row[group_name(g)] = text
        rows.append(row)

    n = patients(df, index)
    add("Patients, n", {g: str(n[g]) for g in groups}, str(n[TOTAL]))
    refr = _get(df, "refractoriness", statistic="minimum")
    add("Refractory to", whole=f"at least {_number(refr['value'])} {refr['unit']}")
    add("Centre; setting", whole=f"{_value(df, 'centre')}; {_value(df, 'setting')}")
    add("Product", whole=_value(df, "product"))
    dose = _get(df, "dose")
    add("Dose", whole=dose_text(dose["value"], dose["unit"]))
    add("Lymphodepletion", whole=_value(df, "lymphodepletion").replace(" + ", " and "))
    add("Response endpoint", {g: _value(df, "endpoint_definition", g) for g in groups})

    timing = {}
    stated = index_timepoints(df, index)
    for g in groups:
        parts = []
        t = _find(df, "endpoint_timepoint", g, "time")
        if t is not None:
            parts.append(f"at {_number(t['value'])} {t['unit']}{notes.mark(t)}")
        t = _find(df, "endpoint_timepoint", g, "text")
        if t is not None:
            parts.append(f"{t['value']}{notes.mark(t)}")
        timing[g] = "; ".join(parts) or stated.get(g, NOT_STATED)
    add("Endpoint assessed", timing)

    fu = {s: _get(df, "follow_up", statistic=s) for s in ("median", "minimum", "maximum")}
    add(
        "Follow-up, median (range)",
        whole=f"{_number(fu['median']['value'])} ({_number(fu['minimum']['value'])} to "
        f"{_number(fu['maximum']['value'])}) {fu['median']['unit']}",
    )

    dur = {}
    for g in groups:
        t = _find(df, "durability", g, "time")
        if t is not None:
            dur[g] = f"disease activity absent through {_number(t['value'])} {t['unit']}{notes.mark(t)}"
    if dur:
        add("Durability", dur)

    bcell_group: dict[str, str] = {}
    whole = ""
    for r in df[df["item"] == "b_cell_reconstitution"].itertuples(index=False):
        row = pd.Series(r._asdict())
        if row["statistic"] == "text" and row["study_id"] == _study(df) and row["group"] == TOTAL:
            whole = f"{row['value']}{notes.mark(row)}"
    for g in groups:
        studies = df[(df["item"] == "b_cell_reconstitution") & (df["group"] == g) & (df["statistic"] == "mean")]
        for study in studies["study_id"]:
            mean, sd = (
                _get(df, "b_cell_reconstitution", g, "mean", study),
                _get(df, "b_cell_reconstitution", g, "sd", study),
            )
            k = _find(df, "patients", g, "count", study)
            among = (
                f" in the {_number(k['value'])} patients of that report"
                if k is not None and study != _study(df)
                else ""
            )
            bcell_group[g] = (
                f"B cells reappeared after a mean (SD) of {_number(mean['value'])} ({_number(sd['value'])}) "
                f"{mean['unit']}{among}{notes.mark(mean)}"
            )
    if bcell_group or whole:
        add("B-cell reconstitution", bcell_group, whole)

    relapse = {}
    for r in df[(df["item"] == "relapse_report") & (df["statistic"] == "time")].itertuples(index=False):
        row = pd.Series(r._asdict())
        other = _find(df, "relapse_report", row["group"], "text", row["study_id"])
        relapse[row["group"]] = (
            f"a patient treated at the same centre relapsed {_number(row['value'])} {row['unit']}"
            + (f" ({other['value']})" if other is not None else "")
            + notes.mark(row)
        )
    if relapse:
        add("Later report", relapse)

    align = "l" * (len(cols) + 1)
    cite = citation(df)
    source = f" ({UNPUBLISHED})" if cite == UNPUBLISHED else f" {cite}, as published"
    own = " ".join(str(meta.get("characteristics_caption") or "").split())
    caption = " ".join(x for x in (f"Characteristics of the index study{source}.", own, notes.caption()) if x)
    return md_table(pd.DataFrame(rows, columns=["Characteristic", *cols]), caption, "tbl-characteristics", align)


def context_variables(df: pd.DataFrame, index: pd.DataFrame | None = None) -> dict:
    """The numbers and phrases the clinical-context and limitations prose quotes (the ``context`` group).

    Keys (``{{< var context.KEY >}}``); ``G`` is a disease label from the data (SLE, IIM, SSc):

    - ``patients.G``, ``patients.all``: patients treated in the index study (checked against index_study.csv)
    - ``study.id``, ``study.citation``, ``study.published``: the index study's id (from the data), its citation
      ('[@key]' for a DOI in references.bib, 'doi:...' for another, 'unpublished' without a DOI) and whether it
      has a DOI
    - ``refractory_min_therapies``: all patients were refractory to at least this many conventional therapies
    - ``centre``, ``setting``, ``product``: where, in which setting (compassionate use), which product
    - ``dose``: the CAR T-cell dose as printed ('1 × 10⁶ per kg')
    - ``lymphodepletion``: the conditioning drugs ('fludarabine and cyclophosphamide')
    - ``follow_up.median``, ``follow_up.min``, ``follow_up.max``, ``follow_up.unit``: follow-up in months
    - ``endpoint.G``: the response endpoint as defined by the article
    - ``timepoint.G``: when the endpoint was assessed, as stated ('not stated' when no source says);
      ``timepoint.G_time`` and ``timepoint.G_unit``: the time point as a number and its unit, where one
      is given; ``timepoint.G_evidence``: 'article', 'news' or 'index' (the index file's
      ``timepoint`` column, when the characteristics state no time point); ``timepoint.SLE_followup``: the second
      statement for SLE ('after a median follow-up of 15 months') when given
    - ``durability.G_months``: the article reports disease activity absent through this many months
    - ``bcell.mean_days``, ``bcell.sd_days``, ``bcell.n``: mean (SD) days until B cells reappeared, and the
      number of patients, in the predecessor report (Mackensen 2022), not the index study; ``bcell.study`` its id
    - ``bcell.news``: the news report's statement for the index study
    - ``relapse.months``, ``relapse.disease``, ``relapse.doi``, ``relapse.membership``: the later case report
      of an Erlangen patient who relapsed; whether she belongs to the index study ('not stated ...')
    - ``unreadable.list``, ``unreadable.count``: the cohorts whose responder counts could not be read
    - ``unreadable.castle.G``, ``unreadable.castle.all``: patients per disease in CASTLE and their sum
    """
    df = _checked(df, index)
    groups = _groups(df)
    n = patients(df, index)
    out: dict = {"patients": {g: n[g] for g in (*groups, TOTAL)}}
    cite = citation(df)
    out["study"] = {"id": _study(df), "citation": cite, "published": cite != UNPUBLISHED}
    out["refractory_min_therapies"] = _value(df, "refractoriness", statistic="minimum")
    out["centre"] = _value(df, "centre")
    out["setting"] = _value(df, "setting")
    out["product"] = _value(df, "product")
    dose = _get(df, "dose")
    out["dose"] = dose_text(dose["value"], dose["unit"])
    out["lymphodepletion"] = _value(df, "lymphodepletion").replace(" + ", " and ")
    out["follow_up"] = {
        "median": _value(df, "follow_up", statistic="median"),
        "min": _value(df, "follow_up", statistic="minimum"),
        "max": _value(df, "follow_up", statistic="maximum"),
        "unit": _get(df, "follow_up", statistic="median")["unit"],
    }
    out["endpoint"] = {g: _value(df, "endpoint_definition", g) for g in groups}

    timepoint: dict = {}
    stated = index_timepoints(df, index)
    for g in groups:
        t, s = _find(df, "endpoint_timepoint", g, "time"), _find(df, "endpoint_timepoint", g, "text")
        if t is not None:
            timepoint[g] = f"at {_number(t['value'])} {t['unit']}"
            timepoint[f"{g}_time"] = _number(t["value"])
            timepoint[f"{g}_unit"] = t["unit"]
            timepoint[f"{g}_evidence"] = t["evidence"]
            if s is not None:
                timepoint[f"{g}_followup"] = s["value"]
        elif s is not None:
            timepoint[g] = s["value"]
            timepoint[f"{g}_evidence"] = s["evidence"]
        elif g in stated:
            timepoint[g] = stated[g]
            timepoint[f"{g}_evidence"] = "index"
        else:
            timepoint[g] = NOT_STATED
    out["timepoint"] = timepoint

    out["durability"] = {
        f"{g}_months": _number(t["value"])
        for g in groups
        if (t := _find(df, "durability", g, "time")) is not None and t["unit"] == "months"
    }

    mean = df[(df["item"] == "b_cell_reconstitution") & (df["statistic"] == "mean")]
    bcell: dict = {}
    if not mean.empty:
        m = mean.iloc[0]
        bcell["mean_days"] = _number(m["value"])
        bcell["sd_days"] = _value(df, "b_cell_reconstitution", m["group"], "sd", m["study_id"])
        bcell["study"] = m["study_id"]
        k = _find(df, "patients", m["group"], "count", m["study_id"])
        if k is not None:
            bcell["n"] = _number(k["value"])
    news = _find(df, "b_cell_reconstitution", TOTAL, "text")
    if news is not None:
        bcell["news"] = news["value"]
    out["bcell"] = bcell

    rel = df[(df["item"] == "relapse_report") & (df["statistic"] == "time")]
    if not rel.empty:
        r = rel.iloc[0]
        other = _find(df, "relapse_report", r["group"], "text", r["study_id"])
        out["relapse"] = {
            "months": _number(r["value"]),
            "disease": r["group"],
            "doi": r["doi"],
            "membership": other["value"] if other is not None else NOT_STATED,
        }

    unread = df[df["item"] == "unreadable_cohort"]
    out["unreadable"] = {"list": _and(list(unread["value"])), "count": len(unread)}
    castle = df[(df["study_id"] == "CASTLE") & (df["item"] == "patients")]
    if not castle.empty:
        counts = {r.group: int(_number(r.value)) for r in castle.itertuples()}
        out["unreadable"]["castle"] = {**counts, TOTAL: sum(counts.values())}
    return out
