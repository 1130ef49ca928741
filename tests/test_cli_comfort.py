"""The command line's comforts: the compiled-sampler cache on by default, progress with time left, defaults in --help."""

import argparse
import importlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import progress
from analysis.cli import build_parser, default_program_cache, main
from analysis.progress import Progress, duration, track


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_progress_line_shows_count_elapsed_and_time_left_only_after_a_few_seconds():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    clock, out = _Clock(), Tty()
    p = Progress("MCMC fits", 4, stream=out, show=True, min_seconds=3, clock=clock)
    clock.now += 1
    p.advance()
    assert out.getvalue() == ""  # a quick task prints nothing
    clock.now += 5  # 6 s for 2 items: 3 s each, 2 left
    p.advance(current="fitting exnex")
    assert out.getvalue().endswith("MCMC fits: 2/4, 6 s elapsed, about 6 s left (fitting exnex)")
    clock.now += 94  # 100 s for 3: 33.3 s each
    p.advance()
    assert out.getvalue().endswith("MCMC fits: 3/4, 1 min 40 s elapsed, about 33 s left")
    p.advance()
    p.__exit__(None, None, None)
    assert out.getvalue().endswith("4/4, 1 min 40 s elapsed\n")  # done: no estimate, the line ends
    assert duration(3725) == "1 h 02 min"
    assert "\r" in out.getvalue()
    # into a log: whole lines, one per finished item and one every LOG_EVERY seconds, no terminal codes
    log = io.StringIO()
    p = Progress("fits", 3, stream=log, show=True, min_seconds=0, clock=clock)
    p.draw()
    p.draw()  # nothing new, too soon: no line
    clock.now += progress.LOG_EVERY
    p.draw()
    p.advance()
    assert log.getvalue().count("\n") == 3 and "\r" not in log.getvalue() and "\033" not in log.getvalue()


def test_progress_is_silent_off_a_terminal_unless_asked(monkeypatch):
    monkeypatch.delenv("ANALYSIS_PROGRESS", raising=False)
    assert not progress.enabled(io.StringIO())

    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert progress.enabled(Tty())
    monkeypatch.setenv("ANALYSIS_PROGRESS", "0")
    assert not progress.enabled(Tty())
    monkeypatch.setenv("ANALYSIS_PROGRESS", "1")
    assert progress.enabled(io.StringIO())
    out = io.StringIO()
    with Progress("x", 2, stream=out, show=False, min_seconds=0) as p:
        p.advance()
    assert out.getvalue() == ""


def test_track_counts_calls_and_puts_the_function_back():
    class Owner:
        @staticmethod
        def work(x):
            return 2 * x

    original = Owner.work
    p = Progress("work", 3, show=False)
    with track(Owner, "work", p, describe=lambda x: f"item {x}"):
        assert [Owner.work(i) for i in range(3)] == [0, 2, 4]
    assert p.done == 3 and Owner.work is original
    with pytest.raises(AttributeError), track(Owner, "moved", p):
        pass


def test_the_functions_the_command_line_follows_exist():
    """A renamed step function must fail here, not leave a silent progress line."""
    from analysis.basket.executor import Executor
    from analysis.bayes import step
    from analysis.bayes.sampling import programs

    gmap, spec = (importlib.import_module(f"analysis.priors.{m}") for m in ("gmap", "spec"))
    for owner, name in ((step, "fit_model"), (programs, "_trace"), (gmap, "_sample_map"), (spec, "run_design")):
        assert callable(getattr(owner, name)), name
    assert callable(Executor._report)


def _actions(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from ((name, sub, a) for a in sub._actions)


def test_help_shows_every_options_default():
    parser = build_parser()
    checked = 0
    for verb, sub, action in _actions(parser):
        flag = isinstance(action, argparse._StoreTrueAction | argparse._HelpAction)
        if not action.option_strings or flag or action.required:
            continue
        text = sub._get_formatter()._get_help_string(action)
        assert "default" in text, (verb, action.option_strings, text)
        checked += 1
    assert checked > 40
    bayes = parser._subparsers._group_actions[0].choices["bayes"].format_help()
    assert "(default: 2000; with --fast 500)" in " ".join(bayes.split())
    assert "--no-cache" in bayes and "--progress" in bayes


def test_the_program_cache_is_on_by_default_in_the_users_cache_folder(monkeypatch, tmp_path):
    from analysis.bayes.sampling import program_cache

    monkeypatch.delenv("ANALYSIS_JAX_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert program_cache() == tmp_path / "cart-analysis" == default_program_cache()
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert program_cache() == default_program_cache().expanduser() == Path("~/.cache/cart-analysis").expanduser()
    monkeypatch.setenv("ANALYSIS_JAX_CACHE", str(tmp_path / "mine"))  # still overrides
    assert program_cache() == tmp_path / "mine"
    assert main(["map", "--out", str(tmp_path / "map.md"), "--no-cache"]) == 0
    assert os.environ["ANALYSIS_JAX_CACHE"] == "" and program_cache() is None  # --no-cache: none


def test_a_cli_run_shows_its_fits_with_time_left(tmp_path):
    env = {**os.environ, "ANALYSIS_PROGRESS_AFTER": "0"}
    run = subprocess.run(
        [sys.executable, "-m", "analysis", "bayes", "--fast", "--model", "independent", "--model", "pooled",
         "--progress", "--out", str(tmp_path / "bayes")],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Bayesian fits: 1/2" in run.stderr and "about" in run.stderr and "left" in run.stderr
    assert "Bayesian fits: 2/2" in run.stderr
    quiet = subprocess.run(
        [sys.executable, "-m", "analysis", "bayes", "--fast", "--model", "independent", "--out", str(tmp_path / "q")],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert quiet.returncode == 0 and "Bayesian fits" not in quiet.stderr  # not a terminal, not asked
