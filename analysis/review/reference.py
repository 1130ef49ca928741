"""Reference documentation, generated so that it cannot drift from the code: ``make docs``.

- API pages of the stage packages from their numpydoc docstrings, by pdoc
  (``docs/_build/api/``; why pdoc: ``docs/README.md``);
- every key of the priors-and-designs file, from its pydantic schema
  (:mod:`analysis.priors.schema`: type, default, range and the field's
  ``description``), and every key of the basket design file, from the key sets
  its reader accepts (:mod:`analysis.basket.spec` and each registered
  borrowing method, found by asking the reader what it allows); a key without
  a description is marked ``undocumented`` (``docs/_build/design-files.md``
  and ``.html``);
- the map of the paper (:mod:`analysis.review.papermap`,
  ``docs/_build/paper-map.md``).

``python -m analysis.review.reference --out docs/_build`` builds them.  A test
fails when a public verb (a name in a stage package's ``__all__``) has no
numpydoc ``Parameters`` section, or a key no description.
"""

from __future__ import annotations

import argparse
import html
import importlib
import inspect
import re
import types
import typing
import warnings
from dataclasses import dataclass
from pathlib import Path

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

#: the packages whose API pages are built (the pipeline's stages and the reviewer's tools)
PACKAGES = (
    "analysis.data",
    "analysis.frequentist",
    "analysis.bayes",
    "analysis.priors",
    "analysis.basket",
    "analysis.publish",
    "analysis.review",
)
UNDOCUMENTED = "undocumented"


# -- public verbs -----------------------------------------------------------------------------------------------
def public_verbs() -> dict[str, object]:
    """Every public name the stage packages export (their ``__all__``) that can be called.

    Returns
    -------
    dict
        Qualified name (``analysis.priors.oc1S``) -> the function or class.
    """
    found = {}
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if callable(obj) and not (inspect.isclass(obj) and issubclass(obj, BaseException)):
                found[f"{package}.{name}"] = obj
    return found


def missing_sections(obj) -> list[str]:
    """The numpydoc sections a public verb's docstring lacks (``Parameters`` when it takes any).

    Parameters
    ----------
    obj : function or class
        A public verb; a class documents its constructor's parameters in ``Parameters`` (or ``Attributes``).

    Returns
    -------
    list of str
        ``["docstring"]`` when there is none, else the missing section names; empty when complete.
    """
    doc = inspect.getdoc(obj) or ""
    if not doc.strip():
        return ["docstring"]
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    takes = [p for p in signature.parameters.values() if p.name not in ("self", "cls")]
    sections = set(re.findall(r"^(\w[\w ]*)\n-{3,}\s*$", doc, flags=re.M))
    if takes and not sections & ({"Parameters", "Attributes"} if inspect.isclass(obj) else {"Parameters"}):
        return ["Parameters"]
    return []


# -- design-file keys -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Key:
    """One key of a design file.

    Parameters
    ----------
    file : str
        ``priors`` (``python -m analysis priors``) or ``basket`` (``python -m analysis design``).
    table : str
        Where it stands: ``(top level)``, ``[[prior]]``, ``[[design]] type = "one-sample"``, ...
    key : str
        The key.
    kind : str
        Its type and range as the reader checks them.
    default : str
        ``required``, or the default.
    description : str
        From the schema, or ``undocumented``.
    """

    file: str
    table: str
    key: str
    kind: str
    default: str
    description: str


_CONSTRAINTS = (
    (annotated_types.Ge, "ge", ">="),
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Le, "le", "<="),
    (annotated_types.Lt, "lt", "<"),
    (annotated_types.MinLen, "min_length", "length >="),
    (annotated_types.MaxLen, "max_length", "length <="),
)


def _constraints(metadata) -> list[str]:
    out = []
    for m in metadata:
        if isinstance(m, FieldInfo):
            out += _constraints(m.metadata)
        for cls, attr, sign in _CONSTRAINTS:
            if isinstance(m, cls):
                out.append(f"{sign} {getattr(m, attr)}")
        pattern = getattr(m, "pattern", None)
        if isinstance(pattern, str):
            out.append(f"matches {pattern}")
    return out


def _type_text(tp) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        inner = _type_text(args[0])
        limits = _constraints(args[1:])
        return f"{inner} ({', '.join(limits)})" if limits else inner
    if origin in (typing.Union, types.UnionType):
        parts = list(dict.fromkeys(_type_text(a) for a in args if a is not type(None)))
        if "integer" in parts and "number" in parts:  # a whole number is a number
            parts.remove("integer")
        return " or ".join(parts)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (list, tuple):
        inner = ", ".join(_type_text(a) for a in args if a is not Ellipsis)
        return f"list of {inner}" if origin is list else f"({inner})"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "table"
    names = {int: "integer", float: "number", str: "string", bool: "true/false"}
    if tp in names:
        return names[tp]
    name = getattr(tp, "__name__", str(tp))
    return {"StrictInt": "integer", "StrictFloat": "number"}.get(name, name)


def _models_in(tp) -> list[type[BaseModel]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [m for a in typing.get_args(tp) for m in _models_in(a)]


def _is_list(tp) -> bool:
    if typing.get_origin(tp) is list:
        return True
    return any(_is_list(a) for a in typing.get_args(tp) if typing.get_origin(tp) is not typing.Literal)


def _model_label(model: type[BaseModel]) -> str:
    field = model.model_fields.get("type")
    if field is not None and typing.get_origin(field.annotation) is typing.Literal:
        return f'type = "{typing.get_args(field.annotation)[0]}"'
    return ""


def schema_keys(model: type[BaseModel], file: str, path: str = "", label: str = "") -> list[Key]:
    """Every key of a pydantic schema and of the tables nested in it.

    Parameters
    ----------
    model : pydantic model class
        The schema of the file (or of a table in it).
    file : str
        The file's name in the reference.
    path : str
        The table's dotted name in the file (empty: the top level).
    label : str
        How the table is written in the file (``[[prior]]``, ``[design.sensitivity]``).

    Returns
    -------
    list of Key
        Its keys, then those of each nested table.
    """
    keys, nested = [], []
    for name, field in model.model_fields.items():
        kind = _type_text(field.annotation)
        limits = _constraints(field.metadata)
        if limits:
            kind = f"{kind} ({', '.join(limits)})"
        default = "required" if field.is_required() else repr(field.get_default(call_default_factory=True))
        default = "optional" if default == "None" else default
        description = " ".join((field.description or "").split()) or UNDOCUMENTED
        keys.append(Key(file, label or "(top level)", name, kind, default, description))
        for sub in _models_in(field.annotation):
            dotted = f"{path}.{name}" if path else name
            where = f"[[{dotted}]]" if _is_list(field.annotation) else f"[{dotted}]"
            nested.append((sub, dotted, f"{where} {_model_label(sub)}".strip()))
    for sub, dotted, where in nested:
        keys += schema_keys(sub, file, dotted, where)
    return keys


class _Probe(Exception):
    pass


_PROBE = "zz_probe_zz"


def _allowed(spec: dict) -> list[str]:
    """The keys the basket reader allows where ``spec`` holds the probe key (from its refusal)."""
    from analysis.basket.checks import DesignError
    from analysis.basket.spec import parse

    try:
        parse(spec, "probe")
    except DesignError as err:
        m = re.search(rf"unknown key '{_PROBE}'; allowed: (.*)$", str(err))
        if m:
            return [k.strip() for k in m.group(1).split(",")]
        raise _Probe(str(err)) from err
    raise _Probe("the reader accepted an unknown key")


def basket_keys(example: Path) -> list[Key]:
    """Every key of the basket design file, as the reader (:mod:`analysis.basket.spec`) checks it.

    The keys are those the reader allows in each table (it lists them when it refuses an unknown key);
    every registered borrowing method's table is asked in turn. Descriptions come from
    :mod:`analysis.basket.keys` and each method's ``key_docs``.

    Parameters
    ----------
    example : Path
        A valid design file (``config/basket.toml``) in which each table is probed.

    Returns
    -------
    list of Key
        One per key and table (``undocumented`` where no description is written).
    """
    import copy
    import tomllib

    from analysis.basket import keys as docs
    from analysis.basket import methods

    base = tomllib.loads(Path(example).read_text(encoding="utf-8"))
    base.setdefault("scenarios", {"generate": ["null"]})
    k = len(base["indication"])

    def probe(where: str, edit, method=None) -> list[Key]:
        spec = copy.deepcopy(base)
        edit(spec)
        return [
            Key("basket", where, key, "checked by the reader", "-", docs.describe(where, key, method) or UNDOCUMENTED)
            for key in _allowed(spec)
        ]

    keys = probe("(top level)", lambda s: s.update({_PROBE: 1}))
    keys += probe("[design]", lambda s: s["design"].update({_PROBE: 1}))
    keys += probe("[[indication]]", lambda s: s["indication"][0].update({_PROBE: 1}))
    for kind in methods.REGISTRY:
        keys += probe(
            f'[method.NAME] type = "{kind}"',
            lambda s, kind=kind: s.update({"method": {"probe": {"type": kind, _PROBE: 1}}}),
            methods.REGISTRY[kind],
        )
    keys += probe("[scenarios]", lambda s: s["scenarios"].update({_PROBE: 1}))
    keys += probe("[[scenario]]", lambda s: s.update({"scenario": [{"name": "x", "p": [0.5] * k, _PROBE: 1}]}))
    keys += probe("[calibration]", lambda s: s.update({"calibration": {"alpha": 0.1, _PROBE: 1}}))
    keys += probe("[search]", lambda s: s.update({"search": {"n_min": 10, "n_max": 12, _PROBE: 1}}))
    return keys


def design_file_keys(root: Path) -> list[Key]:
    """Every key of both design files.

    Parameters
    ----------
    root : Path
        The project folder (for ``config/basket.toml``, the example the basket reader is probed with).

    Returns
    -------
    list of Key
        The priors file's keys, then the basket file's.
    """
    from analysis.priors.schema import Spec

    return schema_keys(Spec, "priors") + basket_keys(Path(root) / "config/basket.toml")


def format_keys(keys: list[Key]) -> str:
    """The keys as Markdown: one section per file, one table per TOML table.

    Parameters
    ----------
    keys : list of Key
        From :func:`design_file_keys`.

    Returns
    -------
    str
        The reference page.
    """
    titles = {
        "priors": "Priors and designs file (`python -m analysis priors FILE.toml`; schema `analysis/priors/schema.py`)",
        "basket": "Basket design file (`python -m analysis design FILE.toml`; reader `analysis/basket/spec.py`)",
    }
    lines = ["# Design-file keys", "", "Generated from the readers' schemas by `make docs`; do not edit.", ""]
    for file in dict.fromkeys(k.file for k in keys):
        lines += [f"## {titles.get(file, file)}", ""]
        mine = [k for k in keys if k.file == file]
        for table in dict.fromkeys(k.table for k in mine):
            lines += [f"### `{table}`", "", "| key | type | default | description |", "|:---|:---|:---|:---|"]
            for k in (k for k in mine if k.table == table):
                cell = k.description if k.description != UNDOCUMENTED else f"*{UNDOCUMENTED}*"
                # a '|' in any cell (P(p > p0 | data), 'beta' | 'normal') would end the cell: escaped
                kind, default, cell = (text.replace("|", "\\|") for text in (k.kind, k.default, cell))
                lines.append(f"| `{k.key}` | {kind} | {default} | {cell} |")
            lines.append("")
    return "\n".join(lines)


# -- the build --------------------------------------------------------------------------------------------------
def _page(title: str, body_html: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>body{{font-family:system-ui,sans-serif;margin:2em;"
        "max-width:80em}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.25em .6em;"
        "text-align:left;vertical-align:top}code{font-size:.92em}</style></head><body>\n"
        f"{body_html}\n</body></html>\n"
    )


def build(out: Path, root: Path) -> list[Path]:
    """Build the reference into ``out``: API pages, design-file keys and the map of the paper.

    Parameters
    ----------
    out : Path
        The output folder (``docs/_build``); written afresh.
    root : Path
        The project folder (Makefile, manuscript, config).

    Returns
    -------
    list of Path
        The pages written.
    """
    import markdown2
    import pdoc
    import pdoc.render

    from analysis.io import write_text
    from analysis.review.papermap import format_markdown, paper_map

    out = Path(out)
    pdoc.render.configure(docformat="numpy", show_source=True, search=True, footer_text="cart-autoimmune-analysis")
    with warnings.catch_warnings():  # a forward reference pdoc cannot resolve is shown as written
        warnings.filterwarnings("ignore", message="Error parsing type annotation", category=UserWarning)
        pdoc.pdoc(*PACKAGES, output_directory=out / "api")
    keys_md = format_keys(design_file_keys(root))
    map_md = "# Map of the paper\n\nGenerated by `python -m analysis map`; do not edit.\n\n" + format_markdown(
        paper_map(root / "manuscript", root / "Makefile")
    )
    written = []
    for name, text in (("design-files", keys_md), ("paper-map", map_md)):
        write_text(out / f"{name}.md", text)
        # code-friendly: an underscore is a character of a name (theta_t, p_c), never emphasis
        body = markdown2.markdown(text, extras=["tables", "fenced-code-blocks", "code-friendly"])
        write_text(out / f"{name}.html", _page(name, body))
        written += [out / f"{name}.md", out / f"{name}.html"]
    links = "".join(
        f"<li><a href='{href}'>{html.escape(text)}</a></li>"
        for href, text in (
            ("api/index.html", "API reference (pdoc, from the docstrings)"),
            ("design-files.html", "Keys of the priors and basket design files"),
            ("paper-map.html", "Map of the paper: step, results files and code of every table and figure"),
        )
    )
    write_text(out / "index.html", _page("Reference", f"<h1>Reference</h1><ul>{links}</ul>"))
    return [out / "index.html", out / "api/index.html", *written]


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.review.reference --out docs/_build``.

    Parameters
    ----------
    argv : list of str, optional
        The command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code, 0.
    """
    p = argparse.ArgumentParser(prog="python -m analysis.review.reference", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("docs/_build"), help="output folder (default: %(default)s)")
    p.add_argument("--root", type=Path, default=Path("."), help="project folder (default: %(default)s)")
    args = p.parse_args(argv)
    for path in build(args.out, args.root):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["Key", "build", "design_file_keys", "format_keys", "missing_sections", "public_verbs", "schema_keys"]
