"""The design studio's web app (Shiny for Python): panels of fields on the left, results on the right.

Every field is text; each change builds the design-file table, checks it with the basket designer's reader
(:func:`analysis.studio.model.check`) and either shows the reader's message beside the field it names
(keeping the last valid results) or recomputes.  Changes that reuse stored outcome-space summaries
(thresholds, target rates, scenarios, calibration) are computed at once; others (a new sample size, null
rate, prior or method setting, or a simulated design) run in a background thread with a progress bar and
a Cancel button, so the page stays responsive.
"""

from __future__ import annotations

import asyncio
import html
import tempfile
import threading
import tomllib
from pathlib import Path

import pandas as pd
from shiny import App, reactive, render, ui

from analysis.basket.checks import DesignError
from analysis.basket.spec import parse
from analysis.studio.model import (
    DEFAULT_DESIGN,
    GENERATE,
    KINDS,
    Cancelled,
    Engine,
    Fields,
    Priors,
    Results,
    check,
    dumps,
    field_of,
    fields_from_spec,
    load_designs,
    oc_display,
    prior_design_tables,
    registered_kinds,
)

CSS = """
body { font-size: 0.9rem; }
.field-msg { color: #b00020; font-size: 0.8rem; min-height: 0; overflow-wrap: anywhere; }
.field-msg:empty { display: none; }
.is-invalid { border-color: #b00020 !important; }
.scroll-x { overflow-x: auto; max-width: 100%; }
table.oc { border-collapse: collapse; font-size: 0.8rem; }
table.oc th, table.oc td { padding: 2px 6px; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
table.oc td.txt, table.oc th.txt { text-align: left; }
table.oc tr.any td { font-weight: 600; }
.ind-row { border-bottom: 1px dashed #ccc; margin-bottom: 6px; display: grid;
           grid-template-columns: repeat(2, minmax(0, 1fr)); column-gap: 8px; }
.shiny-input-container { width: 100% !important; margin-bottom: 4px; }
#general_msg { color: #b00020; overflow-wrap: anywhere; }
img.oc-figure { max-width: 100%; height: auto; }
"""

JS = """
$(function () {
  Shiny.addCustomMessageHandler('progress_visible', function (m) {
    document.getElementById('progress').style.display = m.show ? '' : 'none';
  });
  Shiny.addCustomMessageHandler('field_error', function (m) {
    document.querySelectorAll('.field-msg').forEach(function (e) { e.textContent = ''; });
    document.querySelectorAll('.is-invalid').forEach(function (e) { e.classList.remove('is-invalid'); });
    if (!m.id) return;
    var box = document.getElementById('msg-' + m.id) || document.getElementById('msg-general');
    if (box) box.textContent = m.message;
    var input = document.getElementById(m.id);
    if (input) input.classList.add('is-invalid');
  });
});
"""


def _msg(fid: str):
    return ui.div(id=f"msg-{fid}", class_="field-msg", role="alert")


def _text(fid: str, label: str, value: str, **kw):
    return ui.div(ui.input_text(fid, label, value=value, **kw), _msg(fid))


def app_ui():
    panels = ui.accordion(
        ui.accordion_panel("Indications", ui.output_ui("indications_panel"), value="indications"),
        ui.accordion_panel("Priors", ui.output_ui("priors_panel"), value="priors"),
        ui.accordion_panel("Borrowing methods", ui.output_ui("methods_panel"), value="methods"),
        ui.accordion_panel("Decision thresholds", ui.output_ui("thresholds_panel"), value="thresholds"),
        ui.accordion_panel("Scenarios", ui.output_ui("scenarios_panel"), value="scenarios"),
        id="panels",
        open=["indications", "thresholds"],
        multiple=True,
    )
    files = ui.card(
        ui.card_header("Design file"),
        ui.download_button("download", "Download design (TOML)"),
        ui.input_file("open", "Open design (TOML)", accept=[".toml"], multiple=False),
        ui.output_ui("open_msg"),
    )
    results = ui.div(
        ui.div(
            ui.output_ui("progress_bar"),
            ui.input_action_button("cancel", "Cancel", class_="btn-sm btn-outline-danger"),
            id="progress",
            style="display: none",
        ),
        ui.output_ui("status"),
        ui.card(
            ui.card_header("Operating characteristics"),
            ui.layout_columns(
                ui.input_select(
                    "show_thresholds", "Thresholds shown", {"calibrated": "calibrated", "nominal": "nominal"}
                ),
                ui.input_select("show_method", "Method shown", {"all": "all"}),
                col_widths={"sm": (6, 6)},
            ),
            ui.output_ui("oc_table"),
        ),
        ui.card(ui.card_header("Probability of a go"), ui.output_ui("oc_figure")),
        ui.card(ui.card_header("Calibrated thresholds"), ui.output_ui("calibration_table")),
        ui.card(ui.card_header("Designs of the priors step"), ui.output_ui("prior_designs")),
    )
    return ui.page_fluid(
        ui.tags.head(ui.tags.style(CSS), ui.tags.script(JS), ui.tags.title("Basket design studio")),
        ui.h3("Basket design studio"),
        ui.p(
            "Change a field: the operating characteristics are recomputed exactly, as ",
            ui.code("python -m analysis design"),
            " would from the downloaded file.",
        ),
        ui.div(_msg("general"), id="general_box"),
        ui.layout_columns(
            ui.div(files, panels),
            results,
            col_widths={"sm": (12, 12), "lg": (4, 8)},
        ),
        title="Basket design studio",
    )


def _scale(kind: str, v: dict):
    """The borrowing scale of a method: the reader's default, the null scale or the probability scale."""
    fid = f"{kind}_scale"
    choices = {
        "": "default (null scale when the null rates differ)",
        "null": "null scale: logit(p) - logit(p0)",
        "probability": "probability scale: p itself",
    }
    return ui.div(ui.input_select(fid, "Borrowing scale", choices, selected=v.get(fid, "")), _msg(fid))


def _fmt(v) -> str:
    if isinstance(v, float):
        return "" if v != v else f"{v:.4f}"
    return str(v)


def oc_html(df: pd.DataFrame, version: int, seconds: float = float("nan"), cpu: float = float("nan")) -> str:
    """The OC table as HTML; every cell carries its full value (``data-value``) for tests and the bench."""
    show = oc_display(df)
    cols = list(show.columns)
    text_cols = {c for c in cols if len(show) and isinstance(show[c].iloc[0], str)}
    head = "".join(f'<th class="{"txt" if c in text_cols else ""}">{html.escape(c)}</th>' for c in cols)
    key_cols = [c for c in ("thresholds", "scenario", "method", "indication") if c in cols]
    body = []
    for r in show.to_dict("records"):
        key = html.escape("|".join(str(r[c]) for c in key_cols))
        cls = "any" if r.get("indication") == "(any)" else ""
        cells = "".join(
            f'<td class="{"txt" if c in text_cols else ""}" data-col="{c}" data-value="{html.escape(repr(r[c]))}">'
            f"{html.escape(_fmt(r[c]))}</td>"
            for c in cols
        )
        body.append(f'<tr class="{cls}" data-key="{key}">{cells}</tr>')
    return (
        f'<div class="scroll-x"><table class="oc" id="oc" data-version="{version}" data-seconds="{seconds:.4f}" data-cpu-seconds="{cpu:.4f}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def small_table(df: pd.DataFrame, table_id: str) -> str:
    if df.empty:
        return "<p>none</p>"
    return (
        '<div class="scroll-x">'
        + df.to_html(index=False, classes="oc", table_id=table_id, float_format=lambda v: f"{v:.4f}", na_rep="")
        + "</div>"
    )


_POOL = None


def _figure_pool():
    """One separate process for the figures (matplotlib holds the GIL while drawing: in a thread it would slow
    the next table down), started on first use and stopped when the app exits."""
    global _POOL
    if _POOL is None:
        import atexit
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _POOL = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_die_with_parent
        )
        atexit.register(_POOL.shutdown, wait=True, cancel_futures=True)
    return _POOL


def _die_with_parent() -> None:
    """Linux: end the figure process when the app's process ends, however it ends."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _draw(df: pd.DataFrame, path: str) -> None:
    """The OC figure of ``python -m analysis design`` (:func:`analysis.basket.run.figure`)."""
    from analysis.basket.run import figure

    figure(df, Path(path))


def _scenario_rates(text: str, add: str | None) -> str:
    """Own scenarios with a rate added for a new indication (its null rate), or the last rate removed."""
    lines = []
    for line in str(text).splitlines():
        name, sep, rest = line.partition(":")
        if sep:
            rates = [r.strip() for r in rest.split(",") if r.strip()]
            rates = [*rates, str(add)] if add is not None else rates[:-1]
            line = f"{name}: {', '.join(rates)}"
        lines.append(line)
    return "\n".join(lines)


def make_app(design_file: Path | None = None, priors_file: Path | None = None, designs_file: Path | None = None):
    """The studio app, starting from ``design_file`` (default ``config/basket.toml``).

    Parameters
    ----------
    design_file : Path, optional
        A design file to start from; its errors are raised as :class:`DesignError` before the app starts.
    priors_file, designs_file : Path, optional
        The priors step's MAP priors and trial designs (default: the ones in ``results/priors/``).

    Returns
    -------
    shiny.App
    """
    from analysis.studio import model

    priors = Priors.load(priors_file if priors_file is not None else model.PRIORS_FILE)
    designs = load_designs(designs_file if designs_file is not None else model.DESIGNS_FILE)
    path = Path(design_file) if design_file is not None else DEFAULT_DESIGN
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise DesignError(f"{path}: file not found") from err
    except tomllib.TOMLDecodeError as err:
        raise DesignError(f"{path}: not valid TOML: {err}") from err
    parse(raw, str(path), path.parent)  # the CLI's checks, before the app starts
    start = fields_from_spec(raw, priors)
    engine = Engine()
    kinds = registered_kinds()

    def server(input, output, session):
        loaded = reactive.Value(start)  # the fields the panels are drawn from (a file opened, an indication added)
        results: reactive.Value[Results | None] = reactive.Value(None)
        version = reactive.Value(0)
        state = {"generation": 0, "cancel": threading.Event(), "progress": (0.0, ""), "user_cancel": False}
        note = reactive.Value("")
        open_message = reactive.Value("")

        # -- reading the fields --------------------------------------------------------------------------------------
        def current() -> Fields:
            base = loaded()
            v = dict(base.values)
            K = base.K
            for key in list(v):
                if key in ("K",):
                    continue
                if key.startswith(("ind_", "thr_c_", "prior_map_")) and int(key.rsplit("_", 1)[1]) >= K:
                    continue
                if key in input:
                    val = input[key]()
                    v[key] = tuple(val) if isinstance(val, (list, tuple)) else ("" if val is None else val)
            return Fields(v, base.extras)

        @reactive.calc
        def checked():
            f = current()
            try:
                spec, design = check(f, priors)
            except DesignError as err:
                return f, None, None, (field_of(str(err), f), str(err))
            except Exception as err:  # noqa: BLE001 - anything else is shown as one line, never a traceback
                return f, None, None, ("general", f"{type(err).__name__}: {err}")
            return f, spec, design, None

        @reactive.effect
        async def _messages():
            f, spec, design, err = checked()
            if err is None:
                await session.send_custom_message("field_error", {"id": "", "message": ""})
            else:
                await session.send_custom_message("field_error", {"id": err[0], "message": err[1]})

        # -- computing -------------------------------------------------------------------------------------------------
        @reactive.extended_task
        async def task(design, spec, generation, cancel):
            def progress(fraction, message):
                state["progress"] = (fraction, message)

            def stop():
                return cancel.is_set() or generation != state["generation"]

            return generation, await asyncio.to_thread(engine.compute, design, spec, progress, stop)

        @reactive.effect
        def _compute():
            f, spec, design, err = checked()
            if err is not None:
                return
            if spec == state.get("last_spec"):
                return  # the same design again (panels redrawn with the values they had)
            state["last_spec"] = spec
            state["generation"] += 1
            with reactive.isolate():
                running = task.status() == "running"
            if not running and not engine.needs_work(design, spec):
                try:
                    res = engine.compute(design, spec)
                except Exception as e:  # noqa: BLE001
                    note.set(f"could not compute: {type(e).__name__}: {e}")
                    return
                results.set(res)
                with reactive.isolate():
                    version.set(version() + 1)
                note.set("")
                return
            state["user_cancel"] = False
            state["cancel"].set()  # a running computation of an older design stops at its next step
            state["cancel"] = threading.Event()
            state["progress"] = (0.0, "starting")
            task.invoke(design, spec, state["generation"], state["cancel"])

        @reactive.effect
        def _task_done():
            st = task.status()
            if st == "success":
                generation, res = task.result()
                with reactive.isolate():
                    if generation != state["generation"]:
                        return  # a newer design is on its way
                results.set(res)
                with reactive.isolate():
                    version.set(version() + 1)
                note.set("")
            elif st == "error":
                try:
                    task.result()
                except Cancelled:
                    if state["user_cancel"]:
                        note.set("cancelled: showing the last results")
                except Exception as e:  # noqa: BLE001
                    note.set(f"could not compute: {type(e).__name__}: {e}")

        @reactive.effect
        @reactive.event(input.cancel)
        def _cancel():
            state["user_cancel"] = True
            state["cancel"].set()
            note.set("cancelled: showing the last results")

        @render.ui
        def status():
            text = note()
            return ui.p(text, id="status_text") if text else ui.div()

        @render.ui
        def progress_bar():
            if task.status() != "running":
                return ui.div()
            reactive.invalidate_later(0.3)
            frac, message = state["progress"]
            pct = int(round(100 * frac))
            return ui.div(
                ui.div(
                    ui.div(
                        class_="progress-bar progress-bar-striped progress-bar-animated",
                        role="progressbar",
                        style=f"width: {max(pct, 5)}%",
                    ),
                    class_="progress",
                ),
                ui.p(message, id="progress_message"),
            )

        @reactive.effect
        async def _show_progress():
            await session.send_custom_message("progress_visible", {"show": task.status() == "running"})

        # -- panels ------------------------------------------------------------------------------------------------
        @render.ui
        def indications_panel():
            f = loaded()
            v = f.values
            rows = []
            for i in range(f.K):
                rows.append(
                    ui.div(
                        _text(f"ind_name_{i}", "Name", v[f"ind_name_{i}"]),
                        _text(f"ind_n_{i}", "n", v[f"ind_n_{i}"]),
                        _text(f"ind_p0_{i}", "Null rate p0", v[f"ind_p0_{i}"]),
                        _text(f"ind_target_{i}", "Target rate", v[f"ind_target_{i}"]),
                        class_="ind-row",
                    )
                )
            return ui.div(
                *rows,
                _text("design_name", "Design name", v["design_name"]),
                ui.input_action_button("add_indication", "Add indication", class_="btn-sm"),
                ui.input_action_button("remove_indication", "Remove last", class_="btn-sm"),
            )

        @render.ui
        def priors_panel():
            f = loaded()
            v = f.values
            names = priors.names or ["vague"]
            choices = {n: priors.label(n) for n in names}
            maps = [
                ui.div(
                    ui.input_select(f"prior_map_{i}", v[f"ind_name_{i}"], choices, selected=v[f"prior_map_{i}"]),
                    _msg(f"prior_map_{i}"),
                )
                for i in range(f.K)
            ]
            return ui.div(
                ui.p("The prior of the independent (no borrowing) method."),
                ui.input_radio_buttons(
                    "prior_mode",
                    None,
                    {"vague": "Beta(a, b)", "map": "MAP prior of the priors step", "mixture": "Beta mixture"},
                    selected=v["prior_mode"],
                ),
                ui.panel_conditional(
                    "input.prior_mode === 'vague'",
                    ui.layout_columns(_text("prior_a", "a", v["prior_a"]), _text("prior_b", "b", v["prior_b"])),
                ),
                ui.panel_conditional(
                    "input.prior_mode === 'map'",
                    *maps,
                    _text("prior_robust", "Robust weight (0 to 1)", v["prior_robust"]),
                    ui.p(f"From {priors.file}" if priors.file else "No priors.json: run `make paper` first."),
                ),
                ui.panel_conditional(
                    "input.prior_mode === 'mixture'",
                    _text("prior_mixture", "Components [[w, a, b], ...]", v["prior_mixture"]),
                ),
            )

        @render.ui
        def methods_panel():
            v = loaded().values
            labels = {k: k for k in kinds}

            def cond(kind, *items):
                return ui.panel_conditional(
                    f"input.methods && input.methods.includes('{kind}')", ui.h6(kind), *items, _msg(f"method_{kind}")
                )

            return ui.div(
                ui.input_checkbox_group("methods", None, labels, selected=list(v["methods"]), inline=True),
                _msg("methods"),
                cond(
                    "hierarchical",
                    _text("hierarchical_mu", "mu prior", v["hierarchical_mu"]),
                    _text("hierarchical_tau", "tau prior", v["hierarchical_tau"]),
                    _scale("hierarchical", v),
                ),
                cond(
                    "exnex",
                    _text("exnex_mu", "mu prior", v["exnex_mu"]),
                    _text("exnex_tau", "tau prior", v["exnex_tau"]),
                    _text("exnex_nex", "non-exchangeable prior", v["exnex_nex"]),
                    _text("exnex_w", "w: prior probability of exchangeability", v["exnex_w"]),
                    _scale("exnex", v),
                ),
                cond(
                    "jsd",
                    ui.layout_columns(
                        _text("jsd_prior_a", "prior a", v["jsd_prior_a"]),
                        _text("jsd_prior_b", "prior b", v["jsd_prior_b"]),
                    ),
                    _text("jsd_epsilon", "epsilon", v["jsd_epsilon"]),
                    _text("jsd_tau", "tau (JSD cut-off)", v["jsd_tau"]),
                    _text("jsd_logbase", "log base (e or 2)", v["jsd_logbase"]),
                    _scale("jsd", v),
                ),
                cond(
                    "mem",
                    ui.layout_columns(
                        _text("mem_prior_a", "prior a", v["mem_prior_a"]),
                        _text("mem_prior_b", "prior b", v["mem_prior_b"]),
                    ),
                    _text("mem_inclusion", "prior inclusion probability", v["mem_inclusion"]),
                    _text("mem_structure", "structure (symmetric or source)", v["mem_structure"]),
                    _scale("mem", v),
                ),
            )

        @render.ui
        def thresholds_panel():
            f = loaded()
            v = f.values
            cs = [_text(f"thr_c_{i}", f"{v[f'ind_name_{i}']}: go if P(p > p0) >", v[f"thr_c_{i}"]) for i in range(f.K)]
            return ui.div(
                ui.input_radio_buttons(
                    "thr_mode",
                    None,
                    {"nominal": "Nominal thresholds", "calibrated": "Calibrated to a target alpha"},
                    selected=v["thr_mode"],
                ),
                *cs,
                ui.panel_conditional(
                    "input.thr_mode === 'calibrated'",
                    _text("cal_alpha", "Target alpha", v["cal_alpha"]),
                    ui.input_select(
                        "cal_control",
                        "Control",
                        {
                            "each": "each indication, global null",
                            "partial": "each indication, worst partial null",
                            "fwer": "family-wise error (one threshold)",
                        },
                        selected=v["cal_control"],
                    ),
                    _msg("cal_control"),
                    ui.input_select(
                        "cal_thresholds",
                        "Thresholds",
                        {"per-indication": "per indication", "common": "one common"},
                        selected=v["cal_thresholds"],
                    ),
                    _msg("cal_thresholds"),
                ),
            )

        @render.ui
        def scenarios_panel():
            v = loaded().values
            return ui.div(
                ui.input_checkbox_group(
                    "scen_generate",
                    "Generated",
                    {"null": "all null", "target": "all at target", "single": "each alone at target"},
                    selected=[g for g in GENERATE if g in v["scen_generate"]],
                ),
                _msg("scen_generate"),
                ui.input_text_area(
                    "scen_custom",
                    "Own scenarios, one a line: name: rate, rate, ...",
                    value=v["scen_custom"],
                    rows=3,
                    resize="vertical",
                ),
                _msg("scen_custom"),
            )

        # -- adding and removing indications; opening a design file -------------------------------------------------
        @reactive.effect
        @reactive.event(input.add_indication)
        def _add():
            f = current()
            v, K = dict(f.values), f.K
            src = K - 1
            for key in ("name", "n", "p0", "target"):
                v[f"ind_{key}_{K}"] = (
                    v[f"ind_{key}_{src}"] if src >= 0 else {"n": "24", "p0": "0.3", "target": "0.6"}.get(key, "")
                )
            names = {v[f"ind_name_{i}"] for i in range(K)}
            k = K + 1
            while f"Indication {k}" in names:
                k += 1
            v[f"ind_name_{K}"] = f"Indication {k}"
            v[f"thr_c_{K}"] = v[f"thr_c_{src}"] if src >= 0 else "0.95"
            v[f"prior_map_{K}"] = v.get(f"prior_map_{src}", "vague")
            v["K"] = K + 1
            v["scen_custom"] = _scenario_rates(v["scen_custom"], v[f"ind_p0_{K}"])
            extras = dict(f.extras)
            extras["indication"] = list(extras.get("indication", []))[:K] + [{}]
            loaded.set(Fields(v, extras))

        @reactive.effect
        @reactive.event(input.remove_indication)
        def _remove():
            f = current()
            if f.K <= 1:
                return
            v = dict(f.values)
            v["K"] = f.K - 1
            v["scen_custom"] = _scenario_rates(v["scen_custom"], None)
            loaded.set(Fields(v, f.extras))

        @reactive.effect
        @reactive.event(input.open)
        def _open():
            files = input.open()
            if not files:
                return
            name = files[0]["name"]
            try:
                text = Path(files[0]["datapath"]).read_text(encoding="utf-8")
                spec = tomllib.loads(text)
                parse(spec, name, Path.cwd())
            except tomllib.TOMLDecodeError as err:
                open_message.set(f"{name}: not valid TOML: {err}")
                return
            except UnicodeDecodeError as err:
                open_message.set(f"{name}: not UTF-8 text ({err.reason} at byte {err.start})")
                return
            except DesignError as err:
                open_message.set(str(err))
                return
            f = fields_from_spec(spec, priors)
            skipped = f.extras.get("skipped", [])
            note = f"; not editable here, left out: {', '.join(skipped)}" if skipped else ""
            open_message.set(f"opened {name}{note}")
            loaded.set(f)

        @render.ui
        def open_msg():
            text = open_message()
            return (
                ui.div(text, id="open-message", class_="field-msg" if "opened" not in text else "")
                if text
                else ui.div()
            )

        # -- results ---------------------------------------------------------------------------------------------------
        @render.ui
        def oc_table():
            res = results()
            if res is None:
                return ui.p("computing...")
            note = (
                f"{res.mode}: {res.outcomes:,} joint outcomes, {res.seconds:.2f} s"
                if res.mode == "exact"
                else f"simulated, {res.seconds:.1f} s"
            )
            df = res.oc
            shown = input.show_thresholds() if (df["thresholds"] == "calibrated").any() else "nominal"
            df = df[df["thresholds"] == shown]
            if input.show_method() != "all" and (df["method"] == input.show_method()).any():
                df = df[df["method"] == input.show_method()]
            return ui.div(
                ui.HTML(oc_html(df, version(), res.seconds, res.cpu_seconds)), ui.p(note, class_="text-muted")
            )

        @reactive.effect
        def _method_choices():
            res = results()
            if res is None:
                return
            names = list(dict.fromkeys(res.oc["method"]))
            if names == state.get("method_names"):
                return
            state["method_names"] = names
            with reactive.isolate():
                keep = input.show_method() if input.show_method() in names else "all"
            ui.update_select("show_method", choices={"all": "all", **{n: n for n in names}}, selected=keep)

        figure_dir = Path(tempfile.mkdtemp(prefix="studio-"))

        @reactive.extended_task
        async def figure_task(df, n):
            await asyncio.sleep(0.4)  # changes in quick succession: draw only the last table's figure
            if n != state.get("figure_wanted"):
                return None  # a newer table came meanwhile: draw that one instead
            path = figure_dir / f"go-probability-{n}.png"
            await asyncio.get_running_loop().run_in_executor(_figure_pool(), _draw, df, str(path))
            return path

        @reactive.effect
        def _figure():
            res = results()
            if res is None:
                return
            with reactive.isolate():
                n = version()
            state["figure_wanted"] = n
            # drawn after the table has been sent: the figure never delays the table
            session.on_flushed(lambda: figure_task.invoke(res.oc, n), once=True)

        @render.ui
        def oc_figure():
            if figure_task.status() == "success" and figure_task.result() is not None:
                state["figure_path"] = figure_task.result()
            path = state.get("figure_path")
            if path is None:
                return ui.p("drawing...")
            import base64

            src = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()
            return ui.img(src=src, class_="oc-figure", alt="probability of a go per indication", id="oc-figure")

        @render.ui
        def calibration_table():
            res = results()
            if res is None or res.calibration.empty:
                return ui.p("Nominal thresholds (choose 'Calibrated to a target alpha' to calibrate).")
            cols = [
                c
                for c in (
                    "method",
                    "indication",
                    "threshold",
                    "type1",
                    "type1_max_partial",
                    "fwer",
                    "nominal_threshold",
                )
                if c in res.calibration
            ]
            return ui.HTML(small_table(res.calibration[cols], "calibration"))

        @render.ui
        def prior_designs():
            tables = prior_design_tables(designs)
            if not tables:
                return ui.p("No designs of the priors step: run `make paper` first.")
            out = []
            for title, settings, cal in tables:
                out += [ui.h6(title), ui.HTML(small_table(settings, "")), ui.HTML(small_table(cal, ""))]
            return ui.div(*out)

        @render.download_button(filename=lambda: f"{(checked()[0].values.get('design_name') or 'design')}.toml")
        def download():
            f, spec, design, err = checked()
            if spec is None:
                res = results()
                spec = res.spec if res is not None else None
            yield dumps(
                spec,
                "Written by the basket design studio (python -m analysis studio).\n"
                "Run: python -m analysis design THIS_FILE --out DIR",
            )

    return App(app_ui(), server, debug=False)


__all__ = ["KINDS", "make_app", "oc_html"]
