"""The study metadata file (``DATA/study.yml``): the report's words that the data files cannot give.

The manuscript template (``manuscript/index.qmd``) names no study and no disease (issue 24).  What only the
study's authors can write (a title, the clinical background, the limitations, how an endpoint is named in a
sentence, a caption about the endpoints' strength) lives beside the data in ``study.yml``; the report step
(:mod:`analysis.publish.narrative`) writes generic text, computed from the data and results, for every key
the file leaves out.  The file itself is required (an empty mapping is valid): a cohort's report is built from
its data folder, not from the paper's.

Keys (every one optional; text is Markdown and may quote ``{{< var KEY >}}`` of ``_variables.yml``):

- ``title``, ``subtitle``: the paper's; ``keywords``: a list of strings;
- ``groups``: per group label of the data, ``endpoint`` (the response endpoint as a sentence names it:
  "In SLE, 8 of 8 patients reached DORIS remission"), ``rate`` (the rate's noun, "remission rate") and
  ``name`` (the group's name in full, "systemic lupus erythematosus": the generic title, abstract and introduction
  spell the label out at its first use, "systemic lupus erythematosus (SLE)");
- ``characteristics_caption``: a sentence added to Table 1's caption;
- ``safety_caption``: a sentence added to the caption of the table of harms (what the sources do not report);
- ``footnotes``: per study id of ``study_characteristics.csv``, Table 1's footnote for a fact from that study
  (``{cite}`` stands for its citation);
- ``flow``: ``news`` and ``case_report``, the evidence flow's reasons for a news report and a case report;
- ``abstract``: ``background``, ``methods``, ``safety`` (the harms sentence of the results) and ``conclusions``;
- ``sections``: the prose of the sections in :data:`SECTION_KEYS`;
- ``study``: the study's facts (centre, setting, product, dose, lymphodepletion, refractoriness, follow-up) for a
  data folder without ``study_characteristics.csv`` (:mod:`analysis.data.metadata`; checked with the data set).

A problem (a missing or unreadable file, an unknown key, a value of the wrong type) is a :class:`StudyError`
naming the file and the key; :func:`problems` lists every one at once (``python -m analysis validate``).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from analysis.data.schema import STUDY_FILE, DataError
from analysis.publish.shortcodes import VAR
from analysis.settings import DATA_RAW

STUDY = DATA_RAW / "study.yml"
FILE_NAME = STUDY_FILE
CHARACTERISTICS = "study_characteristics.csv"

#: the sections whose prose the study may give, in the order of the paper
SECTION_KEYS = (
    "introduction",
    "patients",
    "evidence",
    "sensitivity_methods",
    "priors_methods",
    "relapse",
    "safety",
    "meta",
    "priors_results",
    "discussion",
    "limitations",
    "conclusion",
)
ABSTRACT_KEYS = ("background", "methods", "safety", "conclusions")
GROUP_KEYS = ("endpoint", "rate", "name")
FLOW_KEYS = ("news", "case_report")
#: key -> what it holds: str, list of str, a mapping with fixed keys (tuple), or any key to str ("*") / to a mapping
SCHEMA: dict = {
    "title": str,
    "subtitle": str,
    "keywords": list,
    "characteristics_caption": str,
    "safety_caption": str,
    "groups": ("*", GROUP_KEYS),
    "footnotes": ("*", str),
    "flow": FLOW_KEYS,
    "abstract": ABSTRACT_KEYS,
    "sections": SECTION_KEYS,
    "study": "facts",
}


class StudyError(DataError):
    """The study metadata file is missing, unreadable or holds an unknown key or a value of the wrong type."""


def _text(value, where: str, out: list[str]) -> None:
    if not isinstance(value, str) or not value.strip():
        out.append(f"key '{where}': expected text, found {type(value).__name__} {value!r:.40}")


def problems(path: Path | str | None = None) -> list[str]:
    """Every problem of the study file (default :data:`STUDY`), each naming its key (empty when it is valid)."""
    path = Path(path or STUDY)
    if not path.is_file():
        return [f"missing: every data folder needs its study metadata file {FILE_NAME}: the study's facts under "
                "'study:' (unless the folder has study_characteristics.csv); every other key is optional and gives "
                "generic text when left out (data/README.md)"]  # fmt: skip
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        return [f"not valid YAML ({str(e).splitlines()[0]})"]
    if data is None:
        return []
    if not isinstance(data, dict):
        return [f"expected a mapping of keys ({', '.join(SCHEMA)}), found {type(data).__name__}"]
    out: list[str] = []
    for key, value in data.items():
        _check(key, value, SCHEMA.get(key), out)
    if "study" in data and (path.parent / CHARACTERISTICS).is_file():
        out.append(
            f"key 'study': the facts of {CHARACTERISTICS} in the same folder are the report's; remove the key "
            "or the file (the key is for a cohort without that file)"
        )
    return out


def _mapping(key: str, value: dict, allowed, out: list[str]) -> None:
    """A mapping of fixed keys (``allowed``), each holding text."""
    for k, v in value.items():
        if k not in allowed:
            out.append(f"key '{key}.{k}': unknown (expected one of {', '.join(allowed)})")
        else:
            _text(v, f"{key}.{k}", out)


def _check(key: str, value, kind, out: list[str]) -> None:
    if kind == "facts":  # checked once, with the data set (analysis.data.metadata; beside a CSV: see problems())
        pass
    elif kind is None:
        out.append(f"key '{key}': unknown (expected one of {', '.join(SCHEMA)})")
    elif kind is str:
        _text(value, key, out)
    elif kind is list:
        if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
            out.append(f"key '{key}': expected a list of text")
    elif not isinstance(value, dict):
        out.append(f"key '{key}': expected a mapping, found {type(value).__name__}")
    elif kind[0] != "*":
        _mapping(key, value, kind, out)
    else:  # any name (a group, a study id) to text or to a mapping of fixed keys
        for name, sub in value.items():
            if kind[1] is str:
                _text(sub, f"{key}.{name}", out)
            elif not isinstance(sub, dict):
                out.append(f"key '{key}.{name}': expected a mapping of {', '.join(kind[1])}")
            else:
                _mapping(f"{key}.{name}", sub, kind[1], out)


def load_study(path: Path | str | None = None) -> dict:
    """The study metadata as a mapping (keys as in the module docstring), from ``path`` (default :data:`STUDY`).

    Raises
    ------
    StudyError
        Naming the file and every problem at once.
    """
    path = Path(path or STUDY)
    found = problems(path)
    if found:
        raise StudyError(Path(path), found)
    return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}


def texts(study: dict) -> dict[str, str]:
    """Every text of the study file by its dotted key ('sections.introduction'), for the variables check."""
    out: dict[str, str] = {}

    def walk(node, prefix: str) -> None:
        if isinstance(node, str):
            out[prefix] = node
        elif isinstance(node, list):
            for i, x in enumerate(node):
                walk(x, f"{prefix}[{i}]")
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}.{k}" if prefix else str(k))

    walk(study, "")
    return out


#: the groups of ``_variables.yml`` a text may quote (:data:`analysis.publish.sections.SECTIONS`' variables and
#: the ``report`` group of the front matter; a test keeps the two lists equal)
VARIABLE_GROUPS = ("context", "evidence", "freq", "bayes", "priors", "basket", "claims", "report")
#: ``freq.KIND.ENDPOINT_GROUP``: the counts a text quotes most, checked against the index file before any step
_COUNT = re.compile(r"freq\.(?:n|events|who)\.(.+)")


def quote_problems(path: Path | str, counts: set[str]) -> list[str]:
    """What ``validate`` can tell of the study file's quotes before any result exists: a variable outside
    :data:`VARIABLE_GROUPS`, and a count (``freq.n.ENDPOINT_GROUP``) that is not one of ``counts`` (the
    index file's ``ENDPOINT_GROUP`` pairs, :func:`analysis.data.load.endpoint_counts`, whole-cohort rows
    included).  Every other variable is checked by the report step."""
    path = Path(path)
    if problems(path):
        return []  # reported by problems()
    out = []
    for key, text in texts(load_study(path)).items():
        for name in dict.fromkeys(VAR.findall(text)):
            m = _COUNT.fullmatch(name)
            if name.split(".", 1)[0] not in VARIABLE_GROUPS:
                out.append(f"key '{key}': quotes {{{{< var {name} >}}}}; a variable starts with one of "
                           f"{', '.join(VARIABLE_GROUPS)}")  # fmt: skip
            elif m and m.group(1) not in counts:
                out.append(f"key '{key}': quotes {{{{< var {name} >}}}}, but the index file has no such count "
                           f"(ENDPOINT_GROUP: {', '.join(sorted(counts))})")  # fmt: skip
    return out
