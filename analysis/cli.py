"""Command line: ``python -m analysis VERB ...``; ``python -m analysis -h`` lists the verbs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.settings import COHORTS, INDEX_STUDY, RESULTS


def cmd_validate(args: argparse.Namespace) -> int:
    from analysis.data import validate

    status = 0
    for path in args.paths:
        errors = validate(path)
        if errors:
            status = 1
            print(f"{path}: {len(errors)} error(s)", file=sys.stderr)
            for e in errors:
                print(f"  {path}: {e}", file=sys.stderr)
        else:
            print(f"{path}: ok")
    return status


def cmd_frequentist(args: argparse.Namespace) -> int:
    from analysis.frequentist import run

    est, tests = run(args.index, args.cohorts, args.out)
    print(f"wrote {len(est)} estimates and {len(tests)} tests to {args.out}")
    return 0


def cmd_combine(args: argparse.Namespace) -> int:
    from analysis.combine import combine

    df = combine(args.inputs, args.out)
    print(f"wrote {len(df)} rows to {args.out}")
    return 0


def cmd_provenance(args: argparse.Namespace) -> int:
    from analysis.io import write_json
    from analysis.provenance import provenance

    write_json(args.out, provenance([args.index, args.cohorts]))
    print(f"wrote {args.out}")
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    from analysis.report_build import build_figures

    for p in build_figures(args.results, args.out):
        print(f"wrote {p}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from analysis.report_build import build_report

    for p in build_report(args.results, args.manuscript):
        print(f"wrote {p}")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from analysis.render import RenderError, render

    try:
        for p in render(args.manuscript, force_fallback=args.fallback):
            print(f"wrote {p}")
    except RenderError as err:
        print(f"render failed: {err}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    sub = p.add_subparsers(dest="verb", required=True)

    v = sub.add_parser("validate", help="check data files against their schema; exit 1 listing every error")
    v.add_argument("paths", nargs="+", type=Path)
    v.set_defaults(func=cmd_validate)

    def data_args(q: argparse.ArgumentParser) -> None:
        q.add_argument("--index", type=Path, default=INDEX_STUDY, help="index-study counts (CSV)")
        q.add_argument("--cohorts", type=Path, default=COHORTS, help="published cohorts (CSV)")

    f = sub.add_parser("frequentist", help="exact intervals, benchmark tests, heterogeneity, meta-analysis")
    data_args(f)
    f.add_argument("--out", type=Path, default=RESULTS / "frequentist")
    f.set_defaults(func=cmd_frequentist)

    c = sub.add_parser("combine", help="concatenate partial estimates files into results/estimates.csv")
    c.add_argument("inputs", nargs="+", type=Path)
    c.add_argument("--out", type=Path, default=RESULTS / "estimates.csv")
    c.set_defaults(func=cmd_combine)

    pv = sub.add_parser("provenance", help="write results/provenance.json")
    data_args(pv)
    pv.add_argument("--out", type=Path, default=RESULTS / "provenance.json")
    pv.set_defaults(func=cmd_provenance)

    fg = sub.add_parser("figures", help="draw the manuscript figures from results/")
    fg.add_argument("--results", type=Path, default=RESULTS)
    fg.add_argument("--out", type=Path, default=Path("manuscript/figures"))
    fg.set_defaults(func=cmd_figures)

    r = sub.add_parser("report", help="write manuscript tables, _variables.yml and colophon from results/")
    r.add_argument("--results", type=Path, default=RESULTS)
    r.add_argument("--manuscript", type=Path, default=Path("manuscript"))
    r.set_defaults(func=cmd_report)

    rd = sub.add_parser("render", help="render the manuscript (Quarto, or pandoc + Typst without it)")
    rd.add_argument("--manuscript", type=Path, default=Path("manuscript"))
    rd.add_argument("--fallback", action="store_true", help="use pandoc + Typst even when Quarto is installed")
    rd.set_defaults(func=cmd_render)
    return p


def main(argv: list[str] | None = None) -> int:
    from analysis.data import DataError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
