"""Tools for reviewers: what a change did to the paper, which step, results file and code made each table and
figure, and the reference documentation.

- :mod:`~analysis.review.diff`: ``python -m analysis diff OLD NEW``, every number that differs and its places;
- :mod:`~analysis.review.papermap`: ``python -m analysis map``, the map of the paper;
- :mod:`~analysis.review.paper`: the paper's tables, figures and quoted-number places, read from its sources;
- :mod:`~analysis.review.reference`: ``make docs``, API pages and the design files' keys.
"""

from analysis.review.diff import diff, format_html, format_text, load_side, reproduce_view
from analysis.review.paper import read_paper
from analysis.review.papermap import format_markdown, paper_map
from analysis.review.reference import build, design_file_keys, format_keys

__all__ = [
    "build",
    "design_file_keys",
    "diff",
    "format_html",
    "format_keys",
    "format_markdown",
    "format_text",
    "load_side",
    "paper_map",
    "read_paper",
    "reproduce_view",
]
