"""Deterministic posteriors of hierarchical and EXNEX models for K binomial groups.

No MCMC: every posterior summary is an integral, computed by quadrature.
This package imports numpy, scipy, :mod:`analysis.logitnormal` and :mod:`analysis.bayes.prior` only (the one distribution type:
``Dist`` and ``as_dist`` here are :class:`~analysis.bayes.prior.Prior` and
:func:`~analysis.bayes.prior.as_prior`), so that it can move with that module unchanged.

The model (:class:`EngineModel`).  Group ``k`` has ``y_k`` responders of ``n_k``; its logit is
``theta_k``.  In the hierarchical model ``theta_k ~ Normal(mu, tau)`` with
priors on ``mu`` and ``tau``.  In EXNEX (Neuenschwander et al. 2016,
Pharmaceutical Statistics 15:123-134) ``theta_k`` comes from exchangeable
component ``j`` (``Normal(mu_j, tau_j)``, ``j = 1..J``) with prior
probability ``w_kj``, or from its own non-exchangeable ``Normal(m_k, s_k)``
with probability ``w_k,nex = 1 - sum_j w_kj``.  The indicators are summed
out exactly.

Integration.

1. Inner (per group, per hyper-parameter point):
   ``Q(a, b; mu, tau) = int expit(t)^a expit(-t)^b Normal(t | mu, tau) dt``.
   The integrand is log-concave, so it has one mode, found by safeguarded
   Newton; each side of the mode is integrated by Gauss-Legendre out to
   where the log integrand has dropped by ``DROP`` (=40) from its maximum
   (the end is bracketed by doubling, which concavity makes safe).  This
   is exact in the limits ``tau -> 0`` (the integrand becomes the normal)
   and ``y = n`` or ``y = 0`` (one-sided integrands), which is where fixed
   Gauss-Hermite rules fail.  A group's marginal likelihood is
   ``C(n, y) Q(y, n - y)``, its conditional mean ``Q(y + 1, n - y) / Q(y,
   n - y)``, and tail probabilities integrate over ``t > logit(x)``.
2. Outer, per exchangeable component, over ``(mu, tau)``: ``mu`` on a
   uniform grid over ``m +- 8 s`` (trapezoid rule, spectrally accurate for
   the smooth, rapidly decaying integrand; spacing ``2.4 / sqrt(N)`` with
   ``N`` the total sample size, finer than the narrowest possible
   posterior of ``mu``, down to a quarter at the ``tau`` nodes below the
   spacing, where tail probabilities are nearly steps in ``mu``), ``tau`` by Gauss-Legendre in ``log tau`` between
   the prior's ``1e-12`` quantile (at least 1e-3) and its ``1 - 1e-9``
   quantile (at most 1e3), weighted by the prior density times ``tau``;
   the prior mass below and above the grid is lumped at its ends (the
   likelihood is flat there).  ``resolution`` scales both spacings and the
   Gauss-Legendre order, for refinement checks.
3. Components: with one exchangeable component the groups are
   conditionally independent given ``(mu, tau)``, so the posterior is a
   product over groups on the 2-D grid.  With ``J >= 2``, the product of
   per-group sums is expanded over the assignments of groups to
   components; each term factorises into one integral per component over
   the subset of groups it holds (:func:`mixture_weights`), so the cost is
   ``2^K`` grid passes per component (and ``3^K`` scalar products for
   ``J >= 3``) instead of a ``2J``-dimensional grid.

Tabulation.  For a fixed design the marginal likelihood, conditional
moments and tail probabilities of every possible count ``y = 0..n`` are
tabulated on the grid once (:meth:`Engine.table`); a posterior for a new
data vector is then a few vector operations (:meth:`Engine.batch` does
thousands at once).

Modules, one role each: :mod:`~.model` (components and models),
the inner integral (:mod:`analysis.logitnormal`, shared with every stage), :mod:`~.grid` (the hyper-parameter grid), :mod:`~.tables`
(per-count tables), :mod:`~.components` (several exchangeable components), :mod:`~.core` (the engine
and its posteriors), :mod:`~.direct` (one-off posteriors: whole grid rows per matrix product, no tables over
every count), :mod:`~.mcmc` (the MCMC cross-check).
"""

from analysis.bayes.engine.components import mixture_weights
from analysis.bayes.engine.core import Engine, Posterior
from analysis.bayes.engine.direct import DirectEngine, posterior
from analysis.bayes.engine.grid import Grid, make_grid
from analysis.bayes.engine.mcmc import MCMCMismatch, compare_mcmc
from analysis.bayes.engine.model import Component, EngineModel
from analysis.bayes.engine.tables import GroupTable, add_tail, group_table
from analysis.bayes.prior import Prior as Dist
from analysis.bayes.prior import as_prior as as_dist
from analysis.logitnormal import BLOCK, DROP, PANELS, log_binom, log_q

__all__ = [
    "BLOCK",
    "DROP",
    "PANELS",
    "Component",
    "DirectEngine",
    "Dist",
    "Engine",
    "EngineModel",
    "Grid",
    "GroupTable",
    "MCMCMismatch",
    "Posterior",
    "add_tail",
    "as_dist",
    "compare_mcmc",
    "group_table",
    "log_binom",
    "log_q",
    "make_grid",
    "mixture_weights",
    "posterior",
]
