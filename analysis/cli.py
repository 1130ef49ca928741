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


def _mcmc(args: argparse.Namespace):
    from dataclasses import replace

    from analysis.settings import MCMC_DEFAULT, MCMC_FAST

    base = MCMC_FAST if args.fast else MCMC_DEFAULT
    overrides = {
        k: getattr(args, k)
        for k in ("draws", "tune", "chains", "seed", "target_accept", "sampler")
        if getattr(args, k) is not None
    }
    return replace(base, **overrides)


def _models(args: argparse.Namespace):
    from dataclasses import replace

    from analysis.models import DEFAULT_MODELS, Prior

    names = args.model or list(DEFAULT_MODELS)
    unknown = [m for m in names if m not in DEFAULT_MODELS]
    if unknown:
        raise SystemExit(f"unknown model(s) {unknown}; expected some of {list(DEFAULT_MODELS)}")
    overrides = {}
    for item in args.prior or []:
        key, _, value = item.partition("=")
        if not value:
            raise SystemExit(f"--prior {item!r}: expected NAME=DIST(...), e.g. tau=HalfNormal(0.5)")
        try:
            overrides[key.strip()] = Prior.parse(value)
        except ValueError as err:
            raise SystemExit(f"--prior {item!r}: {err}") from err
    models = {}
    for name in names:
        spec = DEFAULT_MODELS[name]
        mine = {k: v for k, v in overrides.items() if k in spec.priors}
        models[name] = spec.with_priors(**mine) if mine else spec
        if args.exnex_weight is not None and spec.kind == "exnex":
            models[name] = replace(models[name], exnex_weight=args.exnex_weight)
    used = {k for m in models.values() for k in m.priors}
    if set(overrides) - used:
        raise SystemExit(f"--prior names {sorted(set(overrides) - used)} match no parameter of {names}")
    return models


def cmd_bayes(args: argparse.Namespace) -> int:
    from analysis.bayes import run
    from analysis.fit import ConvergenceError

    try:
        est = run(args.index, args.out, _mcmc(args), _models(args))
    except ConvergenceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    print(est[est["analysis"] == "bayes"][["method", "group", "estimate", "lower", "upper"]].to_string(index=False))
    print(f"wrote results to {args.out}")
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from analysis.fit import ConvergenceError
    from analysis.sensitivity import run

    try:
        table = run(args.index, args.cohorts, args.out, _mcmc(args))
    except ConvergenceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    print(f"wrote {len(table)} rows to {args.out / 'sensitivity.csv'}")
    return 0


def cmd_priors(args: argparse.Namespace) -> int:
    from analysis.fit import ConvergenceError
    from analysis.priors.spec import SpecError, run

    try:
        out = run(args.spec, args.out, cohorts_path=args.cohorts)
    except (SpecError, ConvergenceError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for name, p in out["priors"].items():
        ess = p["ess"]["robust"]
        fmt = ", ".join(f"{k} {v:.1f}" if v is not None else f"{k} undefined" for k, v in ess.items())
        s = p["summary"]
        print(f"prior {name}: mean {s['mean']:.3f}, 95% interval {s['q025']:.3f} to {s['q975']:.3f}; ESS {fmt}")
        print(
            f"  {len(p['mixture']['components'])} components: "
            + "; ".join(f"{c['w']:.3f} x Beta({c['a']:.3g}, {c['b']:.3g})" for c in p["mixture"]["components"])
        )
    for name, d in out["designs"].items():
        if d["type"] == "one-sample":
            for prior, e in d["priors"].items():
                extra = f", probability of success {e['pos']:.3f}" if "pos" in e else ""
                print(f"design {name} with prior {prior}: success if >= {e['boundary']} of {d['n']} respond{extra}")
        else:
            print(f"design {name}: boundaries {d['boundary']}")
    if not args.no_figures:
        from analysis.figures import priors_figures

        for p in priors_figures(args.out, out):
            print(f"wrote {p}")
    print(f"wrote {args.out / 'priors.json'} and {args.out / 'designs.json'}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import json

    from analysis.bench import run

    result = run(args.out)
    print(json.dumps(result, indent=2, default=str))
    return 0


def cmd_design(args: argparse.Namespace) -> int:
    from analysis.basket.executor import Executor
    from analysis.basket.run import format_table, run
    from analysis.basket.spec import DesignError, load

    try:
        design = load(args.spec)
    except DesignError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    ex = Executor(workers=args.workers, scheduler=args.scheduler, progress=True)
    res = run(design, args.out, ex, figures=not args.no_figures)
    print(format_table(res["table"]))
    for p in res["paths"]:
        print(f"wrote {p}")
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

    def mcmc_args(q: argparse.ArgumentParser) -> None:
        q.add_argument("--sampler", choices=["pymc", "nutpie", "numpyro"], help="NUTS implementation")
        q.add_argument("--draws", type=int)
        q.add_argument("--tune", type=int)
        q.add_argument("--chains", type=int)
        q.add_argument("--seed", type=int, help="sampler seed (recorded in the provenance sidecar)")
        q.add_argument("--target-accept", type=float, dest="target_accept")
        q.add_argument("--fast", action="store_true", help="the quick preset used by the tests (not for the paper)")

    b = sub.add_parser("bayes", help="fit the Bayesian models (all, or --model NAME ...) with optional prior overrides")
    data_args(b)
    mcmc_args(b)
    b.add_argument("--model", action="append", help="independent, pooled, hierarchical, exnex (repeatable)")
    b.add_argument(
        "--prior",
        action="append",
        metavar="NAME=DIST",
        help="override a prior, e.g. tau=HalfNormal(0.5) or mu='Normal(0, 2)' (repeatable)",
    )
    b.add_argument("--exnex-weight", type=float, dest="exnex_weight", help="prior probability of exchangeability")
    b.add_argument("--out", type=Path, default=RESULTS / "bayes")
    b.set_defaults(func=cmd_bayes)

    s = sub.add_parser("sensitivity", help="refit under every prior and data scenario of the sensitivity analysis")
    data_args(s)
    mcmc_args(s)
    s.add_argument("--out", type=Path, default=RESULTS / "bayes")
    s.set_defaults(func=cmd_sensitivity)

    pr = sub.add_parser("priors", help="MAP priors, robust mixtures, ESS and design OC from a TOML spec file")
    pr.add_argument("spec", type=Path, help="prior/design specification (see config/follow_up.toml)")
    pr.add_argument("--cohorts", type=Path, default=COHORTS, help="published cohorts, for priors given by disease")
    pr.add_argument("--out", type=Path, default=RESULTS / "priors")
    pr.add_argument("--no-figures", action="store_true", help="write JSON only")
    pr.set_defaults(func=cmd_priors)

    bn = sub.add_parser("bench", help="benchmarks: samplers' ESS per second, pipeline time, exact vs simulated OC")
    bn.add_argument("--out", type=Path, default=RESULTS / "bench.json")
    bn.set_defaults(func=cmd_bench)

    dg = sub.add_parser("design", help="basket design: operating characteristics of borrowing methods (TOML file)")
    dg.add_argument("spec", type=Path, help="design file (see config/basket.toml)")
    dg.add_argument("--out", type=Path, default=RESULTS / "basket")
    dg.add_argument("--scheduler", help="Dask scheduler address (default: local processes)")
    dg.add_argument("--workers", type=int, help="local worker processes (default 2; 1 = in this process)")
    dg.add_argument("--no-figures", action="store_true", dest="no_figures")
    dg.set_defaults(func=cmd_design)

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
