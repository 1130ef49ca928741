"""Independent analyses with the priors step's MAP priors, by name, one per indication."""

import json

import numpy as np
import pytest
from scipy import stats

from analysis.basket.design import exact_oc
from analysis.basket.spec import DesignError, load

PRIORS = {
    "order": ["A", "B"],
    "priors": {
        "A": {
            "mixture": {"family": "beta", "components": [{"w": 0.8, "a": 8, "b": 2}, {"w": 0.2, "a": 1, "b": 1}]},
            "informative_mixture": {"family": "beta", "components": [{"w": 1.0, "a": 8, "b": 2}]},
        },
        "B": {"mixture": {"family": "beta", "components": [{"w": 1.0, "a": 2, "b": 6}]}},
        "N": {"mixture": {"family": "normal", "sigma": 1, "components": [{"w": 1.0, "m": 0, "s": 1}]}},
    },
}


def _design(tmp_path, map_table: str):
    (tmp_path / "priors.json").write_text(json.dumps(PRIORS))
    spec = tmp_path / "d.toml"
    spec.write_text(
        "[design]\nname='m'\n"
        "[[indication]]\nname='X'\nn=6\np0=0.3\ntarget=0.6\nc=0.8\n"
        "[[indication]]\nname='Y'\nn=5\np0=0.2\ntarget=0.5\nc=0.8\n"
        f"[method.m]\ntype='independent'\nmap = {map_table}\n"
        "[[scenario]]\nname='s'\np=[0.3, 0.5]\n"
    )
    return load(spec)


def test_map_priors_by_name_give_each_indication_its_own_prior(tmp_path):
    """Exact go probabilities equal the Beta-binomial sums under each indication's own prior (closed form)."""
    d = _design(tmp_path, "{file = 'priors.json', names = ['A', 'B']}")  # relative to the design file
    rows = {r["indication"]: r for r in exact_oc(d, d.methods[0])}
    # X: robust mixture 0.8 Beta(8, 2) + 0.2 Beta(1, 1); Y: Beta(2, 6)
    for name, n, p0, p, comps in [("X", 6, 0.3, 0.3, [(0.8, 8, 2), (0.2, 1, 1)]), ("Y", 5, 0.2, 0.5, [(1.0, 2, 6)])]:
        go = 0.0
        for y in range(n + 1):
            lw = [np.log(w) + stats.betabinom.logpmf(y, n, a, b) for w, a, b in comps]
            pw = np.exp(np.array(lw) - np.logaddexp.reduce(lw))
            post = sum(q * stats.beta.sf(p0, a + y, b + n - y) for q, (_, a, b) in zip(pw, comps))
            go += stats.binom.pmf(y, n, p) * (post > 0.8)
        assert rows[name]["go"] == pytest.approx(go, abs=1e-12)
    described = d.describe()["methods"][0]
    assert described["map"]["names"] == ["A", "B"] and described["priors"][1]["components"][0]["a"] == 2


def test_one_name_serves_every_indication_and_robust_false_takes_the_map_mixture_alone(tmp_path):
    d = _design(tmp_path, "{file = 'priors.json', names = 'A', robust = false}")
    assert [len(p) for p in d.methods[0].params["priors"]] == [1, 1]


@pytest.mark.parametrize(
    "table,message",
    [
        ("{file = 'priors.json', names = ['A', 'Bb']}", "has no prior 'Bb'; did you mean 'B'"),
        ("{file = 'missing.json', names = 'A'}", "no file missing.json or .*missing.json; run `make paper`"),
        ("{file = 'priors.json', names = ['A']}", "key 'names': expected one value or 2"),
        ("{file = 'priors.json', names = 'N'}", "is a normal mixture; a rate needs a Beta one"),
        (
            "{file = 'priors.json', names = 'B', robust = false}",
            "prior 'B' in .* has no readable 'informative_mixture'",
        ),
        ("{file = 'priors.json', names = ['A', 'Bee']}", "has no prior 'Bee'; it has A, B, N"),
        ("{file = 'priors.json', name = 'A'}", "unknown key 'name'; did you mean 'names'"),
        ("{file = 'priors.json', names = 'A', robust = 'yes'}", "'robust' must be true"),
        ("'priors.json'", "expected a table"),
    ],
)
def test_bad_map_tables_name_the_key(tmp_path, table, message):
    with pytest.raises(DesignError, match=message):
        _design(tmp_path, table)


def test_prior_and_map_together_are_refused(tmp_path):
    with pytest.raises(DesignError, match="either 'prior' or 'map'"):
        _design(tmp_path, "{file = 'priors.json', names = 'A'}\nprior = [1, 1]")
