"""Output folders (issue 23): an ad-hoc run never writes into the paper's results/, a step refuses a folder that
holds another step's outputs, and a step's stale outputs of an earlier run are removed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from analysis.cli import SCRATCH, build_parser, main
from analysis.io import holders, step_outputs, write_csv, write_text
from analysis.settings import RESULTS, ROOT

VERBS_WITH_OUT = [
    "frequentist",
    "bayes",
    "sensitivity",
    "priors",
    "design",
    "combine",
    "samplers",
    "provenance",
    "bench",
]


def _args(verb: str) -> list[str]:
    return {"priors": ["priors", "x.toml"], "design": ["design", "x.toml"], "combine": ["combine", "a.csv"]}.get(
        verb, [verb]
    )


@pytest.mark.parametrize("verb", VERBS_WITH_OUT)
def test_default_out_is_a_scratch_folder_never_the_papers_results(verb):
    out = build_parser().parse_args(_args(verb)).out
    assert out.parts[0] == SCRATCH.name
    assert RESULTS not in (ROOT / out).resolve().parents and (ROOT / out).resolve() != RESULTS


def test_makefile_passes_out_to_every_step():
    """``make paper`` writes into results/ only because every step's recipe names ``--out`` (the defaults moved)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for verb in VERBS_WITH_OUT:
        recipes = [line for line in makefile.splitlines() if re.search(rf"\$\(RUN\) {verb}\b", line)]
        assert recipes, verb
        assert all("--out" in line for line in recipes), recipes


def _fake_step(folder: Path, step: str, names: list[str]) -> None:
    with step_outputs(folder, step) as run:
        for name in names:
            write_text(folder / name, f"{step}\n")
        run.ok = True


def test_frequentist_refuses_the_bayesian_folder(tmp_path, capsys):
    """`frequentist --out results/bayes` replaced the Bayesian step's estimates.csv (data loss)."""
    bayes = tmp_path / "bayes"
    bayes.mkdir()
    for name in ("estimates.csv", "exceedance.csv", "diagnostics.csv"):
        (bayes / name).write_text("bayes\n")
    before = {p.name: p.read_text() for p in bayes.iterdir()}
    assert main(["frequentist", "--out", str(bayes)]) == 2
    err = capsys.readouterr().err
    assert f"--out {bayes}: the folder holds the outputs of the 'bayes' step" in err
    assert {p.name: p.read_text() for p in bayes.iterdir()} == before


def test_steps_that_share_a_folder_by_design_may(tmp_path):
    folder = tmp_path / "bayes"
    _fake_step(folder, "bayes", ["estimates.csv", "exceedance.csv"])
    _fake_step(folder, "sensitivity", ["sensitivity.csv"])
    assert set(holders(folder)) == {"bayes", "sensitivity"}
    with pytest.raises(ValueError, match="holds the outputs of the 'bayes' step"):
        _fake_step(folder, "design", ["oc.csv"])


def test_manifest_alone_marks_the_folder(tmp_path):
    folder = tmp_path / "f"
    _fake_step(folder, "frequentist", ["estimates.csv"])  # no file of its signature, but its manifest
    assert holders(folder) == ["frequentist"]
    assert json.loads((folder / ".outputs-frequentist.json").read_text())["files"] == ["estimates.csv"]


def test_stale_output_of_the_same_step_is_removed(tmp_path):
    """A design run with --no-figures into an old folder kept the old figure."""
    folder = tmp_path / "basket"
    _fake_step(folder, "design", ["oc.csv", "design.json", "go_probability.png"])
    (folder / "mine.txt").write_text("a user's note\n")
    _fake_step(folder, "design", ["oc.csv", "design.json"])
    assert sorted(p.name for p in folder.iterdir()) == [".outputs-design.json", "design.json", "mine.txt", "oc.csv"]


def test_stale_output_without_manifest_is_removed_by_name(tmp_path):
    folder = tmp_path / "basket"
    folder.mkdir()
    for name in ("oc.csv", "design.json", "go_probability.png", "fit.nc"):
        (folder / name).write_text("old\n")
    _fake_step(folder, "design", ["oc.csv", "design.json"])
    assert not (folder / "go_probability.png").exists()
    assert (folder / "fit.nc").exists()  # not a product of the step: left alone


def test_a_failed_step_removes_nothing(tmp_path):
    folder = tmp_path / "basket"
    _fake_step(folder, "design", ["oc.csv", "design.json", "go_probability.png"])
    with pytest.raises(RuntimeError), step_outputs(folder, "design"):
        write_csv(folder / "oc.csv", __import__("pandas").DataFrame({"a": [1]}))
        raise RuntimeError("the step failed")
    assert (folder / "go_probability.png").exists()


def test_design_cli_with_no_figures_removes_the_old_figure(tmp_path):
    spec = tmp_path / "d.toml"
    spec.write_text(
        "[design]\nname='t'\n[[indication]]\nname='A'\nn=6\np0=0.2\ntarget=0.5\nc=0.9\n"
        "[[indication]]\nname='B'\nn=6\np0=0.2\ntarget=0.5\nc=0.9\n"
        "[method.independent]\n[scenarios]\ngenerate=['null']\n"
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "go_probability.png").write_bytes(b"an old figure")
    assert main(["design", str(spec), "--out", str(out), "--workers", "1", "--no-figures"]) == 0
    assert not (out / "go_probability.png").exists()
    assert (out / "oc.csv").is_file()
