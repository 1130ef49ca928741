"""The fit cache: keyed by everything that determines a fit (code included); unreadable files are refitted."""

import json
import os

import arviz as az
import numpy as np
import pytest

from analysis.bayes import sampling
from analysis.bayes.models import DEFAULT_MODELS
from analysis.bayes.sampling import cache, keys, programs
from analysis.bayes.step import stored_fit
from analysis.bayes.units import Units
from analysis.settings import MCMC

UNITS = Units(("SLE", "IIM", "SSc"), (8, 3, 4), (8, 3, 4))
MC = MCMC(draws=500, tune=500, chains=2, cores=1, seed=3)
SPEC = DEFAULT_MODELS["hierarchical"]


@pytest.fixture
def fake_sampler(monkeypatch):
    """Replace NUTS by independent Normal draws (gate-passing), counting the calls."""
    calls = []

    def fake(spec, units, mcmc):
        calls.append(spec.name)
        rng = np.random.default_rng(len(calls))
        c, d, k = mcmc.chains, mcmc.draws, len(units.labels)
        idata = az.from_dict(
            posterior={
                "mu": rng.normal(2, 1, (c, d)),
                "tau": np.abs(rng.normal(0, 1, (c, d))),
                "z": rng.normal(size=(c, d, k)),
                "theta_ex": rng.normal(2, 1, (c, d, k)),
            },
            sample_stats={"diverging": np.zeros((c, d), bool)},
            coords={"unit": list(units.labels)},
            dims={"z": ["unit"], "theta_ex": ["unit"]},
        )
        spec.add_draws(idata, units, np.random.default_rng([mcmc.seed, 1]))
        idata.attrs["sampling_seconds"] = 0.0
        return idata

    monkeypatch.setattr(cache, "sample", fake)
    return calls


def test_code_change_refits(tmp_path, fake_sampler, monkeypatch):
    out = tmp_path / "hierarchical.nc"
    stored_fit(SPEC, UNITS, out, MC)
    stored_fit(SPEC, UNITS, out, MC)
    assert len(fake_sampler) == 1, "an unchanged fit must be read back"
    # editing a model file changes the code hash: the stored fit must not be read back
    monkeypatch.setattr(keys, "code_hash", lambda: "0" * 64)
    monkeypatch.setattr(cache, "code_hash", lambda: "0" * 64)
    stored_fit(SPEC, UNITS, out, MC)
    assert len(fake_sampler) == 2, "refit after a code change"
    assert json.loads(out.with_suffix(".json").read_text())["code"] == "0" * 64


def test_code_hash_covers_bayes_and_settings():
    from analysis.settings import ROOT

    files = {p.relative_to(ROOT).as_posix() for p in (ROOT / "analysis/bayes").rglob("*.py")}
    assert "analysis/bayes/models/hierarchical.py" in files
    assert sampling.CODE_FILES == ("analysis/bayes", "analysis/settings.py")
    assert len(sampling.code_hash()) == 64


def test_truncated_netcdf_is_refitted_with_a_warning(tmp_path, fake_sampler):
    out = tmp_path / "hierarchical.nc"
    stored_fit(SPEC, UNITS, out, MC)
    data = out.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    with pytest.warns(sampling.CacheWarning, match="unreadable"):
        idata, _ = stored_fit(SPEC, UNITS, out, MC)
    assert len(fake_sampler) == 2
    assert az.from_netcdf(out).posterior["mu"].shape == (MC.chains, MC.draws)


def test_corrupt_sidecar_is_refitted_with_a_warning(tmp_path, fake_sampler):
    out = tmp_path / "hierarchical.nc"
    stored_fit(SPEC, UNITS, out, MC)
    out.with_suffix(".json").write_text('{"cache_key": ')
    with pytest.warns(sampling.CacheWarning):
        stored_fit(SPEC, UNITS, out, MC)
    assert len(fake_sampler) == 2


def test_fit_with_the_same_key_elsewhere_is_reused(tmp_path, fake_sampler):
    main = tmp_path / "bayes"
    first, _ = stored_fit(SPEC, UNITS, main / "hierarchical.nc", MC)
    again, _ = stored_fit(SPEC, UNITS, main / "sensitivity" / "default.nc", MC, reuse=(main,))
    assert len(fake_sampler) == 1
    np.testing.assert_array_equal(first.posterior["mu"].values, again.posterior["mu"].values)
    assert (main / "sensitivity" / "default.json").is_file()
    # other priors: another key, a new fit
    stored_fit(SPEC.with_priors(), Units(("A", "B"), (1, 2), (3, 4)), main / "other.nc", MC, reuse=(main,))
    assert len(fake_sampler) == 2


def test_padding():
    assert sampling.padded_size(3, 8) == 8
    assert sampling.padded_size(8, 8) == 8
    assert sampling.padded_size(9, 8) == 16
    assert sampling.padded_size(3, 0) == 3


def test_compiled_sampler_serves_other_hyperparameters_and_data():
    """One compiled program per kind: another prior and other data give other draws, the same seed the same ones."""
    small = MCMC(draws=50, tune=50, chains=1, cores=1, seed=5)  # the program of test_same_seed_same_draws
    a = sampling.sample(SPEC, UNITS, small)
    n_programs = len(programs._PROGRAMS)
    b = sampling.sample(
        SPEC.with_priors(mu=DEFAULT_MODELS["exnex"].priors["nex"]), Units(("A", "B"), (0, 1), (4, 4)), small
    )
    c = sampling.sample(SPEC, UNITS, small)
    assert len(programs._PROGRAMS) == n_programs, "no new program for other hyperparameters or data"
    np.testing.assert_array_equal(a.posterior["mu"].values, c.posterior["mu"].values)
    assert float(b.posterior["mu"].mean()) < float(a.posterior["mu"].mean())
    assert list(b.posterior["p"].coords["unit"].values) == ["A", "B"]


SMALL = MCMC(draws=200, tune=200, chains=2, cores=1, seed=5)


def test_stored_program_gives_the_draws_of_a_fresh_trace(tmp_path, monkeypatch):
    """A later step of a build (another process) loads the compiled sampler the first step stored: same program,
    same draws, no tracing or compilation of its own."""
    import subprocess
    import sys

    monkeypatch.setenv("ANALYSIS_JAX_CACHE", str(tmp_path))
    monkeypatch.setattr(programs, "_PROGRAMS", {})
    traced = sampling.sample(SPEC, UNITS, SMALL).posterior["mu"].values  # traces, compiles, stores under programs/
    stored = sorted((tmp_path / "programs").glob("*.xla"))
    assert len(stored) == 1
    before = stored[0].stat().st_ino
    code = (
        "import json, numpy as np; from analysis.bayes import sampling; from analysis.bayes.models import "
        "DEFAULT_MODELS; from analysis.bayes.units import Units; from analysis.settings import MCMC; "
        "spec, mc = DEFAULT_MODELS['hierarchical'], MCMC(draws=200, tune=200, chains=2, cores=1, seed=5); "
        "units = Units(('SLE','IIM','SSc'),(8,3,4),(8,3,4)); "
        "print(json.dumps(sampling.prepare([(spec, units)], mc))); "
        "i = sampling.sample(spec, units, mc); "
        f"np.save({str(tmp_path / 'later.npy')!r}, i.posterior['mu'].values)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    np.testing.assert_array_equal(np.load(tmp_path / "later.npy"), traced)
    (record,) = json.loads(out.strip().splitlines()[-1])
    assert record["source"] == "stored" and record["compile_s"] == 0.0, record
    assert sorted((tmp_path / "programs").glob("*.xla")) == stored, "the later process stored nothing new"
    assert stored[0].stat().st_ino == before, "not rewritten (an atomic write is a new file)"


def test_unreadable_stored_program_is_traced_again_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYSIS_JAX_CACHE", str(tmp_path))
    monkeypatch.setattr(programs, "_PROGRAMS", {})
    small = MCMC(draws=50, tune=50, chains=1, cores=1, seed=1)
    path = programs._stored_program(SPEC, 8, small)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a program")
    with pytest.warns(sampling.CacheWarning, match="unreadable.*tracing it again"):
        program = programs._program(SPEC, 8, small)
    assert program[1] == [*SPEC.hyperparameters(), "events", "trials"]
    assert programs._load_program(path) is not None  # the unreadable file was replaced by the compiled program


def test_stored_program_key_holds_what_the_compiled_code_depends_on(tmp_path, monkeypatch):
    """Other settings, XLA flags, architecture or code: another file (a stored executable is never reused for them)."""
    monkeypatch.setenv("ANALYSIS_JAX_CACHE", str(tmp_path))
    path = programs._stored_program(SPEC, 8, SMALL)
    assert path.parent == tmp_path / "programs" and path.suffix == ".xla"
    assert programs._stored_program(SPEC, 8, SMALL) == path
    assert programs._stored_program(SPEC, 16, SMALL) != path
    assert programs._stored_program(DEFAULT_MODELS["exnex"], 8, SMALL) != path
    assert programs._stored_program(SPEC, 8, MCMC(draws=201, tune=200, chains=2, cores=1, seed=5)) != path
    assert programs._stored_program(SPEC, 8, MCMC(draws=200, tune=200, chains=2, cores=1, seed=6)) == path  # data
    flags = os.environ.get("XLA_FLAGS", "")
    monkeypatch.setenv("XLA_FLAGS", flags + " --xla_cpu_enable_fast_math=true")
    assert programs._stored_program(SPEC, 8, SMALL) != path
    monkeypatch.setenv("XLA_FLAGS", flags)
    assert programs._stored_program(SPEC, 8, SMALL) == path
    monkeypatch.setattr(programs.platform, "machine", lambda: "riscv64")
    assert programs._stored_program(SPEC, 8, SMALL) != path
    monkeypatch.undo()
    for unset in ("", "  "):  # empty or blank: no cache (not a folder named by spaces)
        monkeypatch.setenv("ANALYSIS_JAX_CACHE", unset)
        assert programs._stored_program(SPEC, 8, SMALL) is None
    monkeypatch.setenv("ANALYSIS_JAX_CACHE", f" {tmp_path} ")
    assert programs._stored_program(SPEC, 8, SMALL) == path


def test_cache_keeps_the_most_recently_used_programs(tmp_path):
    folder = tmp_path / "programs"
    folder.mkdir()
    for i in range(5):
        (folder / f"{i}.xla").write_bytes(b"x")
        os.utime(folder / f"{i}.xla", (1000 + i, 1000 + i))
    os.utime(folder / "0.xla")  # used just now
    programs._prune(folder, keep=3)
    assert sorted(p.name for p in folder.glob("*.xla")) == ["0.xla", "3.xla", "4.xla"]


def test_damaged_stored_program_is_not_run(tmp_path, monkeypatch):
    """One flipped byte inside the executable: the checksum refuses it (running it could crash the process); an
    unreadable file is traced again and rewritten (above)."""
    small = MCMC(draws=50, tune=50, chains=1, cores=1, seed=1)
    programs._program(SPEC, 8, small)  # stored in the session's cache (tests/conftest.py), or loaded from it
    blob = bytearray(programs._stored_program(SPEC, 8, small).read_bytes())
    blob[int(len(blob) * 0.85)] ^= 0xFF
    monkeypatch.setenv("ANALYSIS_JAX_CACHE", str(tmp_path))
    path = programs._stored_program(SPEC, 8, small)
    path.parent.mkdir(parents=True)
    path.write_bytes(bytes(blob))
    with pytest.warns(sampling.CacheWarning, match="checksum mismatch"):
        assert programs._load_program(path) is None
    assert not programs._intact(path)
    blob[int(len(blob) * 0.85)] ^= 0xFF
    path.write_bytes(bytes(blob))
    assert programs._intact(path)
    # the samplers step only checks that the programs are stored: an intact one is neither loaded nor traced
    monkeypatch.setattr(programs, "_PROGRAMS", {})
    other = Units(("A", "B"), (1, 2), (5, 5))  # another fit of the same program: checked and recorded once
    (record,) = sampling.prepare([(SPEC, UNITS), (SPEC, other)], small, load=False)
    assert record["source"] == "stored" and programs._PROGRAMS == {}
    assert programs._load_program(path) is not None


def test_unwritable_cache_warns_and_the_fit_goes_on(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    small = MCMC(draws=50, tune=50, chains=1, cores=1, seed=1)
    compiled, *meta = programs._program(SPEC, 8, small)
    with pytest.warns(sampling.CacheWarning, match="not kept.*ANALYSIS_JAX_CACHE must name a writable folder"):
        programs._store_program(blocker / "programs" / "x.xla", compiled, tuple(meta))
    assert programs._load_program(blocker / "programs" / "x.xla") is None  # absent, no warning


def test_a_model_kind_registered_elsewhere_keys_its_own_source(tmp_path, monkeypatch):
    """A Hierarchical subclass in the user's own file: its source is part of the program and fit keys."""
    import importlib
    import sys

    monkeypatch.setenv("ANALYSIS_JAX_CACHE", str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = tmp_path / "my_models.py"
    code = (
        "from dataclasses import dataclass\n"
        "from analysis.bayes.models.hierarchical import Hierarchical\n"
        "@dataclass(frozen=True)\n"
        "class Mine(Hierarchical):\n"
        "    shift: float = {}\n"
    )
    mod.write_text(code.format(0.0))
    mine = importlib.import_module("my_models").Mine()  # the same kind and priors as the package's model
    assert sampling.model_sources(SPEC) == ""  # the package's own models: covered by the code hash
    first = programs._stored_program(mine, 8, SMALL), sampling.cache_key(mine, UNITS, SMALL)
    assert first[0] != programs._stored_program(SPEC, 8, SMALL)
    assert first[1] != sampling.cache_key(SPEC, UNITS, SMALL)
    mod.write_text(code.format(3.0))  # the user edits the model
    second = programs._stored_program(mine, 8, SMALL), sampling.cache_key(mine, UNITS, SMALL)
    assert second[0] != first[0] and second[1] != first[1]
    sys.modules.pop("my_models", None)


@pytest.mark.parametrize(
    "var, value",
    [("JAX_THREEFRY_PARTITIONABLE", "0"), ("JAX_DEFAULT_PRNG_IMPL", "rbg"), ("PYTENSOR_FLAGS", "floatX=float32")],
)
def test_settings_that_change_the_compiled_code_change_the_program_key(tmp_path, monkeypatch, var, value):
    monkeypatch.setenv("ANALYSIS_JAX_CACHE", str(tmp_path))
    path = programs._stored_program(SPEC, 8, SMALL)
    monkeypatch.setenv(var, value)
    assert programs._stored_program(SPEC, 8, SMALL) != path
