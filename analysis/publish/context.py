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
from analysis.publish.format import group_name, md_table
from analysis.settings import TOTAL

#: the study whose characteristics the table describes
INDEX_STUDY_ID = "MULLER24"
#: BibTeX keys (manuscript/references.bib) of studies the table cites; others are shown by DOI
CITE_KEYS = {"MULLER24": "muller2024", "MACKENSEN22": "mackensen2022"}
NOT_STATED = "not stated"

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _path(df: pd.DataFrame) -> Path:
    return Path(df.attrs.get("path", CHARACTERISTICS))


def _number(value: str) -> int | float:
    x = float(value)
    return int(x) if x == int(x) else x


def _find(df: pd.DataFrame, item: str, group: str = TOTAL, statistic: str = "text", study: str = INDEX_STUDY_ID):
    rows = df[
        (df["study_id"] == study) & (df["group"] == group) & (df["item"] == item) & (df["statistic"] == statistic)
    ]
    return None if rows.empty else rows.iloc[0]


def _get(df: pd.DataFrame, item: str, group: str = TOTAL, statistic: str = "text", study: str = INDEX_STUDY_ID):
    row = _find(df, item, group, statistic, study)
    if row is None:
        raise DataError(
            _path(df),
            [f"no row with study_id '{study}', group '{group}', item '{item}', statistic '{statistic}'; "
             "the manuscript needs it"],
        )  # fmt: skip
    return row


def _value(df: pd.DataFrame, item: str, group: str = TOTAL, statistic: str = "text", study: str = INDEX_STUDY_ID):
    v = _get(df, item, group, statistic, study)["value"]
    return v if statistic == "text" else _number(v)


def dose_text(value: str, unit: str = "") -> str:
    """'1 x 10^6' and 'per kg' as a journal prints them: '1 × 10⁶ per kg'."""
    m = re.fullmatch(r"\s*([\d.]+)\s*[x×]\s*10\^(-?\d+)\s*", value)
    text = f"{m.group(1)} × 10{m.group(2).translate(_SUPERSCRIPT)}" if m else value
    return f"{text} {unit}".strip()


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _groups(df: pd.DataFrame) -> tuple[str, ...]:
    pts = df[(df["study_id"] == INDEX_STUDY_ID) & (df["item"] == "patients")]
    return group_order(pts["group"])


def patients(df: pd.DataFrame, index: pd.DataFrame | None = None) -> dict[str, int]:
    """Patients per disease and in all, from this file; checked against the index study's counts when given."""
    groups = _groups(df)
    counts = {g: int(_value(df, "patients", g, "count")) for g in groups}
    counts[TOTAL] = int(_value(df, "patients", TOTAL, "count"))
    errors = []
    if sum(counts[g] for g in groups) != counts[TOTAL]:
        errors.append(f"patients per disease add up to {sum(counts[g] for g in groups)}, but 'all' is {counts[TOTAL]}")
    if index is not None:
        n = index[index["endpoint"] == "response"].set_index("group")["n"]
        for g in group_order(n.index):
            if counts.get(g) != int(n[g]):
                errors.append(
                    f"patients for group '{g}' is {counts.get(g)}, but index_study.csv has n = {int(n[g])} (response)"
                )
    if errors:
        raise DataError(_path(df), errors)
    return counts


class _Notes:
    """Footnote letters, in order of first use, for facts from another study or a news report."""

    def __init__(self, df: pd.DataFrame):
        self.df, self.notes = df, {}

    def mark(self, row) -> str:
        if row["evidence"] == "news":
            key, text = "news", "News report on the index study (a lower level of evidence)."
        elif row["study_id"] != INDEX_STUDY_ID:
            key = row["study_id"]
            cite = f"[@{CITE_KEYS[key]}]" if key in CITE_KEYS else (f"doi:{row['doi']}" if row["doi"] else "")
            source = str(row["source"])
            text = (source[:1].upper() + source[1:] + (f", {cite}" if cite else "")).strip() + "."
            if key == "MACKENSEN22":
                text = (
                    f"Predecessor report of the first patients with SLE {cite}, very likely among those reported here."
                )
        else:
            return ""
        if key not in self.notes:
            self.notes[key] = (chr(ord("a") + len(self.notes)), text)
        return f" ^{self.notes[key][0]}^"

    def caption(self) -> str:
        return " ".join(f"^{letter}^ {text}" for letter, text in self.notes.values())


def characteristics_table(df: pd.DataFrame, index: pd.DataFrame | None = None) -> str:
    """Table 1: the index study's patients, treatment, endpoints and their timing, follow-up and durability."""
    groups = _groups(df)
    cols = [group_name(g) for g in groups] + ["All patients"]
    notes = _Notes(df)
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
    for g in groups:
        parts = []
        t = _find(df, "endpoint_timepoint", g, "time")
        if t is not None:
            parts.append(f"at {_number(t['value'])} {t['unit']}{notes.mark(t)}")
        t = _find(df, "endpoint_timepoint", g, "text")
        if t is not None:
            parts.append(f"{t['value']}{notes.mark(t)}")
        timing[g] = "; ".join(parts) or NOT_STATED
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
        if row["statistic"] == "text" and row["study_id"] == INDEX_STUDY_ID and row["group"] == TOTAL:
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
                if k is not None and study != INDEX_STUDY_ID
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
    cite = f" [@{CITE_KEYS[INDEX_STUDY_ID]}]" if INDEX_STUDY_ID in CITE_KEYS else ""
    caption = (
        f"Characteristics of the index study{cite}, as published. Response endpoints differ in strength: "
        "remission for SLE, a major clinical response (not remission) for IIM, any decrease of an activity "
        f"index for SSc. {notes.caption()}"
    ).strip()
    return md_table(pd.DataFrame(rows, columns=["Characteristic", *cols]), caption, "tbl-characteristics", align)


def context_variables(df: pd.DataFrame, index: pd.DataFrame | None = None) -> dict:
    """The numbers and phrases the clinical-context and limitations prose quotes (the ``context`` group).

    Keys (``{{< var context.KEY >}}``); ``G`` is a disease label from the data (SLE, IIM, SSc):

    - ``patients.G``, ``patients.all``: patients treated in the index study (checked against index_study.csv)
    - ``refractory_min_therapies``: all patients were refractory to at least this many conventional therapies
    - ``centre``, ``setting``, ``product``: where, in which setting (compassionate use), which product
    - ``dose``: the CAR T-cell dose as printed ('1 × 10⁶ per kg')
    - ``lymphodepletion``: the conditioning drugs ('fludarabine and cyclophosphamide')
    - ``follow_up.median``, ``follow_up.min``, ``follow_up.max``, ``follow_up.unit``: follow-up in months
    - ``endpoint.G``: the response endpoint as defined by the article
    - ``timepoint.G``: when the endpoint was assessed, as stated ('not stated' when no source says);
      ``timepoint.G_time`` and ``timepoint.G_unit``: the time point as a number and its unit, where one
      is given; ``timepoint.G_evidence``: 'article' or 'news'; ``timepoint.SLE_followup``: the second
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
    groups = _groups(df)
    n = patients(df, index)
    out: dict = {"patients": {g: n[g] for g in (*groups, TOTAL)}}
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
