"""Use a Beta mixture as a prior inside any PyMC model (as RBesT does for brms)."""

from __future__ import annotations

from analysis.priors.mixture import BetaMixture


def as_pymc(mix: BetaMixture, name: str, **kwargs):
    """A PyMC random variable with density ``mix``; call inside a ``pm.Model`` context.

    A single component gives a plain ``pm.Beta``; more give ``pm.Mixture`` of
    Beta components.  Extra keyword arguments (``dims``, ``shape``, ...) are
    passed on.
    """
    import pymc as pm

    comps = mix.components
    if len(comps) == 1:
        _, a, b = comps[0]
        return pm.Beta(name, alpha=a, beta=b, **kwargs)
    return pm.Mixture(
        name, w=[w for w, _, _ in comps], comp_dists=[pm.Beta.dist(alpha=a, beta=b) for _, a, b in comps], **kwargs
    )
