"""Use a mixture prior inside any PyMC model (as RBesT's ``mixstanvar`` does for brms)."""

from __future__ import annotations

from analysis.priors.mixmvnorm import MvNormalMixture
from analysis.priors.mixture import BetaMixture, GammaMixture, Mixture, NormalMixture


def as_pymc(mix: Mixture | MvNormalMixture, name: str, **kwargs):
    """A PyMC random variable with density ``mix``; call inside a ``pm.Model`` context.

    Beta, Normal and Gamma mixtures give ``pm.Beta``, ``pm.Normal`` and ``pm.Gamma`` (shape, rate)
    for a single component and ``pm.Mixture`` of them otherwise; a :class:`MvNormalMixture` gives
    ``pm.MvNormal`` or a ``pm.Mixture`` of ``pm.MvNormal`` components (a prior on a vector, e.g. the
    intercept and slope of a meta-regression).  Extra keyword arguments (``dims``, ``shape``, ...)
    are passed on.

    Parameters
    ----------
    mix : Mixture or MvNormalMixture
        The density.
    name : str
        The random variable's name in the model.
    **kwargs
        Passed on to the PyMC distribution (``dims``, ``shape``, ...).

    Returns
    -------
    pytensor.tensor.TensorVariable
        The random variable, added to the model of the surrounding ``pm.Model`` context.

    References
    ----------
    RBesT ``R/mixstanvar.R`` (mixture priors in brms models).
    """
    import pymc as pm

    if isinstance(mix, MvNormalMixture):
        comps = [pm.MvNormal.dist(mu=m, cov=c) for _, m, c in mix.components]
        if len(comps) == 1:
            _, m, c = mix.components[0]
            return pm.MvNormal(name, mu=m, cov=c, **kwargs)
        return pm.Mixture(name, w=mix.weights, comp_dists=comps, **kwargs)
    if isinstance(mix, BetaMixture):
        make, dist = (lambda a, b: {"alpha": a, "beta": b}), pm.Beta
    elif isinstance(mix, NormalMixture):
        make, dist = (lambda m, s: {"mu": m, "sigma": s}), pm.Normal
    elif isinstance(mix, GammaMixture):
        make, dist = (lambda a, b: {"alpha": a, "beta": b}), pm.Gamma
    else:
        raise TypeError(f"as_pymc takes a Beta, Normal, Gamma or multivariate normal mixture, got {type(mix).__name__}")
    comps = mix.components
    if len(comps) == 1:
        _, p1, p2 = comps[0]
        return dist(name, **make(p1, p2), **kwargs)
    return pm.Mixture(
        name, w=[w for w, _, _ in comps], comp_dists=[dist.dist(**make(p1, p2)) for _, p1, p2 in comps], **kwargs
    )
