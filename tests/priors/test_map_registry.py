"""The MAP models' likelihoods are a registry (analysis.priors.gmap.MAP_LIKELIHOODS): a name maps to an entry,
an unknown name lists the known ones."""

import numpy as np
import pymc as pm
import pytest

from analysis.priors.gmap import MAP_LIKELIHOODS, map_likelihood


def test_an_unknown_map_family_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown MAP model family 'gamma'; expected one of \['normal', 'poisson'\]"):
        map_likelihood("gamma")


@pytest.mark.parametrize(
    ("kind", "aux", "y", "expected"),
    [
        # Normal(y | theta, se): log density at y = 1.3, theta = 0.5, se = 0.4
        ("normal", 0.4, 1.3, -0.5 * ((1.3 - 0.5) / 0.4) ** 2 - np.log(0.4 * np.sqrt(2 * np.pi))),
        # Poisson(y | exposure exp(theta)): y = 7, exposure 3, theta = 0.5
        ("poisson", 3.0, 7, 7 * np.log(3 * np.exp(0.5)) - 3 * np.exp(0.5) - np.log(5040.0)),
    ],
)
def test_each_entry_is_the_likelihood_it_names(kind, aux, y, expected):
    """Each entry adds the observed node with the closed-form log likelihood of its family."""
    with pm.Model(coords={"unit": ["s0"]}) as model:
        node = map_likelihood(kind)(pm, np.array([0.5]), np.array([aux]), np.array([y]))
    assert set(MAP_LIKELIHOODS) >= {kind} and node.name == "y"
    got = float(model.compile_logp(vars=[node], sum=True)({}))
    assert got == pytest.approx(expected, rel=1e-10)
