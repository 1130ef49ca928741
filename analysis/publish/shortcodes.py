"""Quarto's ``{{< include >}}``, ``{{< var >}}`` and ``{{< meta >}}`` shortcodes, and values that print as typed.

Shared by the renderer (:mod:`analysis.publish.render`, whose fallback expands the shortcodes
itself), the BARG checklist (:mod:`analysis.publish.checklist`, which numbers the paper's labels
from the expanded text) and the report step (:mod:`analysis.publish.build`, which writes
``_variables.yml``); it imports none of them, so none imports another through it.

Quarto reads every value of ``_variables.yml`` as Markdown: ``'>0.999'`` is a block quote
there and prints "0.999".  :func:`markdown_literal` escapes the characters Markdown gives a
meaning to, so a value prints as it was computed under Quarto and under the fallback alike (the
fallback substitutes the escaped text into the Markdown before pandoc reads it).
"""

from __future__ import annotations

import re
from pathlib import Path

#: a quoted variable, ``{{< var KEY >}}`` (group 1: the dotted key)
VAR = re.compile(r"\{\{<\s*var\s+([^\s>]+)\s*>\}\}")
SHORTCODE = re.compile(r"\{\{<\s*(\w+)\s+([^>]*?)\s*>\}\}")
# characters that start Markdown syntax anywhere in a line (emphasis, code, links, raw HTML, block
# quotes, headings, tables, strike-out, super/subscript, math, citations); a backslash escapes each
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~^$@])")


class RenderError(RuntimeError):
    """The manuscript could not be rendered, or its outputs are not what was asked for."""


def markdown_literal(value):
    """A value as Markdown that prints it unchanged: special characters backslash-escaped.

    Parameters
    ----------
    value
        A string (escaped), a number or bool (returned as is), or a dict or list of them
        (escaped item by item).

    Returns
    -------
    The same structure with every string escaped.

    References
    ----------
    Pandoc's Markdown: "Backslash escapes" (any ASCII punctuation character may be escaped).
    """
    if isinstance(value, str):
        return MARKDOWN_SPECIAL.sub(r"\\\1", value)
    if isinstance(value, dict):
        return {k: markdown_literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [markdown_literal(v) for v in value]
    return value


def _lookup(variables: dict, key: str, source: Path):
    node = variables
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise RenderError(f"{source}: unknown variable '{key}' (not in _variables.yml)")
        node = node[part]
    if isinstance(node, dict):
        raise RenderError(f"{source}: variable '{key}' is a group, not a value")
    return node


def expand(text: str, base: Path, variables: dict, source: Path, depth: int = 0, meta: dict | None = None) -> str:
    """Expand Quarto's include and var shortcodes the way Quarto does.

    Parameters
    ----------
    text
        Markdown with shortcodes.
    base
        The folder includes are relative to.
    variables
        The parsed ``_variables.yml``.
    source
        The file ``text`` came from (named in errors).
    depth
        Include depth (more than 10 fails).
    meta
        Metadata for ``{{< meta key >}}`` (the ``metadata-files`` of ``_quarto.yml``); ``None`` leaves
        meta shortcodes as they are (for counting labels before that metadata exists).

    Returns
    -------
    The text with every shortcode replaced.

    Raises
    ------
    RenderError
        On an unknown variable, a missing include or a shortcode the fallback does not know.
    """
    if depth > 10:
        raise RenderError(f"{source}: includes nested more than 10 deep")

    def sub(m: re.Match) -> str:
        name, arg = m.group(1), m.group(2).strip()
        if name == "var":
            return str(_lookup(variables, arg, source))
        if name == "meta":
            if meta is None:
                return m.group(0)
            try:
                return str(_lookup(meta, arg, source))
            except RenderError:
                raise RenderError(
                    f"{source}: unknown metadata '{arg}' (not in the metadata-files of _quarto.yml)"
                ) from None
        if name == "include":
            path = base / arg
            if not path.is_file():
                raise RenderError(f"{source}: included file not found: {path}")
            return expand(path.read_text(encoding="utf-8"), path.parent, variables, path, depth + 1, meta)
        raise RenderError(f"{source}: shortcode '{name}' is not supported by the fallback renderer")

    out = SHORTCODE.sub(sub, text)
    if "{{<" in (SHORTCODE.sub("", out) if meta is None else out):
        raise RenderError(f"{source}: malformed shortcode left after expansion")
    return out
