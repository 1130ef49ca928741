"""Command line: ``python -m analysis VERB ...``; ``python -m analysis -h`` lists the verbs."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from pathlib import Path

from analysis.errors import EXIT_BUG, EXIT_INPUT, UsageError, classify
from analysis.settings import COHORTS, INDEX_STUDY, PRIORS_SPEC, RESULTS

#: Where an ad-hoc run writes without ``--out``: never the paper's ``results/`` (the Makefile passes ``--out``
#: to every step of the paper), so that ``design my.toml`` cannot overwrite the paper's basket results.
SCRATCH = Path("scratch")


def cmd_validate(args: argparse.Namespace) -> int:
    """Every problem of a data set at once: each file's own and those between files (exit 2 if any)."""
    from analysis.data.dataset import PAPER, absent, check, paths_in, role_of
    from analysis.data.schema import DataError

    if args.paths and args.data:
        raise UsageError("validate: give files or --data FOLDER, not both")
    spec = args.spec
    if args.paths:
        roles: dict[str, list[Path]] = {}
        for path in args.paths:
            try:
                role = role_of(path)
            except (DataError, OSError, UnicodeDecodeError):
                role = "index"  # unreadable: its reader reports why
            roles.setdefault(role, []).append(path)
        # the files of one data set are checked together; two files of one role each alone
        sets = (
            [{r: ps[0] for r, ps in roles.items()}]
            if all(len(ps) == 1 for ps in roles.values())
            else [{r: p} for r, ps in roles.items() for p in ps]
        )
    else:
        sets = [paths_in(args.data) if args.data else PAPER]
        spec = spec or (None if args.data else PRIORS_SPEC)
    problems: dict[Path, list[str]] = {}
    for paths in sets:
        for path, meaning in absent(paths).items():
            print(f"{path}: absent ({meaning})")
        found, rows = check(paths)
        for path, errors in found.items():
            problems.setdefault(path, []).extend(errors)
        if spec is not None and "cohorts" in paths and not found.get(Path(paths["cohorts"])):
            from analysis.priors.datacheck import spec_problems

            index = paths["index"] if "index" in paths and not found[Path(paths["index"])] else None
            problems.setdefault(Path(spec), []).extend(spec_problems(spec, paths["cohorts"], index))
    if not args.paths:  # a data folder holds its study metadata too (analysis.publish.study)
        from analysis.publish.study import FILE_NAME
        from analysis.publish.study import problems as study_problems
        from analysis.settings import DATA_RAW

        study = Path(args.data or DATA_RAW) / FILE_NAME
        problems.setdefault(study, []).extend(study_problems(study))
        index = Path(sets[0].get("index", ""))
        if index.is_file() and not problems.get(index):  # its quotes of counts (the rest at the report step)
            from analysis.data import endpoint_counts, load_index
            from analysis.publish.study import quote_problems

            counts = endpoint_counts(load_index(index))
            problems[study] += quote_problems(study, {f"{e}_{g}" for e, g in zip(counts["endpoint"], counts["group"])})
    total = sum(len(e) for e in problems.values())
    for path, errors in problems.items():
        if errors:
            print(f"{path}: {len(errors)} problem(s)", file=sys.stderr)
            for e in errors:
                print(f"  {path}: {e}", file=sys.stderr)
        else:
            print(f"{path}: ok")
    if total:
        print(f"{total} problem(s) in {sum(1 for e in problems.values() if e)} file(s)", file=sys.stderr)
    return EXIT_INPUT if total else 0


def cmd_cohort(args: argparse.Namespace) -> int:
    from analysis.publish.cohort import build, default_out, default_spec

    args.spec = args.spec or default_spec(args.data)
    args.out = args.out or default_out(args.data)
    print(f"[cohort] data {args.data}, spec {args.spec}, output {args.out}", file=sys.stderr)
    try:
        failed, code = build(args.data, args.spec, args.out, basket=args.basket)
    except ValueError as err:
        raise UsageError(f"--out {err}") from err
    if failed is None:
        print(f"[cohort] the report is in {args.out / 'manuscript' / '_manuscript'}")
        return 0
    kept = (
        "the earlier report there is unchanged"
        if args.out.is_dir() and any(args.out.iterdir())
        else "nothing was written there"
    )
    print(f"[cohort] stopped at step '{failed}' (exit {code}); {args.out}: {kept}", file=sys.stderr)
    return code


def cmd_frequentist(args: argparse.Namespace) -> int:
    from analysis.frequentist.step import run

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

    from analysis.bayes.models import DEFAULT_MODELS, REGISTRY, PriorError
    from analysis.bayes.prior import Prior

    names = args.model or list(DEFAULT_MODELS)
    unknown = [m for m in names if m not in REGISTRY]
    if unknown:
        raise UsageError(f"--model: unknown model(s) {unknown}; expected some of {list(REGISTRY)}")
    overrides = {}
    for item in args.prior or []:
        key, _, value = item.partition("=")
        if not value:
            raise UsageError(f"--prior {item!r}: expected NAME=DIST(...), e.g. tau=HalfNormal(0.5)")
        try:
            overrides[key.strip()] = Prior.parse(value)
        except ValueError as err:
            raise UsageError(f"--prior {item!r}: {err}") from err
    weight, group_weights = None, {}
    for group, w in args.exnex_weight or []:
        if group is None:
            weight = w
        elif group in group_weights:
            raise UsageError(f"--exnex-weight: group {group!r} is given twice")
        else:
            group_weights[group] = w
    group_nex = {}
    for item in args.nex_prior or []:
        group, sep, value = item.partition("=")
        group = group.strip()
        if not sep or not group:
            raise UsageError(f"--nex-prior {item!r}: expected GROUP=Normal(m, s)")
        if group in group_nex:
            raise UsageError(f"--nex-prior: group {group!r} is given twice")
        try:
            prior = Prior.parse(value)
        except ValueError as err:
            raise UsageError(f"--nex-prior {item!r}: {err}") from err
        if prior.dist != "Normal":
            raise UsageError(f"--nex-prior {item!r}: the non-exchangeable prior must be Normal(m, s)")
        group_nex[group] = tuple(prior.params)
    several = [n for n in names if "component_weights" in REGISTRY[n]().settings()]
    if (weight is not None or group_weights) and several:
        raise UsageError(
            f"--exnex-weight sets the one weight of 'exnex'; {several} has a weight per component "
            "(set them in Python: Exnex2(weight1=..., weight2=..., group_weights=...))"
        )
    models = {}
    for name in names:
        spec = DEFAULT_MODELS.get(name) or REGISTRY[name]()
        mine = {k: v for k, v in overrides.items() if k in spec.parameters}
        try:
            models[name] = spec.with_priors(**mine) if mine else spec
            if weight is not None and "exnex_weight" in spec.settings():
                models[name] = replace(models[name], exnex_weight=weight)
            if group_weights and "exnex_weight" in spec.settings():
                models[name] = replace(models[name], group_weights=group_weights)
            if group_nex and "group_nex" in spec.settings():
                models[name] = replace(models[name], group_nex=group_nex)
        except (PriorError, ValueError) as err:
            raise UsageError(str(err)) from err
    takes = [m for m in models.values() if "group_nex" in m.settings()]
    if (group_weights or group_nex) and not takes:
        raise UsageError(f"--exnex-weight GROUP=W and --nex-prior apply to EXNEX models; none of {names} is one")
    if (weight is not None or group_weights) and not any("exnex_weight" in m.settings() for m in models.values()):
        raise UsageError(f"--exnex-weight applies to the 'exnex' model; none of {names} is one")
    used = {k for m in models.values() for k in m.parameters}
    if set(overrides) - used:
        raise UsageError(f"--prior names {sorted(set(overrides) - used)} match no parameter of {names}")
    return models


def _fits_progress(label: str, total: int):
    """A progress line counting the MCMC fits of a step (each ``fit_model`` call), naming the sampler compiled."""
    from analysis.bayes import step
    from analysis.bayes.sampling import programs
    from analysis.progress import Progress, track

    progress = Progress(label, total)
    stack = contextlib.ExitStack()
    stack.enter_context(progress)
    stack.enter_context(track(step, "fit_model", progress, describe=lambda spec, *a, **k: f"fitting {spec.kind}"))
    stack.enter_context(
        track(
            programs,
            "_trace",
            progress,
            describe=lambda spec, *a, **k: f"compiling the {spec.kind} sampler",
            count=False,
        )
    )
    return stack


def cmd_bayes(args: argparse.Namespace) -> int:
    from analysis.bayes.step import run

    models = _models(args)
    with _fits_progress("Bayesian fits", len(models)):
        est = run(args.index, args.out, _mcmc(args), models)
    print(est[est["analysis"] == "bayes"][["method", "group", "estimate", "lower", "upper"]].to_string(index=False))
    print(f"wrote results to {args.out}")
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from analysis.bayes.sensitivity import has_external, run, scenarios
    from analysis.priors.datacheck import leave_out_setting

    chosen = scenarios(leave_out_setting(args.spec, args.index), has_external(args.index, args.cohorts))
    with _fits_progress("sensitivity fits", sum(not s.exact for s in chosen)):  # exact ones: no MCMC
        table = run(args.index, args.cohorts, args.out, _mcmc(args), chosen)
    print(f"wrote {len(table)} rows to {args.out / 'sensitivity.csv'}")
    return 0


def cmd_priors(args: argparse.Namespace) -> int:
    import importlib
    import tomllib

    from analysis.priors.spec import format_summary, run
    from analysis.progress import Progress, track

    try:  # the items: one MCMC fit per MAP prior, one evaluation per design (the file is checked by run)
        table = tomllib.loads(args.spec.read_text(encoding="utf-8"))
        total = sum("mixture" not in p for p in table.get("prior", [])) + len(table.get("design", []))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, TypeError, AttributeError):
        total = None
    # the modules (the package exports functions of the same names)
    gmap, spec = (importlib.import_module(f"analysis.priors.{m}") for m in ("gmap", "spec"))
    _check_priors_resources(args.spec)
    with (
        Progress("MAP priors and designs", total) as progress,
        track(gmap, "_sample_map", progress, describe=lambda kind, *a, **k: f"MCMC for a {kind} MAP prior"),
        track(spec, "run_design", progress, describe=lambda d, *a, **k: f"design {d.get('name', '')}"),
    ):
        out = run(args.spec, args.out, cohorts_path=args.cohorts)
    print(format_summary(out))
    if not args.no_figures:
        from analysis.publish.build import save_figure
        from analysis.publish.figures import priors_figures

        for name, fig in priors_figures(out).items():
            print(f"wrote {save_figure(fig, args.out / name)}")
    print(f"wrote {args.out / 'priors.json'} and {args.out / 'designs.json'}")
    return 0


def _tool(name: str):
    """The module ``tools.NAME`` of the project (benchmarks, compare, reproduce): tools run by ``make`` beside the
    library, not part of it, imported only by the verbs that run them (from the checkout that holds ``tools/``)."""
    import importlib

    from analysis.settings import ROOT

    if not (ROOT / "tools" / f"{name}.py").is_file():
        raise UsageError(f"{ROOT / 'tools' / (name + '.py')}: missing; this verb runs from a checkout of the project")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(f"tools.{name}")


def cmd_bench(args: argparse.Namespace) -> int:
    import json

    run = _tool("bench").run

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
    if args.search:
        return _design_search(design, args)
    from analysis.progress import Progress, enabled

    class _Shown(Executor):  # the simulation's tasks (and the calibration's) with the time left
        def _report(self, done: int, total: int, t0: float) -> None:
            if self._line is None or self._line.total != total:
                if self._line is not None:
                    self._line.__exit__(None, None, None)
                self._line = Progress("simulation tasks", total).__enter__()
            self._line.advance(done - self._line.done)

    _check_design_resources(args.spec, design)
    ex = _Shown(workers=args.workers, scheduler=args.scheduler, progress=enabled())
    ex._line = None
    try:
        res = run(design, args.out, ex, figures=not args.no_figures)
    finally:
        if ex._line is not None:
            ex._line.__exit__(None, None, None)
    print(format_table(res["table"]))
    for p in res["paths"]:
        print(f"wrote {p}")
    return 0


def _design_search(design, args: argparse.Namespace) -> int:
    """``design --search``: the [search] table's trade-off, written as search.csv and search.png."""
    from analysis.basket.search import figure, search
    from analysis.basket.spec import DesignError
    from analysis.io import write_csv

    if design.search is None:
        print(f"error: {args.spec}: --search needs a [search] table (n_min, n_max, power)", file=sys.stderr)
        return 2
    try:
        df = search(design, design.search, str(args.spec))
    except DesignError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_csv(args.out / "search.csv", df)
    paths = [args.out / "search.csv"]
    if not args.no_figures:
        import matplotlib.pyplot as plt

        from analysis.io import atomic_path

        fig = figure(df, design.search.power)
        with atomic_path(args.out / "search.png") as tmp:
            fig.savefig(tmp, dpi=150, format="png")
        plt.close(fig)
        paths.append(args.out / "search.png")
    cols = ["label", "n", "total_n", "thresholds", "max_type1", "min_power", "feasible", "smallest"]
    print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for p in paths:
        print(f"wrote {p}")
    return 0


def _check_design_resources(spec: Path, design) -> None:
    """Refuse a basket design whose engine grids or simulations would exceed the machine or an hour (issue 23:
    a prior ``mu = "Normal(0, 1e6)"`` used 23.7 GB until the kernel killed it; ``n_sim = 1e9`` ran for days)."""
    from analysis.basket.design import use_exact
    from analysis.bayes.engine import Component
    from analysis.limits import engine_bytes, engine_grid_points, require, simulation_seconds

    sizes = [int(i.n) for i in design.indications]
    for m in design.methods:
        p = m.params
        comps = p.get("component") or ([p] if "mu" in p and "tau" in p else [])
        try:
            points = sum(engine_grid_points(Component(c["mu"], c["tau"]), sum(sizes)) for c in comps)
        except (TypeError, ValueError, KeyError):
            continue  # not an engine method, or a prior its own check reports
        require(
            f"{spec}, method '{m.name}': the quadrature grid ({points:,} points)", nbytes=engine_bytes(points, sizes)
        )
    if not use_exact(design):
        require(
            f"{spec}: n_sim = {design.n_sim:,} simulated trials x {len(design.methods)} method(s) x "
            f"{len(design.scenarios)} scenario(s)",
            seconds=simulation_seconds(design.n_sim, len(design.methods), len(design.scenarios)),
        )


def _check_priors_resources(spec: Path) -> None:
    """Refuse a priors specification whose designs would take more than an hour (issue 23: n = 100,000 with an
    interim, a 50 x 50 sensitivity grid).  Reads the sizes from the TOML file; anything that is not a plain number
    is left to the specification's own checks."""
    import tomllib

    from analysis.limits import priors_design_seconds, require

    try:
        doc = tomllib.loads(spec.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return  # the specification loader reports it, naming the file

    def whole(v, default=None):
        return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else default

    total = 0.0
    for d in doc.get("design", []) if isinstance(doc.get("design"), list) else []:
        if not isinstance(d, dict) or whole(d.get("n")) is None:
            continue
        sens = d.get("sensitivity") if isinstance(d.get("sensitivity"), dict) else {}
        compare = d.get("compare") if isinstance(d.get("compare"), list) else []
        p0, w = sens.get("p0", []), sens.get("robust_weight", [])
        rows = len(p0) * (len(w) + len(compare)) if isinstance(p0, list) and isinstance(w, list) else 0
        seconds = priors_design_seconds(
            d["n"], whole(d.get("interim_n")), whole(d.get("grid"), 101), 1 + len(compare), rows
        )
        require(f"{spec}, design '{d.get('name', '?')}' (n = {d['n']:,})", seconds=seconds)
        total += seconds
    require(f"{spec}: all designs", seconds=total)
    if total > 60:
        print(f"note: {spec}: the designs will take about {total / 60:.0f} minutes (estimated)", file=sys.stderr)


def cmd_studio(args: argparse.Namespace) -> int:
    from analysis.basket.checks import DesignError
    from analysis.studio.serve import serve

    try:
        serve(args.port, args.design)
    except DesignError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def cmd_combine(args: argparse.Namespace) -> int:
    from analysis.publish.build import build_estimates

    df = build_estimates(args.inputs, args.out)
    print(f"wrote {len(df)} rows to {args.out}")
    return 0


def cmd_samplers(args: argparse.Namespace) -> int:

    from analysis.bayes.models import DEFAULT_MODELS
    from analysis.bayes.sampling import prepare, program_cache, programs
    from analysis.bayes.sensitivity import scenario_fits
    from analysis.bayes.units import index_units
    from analysis.io import write_json
    from analysis.progress import Progress, track

    mcmc = _mcmc(args)
    units = index_units(args.index)
    fits = [(spec, units) for spec in DEFAULT_MODELS.values()]
    fits += scenario_fits(args.index, args.cohorts)
    cache = program_cache()
    if cache is None:
        print("note: the program cache is off (--no-cache or an empty ANALYSIS_JAX_CACHE): samplers are not kept")
    with (
        Progress("samplers traced", None) as progress,
        track(programs, "_trace", progress, describe=lambda spec, *a, **k: f"tracing the {spec.kind} sampler"),
    ):
        records = prepare(fits, mcmc, load=False)  # the later steps load them
    for r in records:
        print(
            f"{r['structure']} ({r['units']} units): {r['source']}, lowered in {r['lower_s']:.1f} s, "
            f"compiled in {r['compile_s']:.1f} s"
        )
    write_json(args.out, {"cache": cache is not None, "sampler": mcmc.sampler, "programs": records})
    print(f"wrote {args.out}")
    return 0


def cmd_provenance(args: argparse.Namespace) -> int:
    from analysis.data.characteristics import CHARACTERISTICS
    from analysis.data.schema import STUDY_FILE
    from analysis.io import write_json
    from analysis.provenance import provenance, unseen_by_make

    if args.check:
        found = unseen_by_make(args.check)
        for line in found:
            print(f"{args.check}: {line}", file=sys.stderr)
        return 1 if found else 0

    # the data files that exist; study.yml when its 'study' facts stand in for the characteristics file
    files = [
        args.index,
        args.cohorts,
        CHARACTERISTICS if CHARACTERISTICS.exists() else CHARACTERISTICS.parent / STUDY_FILE,
    ]
    write_json(args.out, provenance([f for f in files if Path(f).exists()]))
    print(f"wrote {args.out}")
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    from analysis.publish.build import build_figures

    for p in build_figures(args.results, args.out):
        print(f"wrote {p}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from analysis.publish.build import build_report

    for p in build_report(args.results, args.manuscript):
        print(f"wrote {p}")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from analysis.publish.render import render

    for p in render(args.manuscript, force_fallback=args.fallback):
        print(f"wrote {p}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    compare_trees, report = _tool("compare").compare_trees, _tool("compare").report

    if len(args.old) != len(args.new):
        raise UsageError(
            f"compare: {len(args.old)} --old and {len(args.new)} --new; expected one --new for every --old, in order"
        )
    status = 0
    for old, new in zip(args.old, args.new):
        text, ok = report(compare_trees(old, new))
        print(f"== {old} vs {new}\n{text}")
        status |= 0 if ok else 1
    return status


def cmd_diff(args: argparse.Namespace) -> int:
    from analysis.io import write_text
    from analysis.review.diff import diff, format_html, format_text

    report = diff(args.old, args.new)
    print(format_text(report, max_results=None if args.all else 20))
    if args.html:
        write_text(args.html, format_html(report))
        print(f"wrote {args.html}")
    return 1 if report.differs else 0


def cmd_map(args: argparse.Namespace) -> int:
    from analysis.io import write_text
    from analysis.review.papermap import format_markdown, paper_map, update_readme

    text = format_markdown(paper_map(args.manuscript))
    if args.out:
        write_text(args.out, text)
        print(f"wrote {args.out}")
    if args.readme:
        changed = update_readme(args.readme, text)
        print(f"{'updated' if changed else 'unchanged'}: the paper map in {args.readme}")
    if not args.out and not args.readme:
        print(text, end="")
    return 0


def _number(kind: type, low: float | None = None, high: float | None = None, open_low=False, open_high=False):
    """An argparse type: a finite ``kind`` within bounds, with a message saying what was expected."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'a whole number' if kind is int else 'a number'}"
            ) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        below = low is not None and (value <= low if open_low else value < low)
        above = high is not None and (value >= high if open_high else value > high)
        if below or above:
            lo = "" if low is None else f"{'>' if open_low else '>='} {low:g}"
            hi = "" if high is None else f"{'<' if open_high else '<='} {high:g}"
            raise argparse.ArgumentTypeError(
                f"{text!r} is out of range; expected {' and '.join(x for x in (lo, hi) if x)}"
            )
        return value

    parse.__name__ = kind.__name__
    return parse


POSITIVE_INT = _number(int, 1)
SEED = _number(int, 0, 2**32 - 1)
PROBABILITY = _number(float, 0.0, 1.0, open_low=True, open_high=True)


def GROUP_PROBABILITY(text: str) -> tuple[str | None, float]:
    """``W`` (every group) or ``GROUP=W`` (one group), W in (0, 1)."""
    group, sep, value = text.rpartition("=")
    if sep and not group.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: expected W or GROUP=W")
    return (group.strip() if sep else None), PROBABILITY(value)


def cmd_reproduce(args: argparse.Namespace) -> int:
    tool = _tool("reproduce")
    compare_to_reference, format_reports, update_reference = (
        tool.compare_to_reference,
        tool.format_reports,
        tool.update_reference,
    )

    if args.update:
        for p in update_reference(args.results, args.reference):
            print(f"wrote {p}")
        return 0
    text, ok = format_reports(compare_to_reference(args.reference, args.results))
    print(text)
    if not ok:  # what the differences do to the paper, number by number (python -m analysis diff)
        from analysis.results import MissingResultError
        from analysis.review.diff import reproduce_view

        try:
            print("\nthe paper's numbers, reference -> rebuild:\n" + reproduce_view(args.reference, args.results))
        except MissingResultError as err:
            print(f"\n(the paper's numbers are not compared: {err})")
    return 0 if ok else 1


_OUT_HELP = "output (default: under ./scratch/, never the paper's results/; make passes --out results/...)"
#: verbs whose --out is a folder of one step's outputs (:func:`analysis.io.step_outputs`)
_STEP_OF_VERB = {"frequentist": "frequentist", "bayes": "bayes", "sensitivity": "sensitivity", "priors": "priors",
                 "design": "design"}  # fmt: skip


class _ShowDefaults(argparse.HelpFormatter):
    """``--help`` shows every option's default (a flag's is off); an option without one says ``none``."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        flag = isinstance(action, argparse._StoreTrueAction | argparse._HelpAction | argparse._VersionAction)
        if not action.option_strings or flag or action.required or "default" in text:
            return text
        default = "none" if action.default is None else "%(default)s"
        return f"{text} (default: {default})".strip()


def default_program_cache() -> Path:
    """Where compiled MCMC samplers are kept when ``ANALYSIS_JAX_CACHE`` is unset: the user's cache folder.

    Returns
    -------
    Path
        ``$XDG_CACHE_HOME/cart-analysis``, else ``~/.cache/cart-analysis`` (as
        :func:`analysis.bayes.sampling.program_cache` reads it).
    """
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache") / "cart-analysis"


def build_parser() -> argparse.ArgumentParser:
    from analysis.basket.executor import scheduler_address

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the Python traceback of any failure")
    common.add_argument(
        "--progress",
        action="store_true",
        help="show progress and time left on stderr even when it is not a terminal (default: on a terminal only, "
        "for tasks longer than a few seconds)",
    )
    common.add_argument(
        "--no-cache",
        action="store_true",
        dest="no_cache",
        help="neither load nor keep compiled MCMC samplers and the posterior engine's table rows (default: kept "
        "in $ANALYSIS_JAX_CACHE, else "
        f"{default_program_cache()})",
    )
    p = argparse.ArgumentParser(
        prog="python -m analysis",
        description=__doc__,
        epilog="exit codes: 0 ok, 1 check failed, 2 bad input, 3 convergence gate, 4 file error, 5 render, 130 interrupted",
        parents=[common],
        formatter_class=_ShowDefaults,
    )
    sub = p.add_subparsers(dest="verb", required=True)
    _add = sub.add_parser

    def add_parser(name, **kw):
        return _add(name, parents=[common], formatter_class=_ShowDefaults, **kw)

    sub.add_parser = add_parser

    v = sub.add_parser(
        "validate",
        help="check a data set: every file's schema and every check between files the build runs; "
        "exit 2 listing every problem",
    )
    v.add_argument(
        "paths", nargs="*", type=Path, help="data files (each recognised by its header); default: the paper's data set"
    )
    v.add_argument(
        "--data",
        type=Path,
        help="a data folder holding index_study.csv, published_cohorts.csv, study_characteristics.csv and "
        "endpoint_definitions.csv",
    )
    v.add_argument(
        "--spec",
        type=Path,
        help="a priors specification whose MAP priors must find their cohorts (default for the paper's data: "
        "config/follow_up.toml)",
    )
    v.set_defaults(func=cmd_validate)

    co = sub.add_parser(
        "cohort",
        help="build the report for another cohort into its own folder (never results/ or manuscript/)",
    )
    co.add_argument(
        "data",
        type=Path,
        help="the cohort's data folder: index_study.csv and study.yml (optional: published_cohorts.csv, "
        "study_characteristics.csv, endpoint_definitions.csv, priors.toml), validated first",
    )
    co.add_argument(
        "--spec",
        type=Path,
        help="priors and design specification for this cohort (TOML; default: DATA/priors.toml if it exists, "
        "else config/no_design.toml, the vague prior alone: no MAP prior and no design)",
    )
    co.add_argument(
        "--out", type=Path, help="output folder: results/ and manuscript/ inside it (default: build/cohort-NAME)"
    )
    co.add_argument("--basket", action="store_true", help="recompute the basket design instead of copying the paper's")
    co.set_defaults(func=cmd_cohort)

    def data_args(q: argparse.ArgumentParser) -> None:
        q.add_argument("--index", type=Path, default=INDEX_STUDY, help="index-study counts (CSV)")
        q.add_argument("--cohorts", type=Path, default=COHORTS, help="published cohorts (CSV)")

    f = sub.add_parser("frequentist", help="exact intervals, benchmark tests, heterogeneity, meta-analysis")
    data_args(f)
    f.add_argument("--out", type=Path, default=SCRATCH / "frequentist", help=_OUT_HELP)
    f.set_defaults(func=cmd_frequentist)

    def mcmc_args(q: argparse.ArgumentParser) -> None:
        from analysis.settings import MCMC_DEFAULT, MCMC_FAST

        def preset(name: str) -> str:
            return f"default: {getattr(MCMC_DEFAULT, name)}; with --fast {getattr(MCMC_FAST, name)}"

        q.add_argument(
            "--sampler", choices=["pymc", "nutpie", "numpyro"], help=f"NUTS implementation ({preset('sampler')})"
        )
        q.add_argument("--draws", type=POSITIVE_INT, help=f"draws per chain after warm-up ({preset('draws')})")
        q.add_argument("--tune", type=POSITIVE_INT, help=f"warm-up iterations per chain ({preset('tune')})")
        q.add_argument("--chains", type=POSITIVE_INT, help=f"chains ({preset('chains')})")
        q.add_argument("--seed", type=SEED, help=f"sampler seed, recorded in the provenance sidecar ({preset('seed')})")
        q.add_argument(
            "--target-accept",
            type=PROBABILITY,
            dest="target_accept",
            help=f"NUTS target acceptance rate ({preset('target_accept')})",
        )
        q.add_argument("--fast", action="store_true", help="the quick preset used by the tests (not for the paper)")

    b = sub.add_parser("bayes", help="fit the Bayesian models (all, or --model NAME ...) with optional prior overrides")
    data_args(b)
    mcmc_args(b)
    # the registry is checked when the models are built (importing it here would cost every verb a second)
    b.add_argument(
        "--model",
        action="append",
        metavar="KIND",
        help="a registered model, e.g. hierarchical or exnex (repeatable; default: every model of the paper)",
    )
    b.add_argument(
        "--prior",
        action="append",
        metavar="NAME=DIST",
        help="override a prior, e.g. tau=HalfNormal(0.5) or mu='Normal(0, 2)' (repeatable; default: each model's own priors)",
    )
    b.add_argument(
        "--exnex-weight",
        action="append",
        type=GROUP_PROBABILITY,
        dest="exnex_weight",
        metavar="[GROUP=]W",
        help="prior probability of exchangeability, in (0, 1): for every group, or GROUP=W for one (repeatable; "
        "default: the model's own)",
    )
    b.add_argument(
        "--nex-prior",
        action="append",
        dest="nex_prior",
        metavar="GROUP=DIST",
        help="a group's own non-exchangeable prior for the EXNEX models, e.g. B='Normal(-1, 2)' for group B "
        "(repeatable; default: the model's own)",
    )
    b.add_argument("--out", type=Path, default=SCRATCH / "bayes", help=_OUT_HELP)
    b.set_defaults(func=cmd_bayes)

    s = sub.add_parser("sensitivity", help="refit under every prior and data scenario of the sensitivity analysis")
    data_args(s)
    mcmc_args(s)
    s.add_argument(
        "--spec",
        type=Path,
        default=None,
        help="a priors specification whose [index_models] leave_out names a group to leave out in one more scenario "
        "(make passes the paper's config/follow_up.toml; default: none, so no such scenario)",
    )
    s.add_argument("--out", type=Path, default=SCRATCH / "bayes", help=_OUT_HELP)
    s.set_defaults(func=cmd_sensitivity)

    pr = sub.add_parser("priors", help="MAP priors, robust mixtures, ESS and design OC from a TOML spec file")
    pr.add_argument("spec", type=Path, help="prior/design specification (see config/follow_up.toml)")
    pr.add_argument("--cohorts", type=Path, default=COHORTS, help="published cohorts, for priors given by disease")
    pr.add_argument("--out", type=Path, default=SCRATCH / "priors", help=_OUT_HELP)
    pr.add_argument("--no-figures", action="store_true", help="write JSON only")
    pr.set_defaults(func=cmd_priors)

    bn = sub.add_parser("bench", help="benchmarks: samplers' ESS per second, pipeline time, exact vs simulated OC")
    bn.add_argument("--out", type=Path, default=SCRATCH / "bench.json", help=_OUT_HELP)
    bn.set_defaults(func=cmd_bench)

    dg = sub.add_parser("design", help="basket design: operating characteristics of borrowing methods (TOML file)")
    dg.add_argument("spec", type=Path, help="design file (see config/basket.toml)")
    dg.add_argument("--out", type=Path, default=SCRATCH / "basket", help=_OUT_HELP)
    dg.add_argument("--scheduler", type=scheduler_address, help="Dask scheduler address (default: local processes)")
    dg.add_argument("--workers", type=POSITIVE_INT, help="local worker processes (default 2; 1 = in this process)")
    dg.add_argument("--no-figures", action="store_true", dest="no_figures")
    dg.add_argument(
        "--search", action="store_true", help="smallest n per indication meeting the [search] table's power target"
    )
    dg.set_defaults(func=cmd_design)

    st = sub.add_parser("studio", help="the design studio: a local web app to design the basket trial interactively")
    st.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    st.add_argument(
        "--design", type=Path, metavar="FILE", help="design file to start from (default config/basket.toml)"
    )
    st.set_defaults(func=cmd_studio)

    c = sub.add_parser("combine", help="concatenate partial estimates files into results/estimates.csv")
    c.add_argument("inputs", nargs="+", type=Path)
    c.add_argument("--out", type=Path, default=SCRATCH / "estimates.csv", help=_OUT_HELP)
    c.set_defaults(func=cmd_combine)

    sm = sub.add_parser(
        "samplers",
        help="trace and compile the MCMC samplers of the paper's fits into the program cache (ANALYSIS_JAX_CACHE)",
    )
    data_args(sm)
    mcmc_args(sm)
    sm.add_argument("--out", type=Path, default=SCRATCH / "samplers.json", help=_OUT_HELP)
    sm.set_defaults(func=cmd_samplers)

    pv = sub.add_parser("provenance", help="write results/provenance.json")
    data_args(pv)
    pv.add_argument("--out", type=Path, default=SCRATCH / "provenance.json", help=_OUT_HELP)
    pv.add_argument(
        "--check",
        type=Path,
        metavar="FILE",
        help="exit 1 when FILE records other data or code than the current ones and make would not notice",
    )
    pv.set_defaults(func=cmd_provenance)

    fg = sub.add_parser("figures", help="draw the manuscript figures from results/")
    fg.add_argument("--results", type=Path, default=RESULTS)
    fg.add_argument("--out", type=Path, default=Path("manuscript/figures"))
    fg.set_defaults(func=cmd_figures)

    r = sub.add_parser("report", help="write manuscript tables, _variables.yml and colophon from results/")
    r.add_argument("--results", type=Path, default=RESULTS)
    r.add_argument("--manuscript", type=Path, default=Path("manuscript"))
    r.set_defaults(func=cmd_report)

    cp = sub.add_parser("compare", help="compare two builds file by file (exit 1 on any difference)")
    cp.add_argument(
        "--old", type=Path, action="append", required=True, help="a results or manuscript tree (repeatable)"
    )
    cp.add_argument("--new", type=Path, action="append", required=True, help="the tree to compare it with (repeatable)")
    cp.set_defaults(func=cmd_compare)

    df = sub.add_parser(
        "diff",
        help="every number that differs between two builds, with where the paper shows it (exit 1 if any)",
    )
    df.add_argument("old", type=Path, help="a results folder, a built paper (manuscript/) or a project folder")
    df.add_argument("new", type=Path, help="the build to compare it with")
    df.add_argument("--html", type=Path, metavar="FILE", help="also write the report as one HTML page")
    df.add_argument("--all", action="store_true", help="list every differing results number, not 20 per file")
    df.set_defaults(func=cmd_diff)

    mp = sub.add_parser(
        "map", help="every table and figure of the paper with the make step, results files and code that made it"
    )
    mp.add_argument("--manuscript", type=Path, default=Path("manuscript"), help="the Quarto sources")
    mp.add_argument("--out", type=Path, metavar="FILE", help="write the Markdown table here instead of printing it")
    mp.add_argument("--readme", type=Path, metavar="FILE", help="replace the paper-map block of this README")
    mp.set_defaults(func=cmd_map)

    rp = sub.add_parser("reproduce", help="compare results with reference/ (exact, or within Monte Carlo error)")
    rp.add_argument("--reference", type=Path, default=RESULTS.parent / "reference")
    rp.add_argument("--results", type=Path, default=RESULTS)
    rp.add_argument("--update", action="store_true", help="copy results into reference/ (when a change is intended)")
    rp.set_defaults(func=cmd_reproduce)

    rd = sub.add_parser("render", help="render the manuscript (Quarto, or pandoc + Typst without it)")
    rd.add_argument("--manuscript", type=Path, default=Path("manuscript"))
    rd.add_argument("--fallback", action="store_true", help="use pandoc + Typst even when Quarto is installed")
    rd.set_defaults(func=cmd_render)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run a verb; every expected failure becomes one message and an exit code (:mod:`analysis.errors`)."""
    args = build_parser().parse_args(argv)
    if args.progress:  # the environment carries both to worker processes
        os.environ["ANALYSIS_PROGRESS"] = "1"
    if args.no_cache:  # empty: no program cache, no table store (analysis.bayes.cache_files.cache_root)
        os.environ["ANALYSIS_JAX_CACHE"] = ""
    from analysis.io import private_tempdir, step_outputs

    try:
        with private_tempdir():  # compilers' temporary files in the project's .tmp/, removed at the end
            step = _STEP_OF_VERB.get(args.verb)
            if step is None:
                return args.func(args)
            with step_outputs(args.out, step) as run:
                code = args.func(args)
                run.ok = code == 0
            return code
    except (Exception, KeyboardInterrupt) as err:
        if args.debug:
            raise
        known = classify(err)
        if known is None:
            print(
                f"internal error ({type(err).__name__}: {err}); this is a bug, please report it with the output "
                "of the same command with --debug",
                file=sys.stderr,
            )
            return EXIT_BUG
        code, message = known
        print(f"error: {message}", file=sys.stderr)
        return code
