"""Beta upper tails over many outcomes, each distinct argument computed once.

The borrowing methods evaluate ``P(p > p0)`` under Beta posteriors for every joint outcome of a design,
and most arguments repeat: MEM's pooled counts and the independent posteriors take at most
``(n + 1)^2`` distinct values per indication, however many joint outcomes there are.
:func:`beta_sf` computes :func:`scipy.stats.beta.sf` on the distinct argument triples only and scatters
the values back, so each element is the very number ``scipy.stats.beta.sf`` gives for it.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

#: below this many elements the sort costs more than it saves
MIN_SIZE = 512


def beta_sf(x, a, b) -> np.ndarray:
    """``scipy.stats.beta.sf(x, a, b)``, elementwise with broadcasting, evaluated once per distinct triple.

    Parameters
    ----------
    x, a, b : array_like
        Points and shape parameters; they broadcast against each other.

    Returns
    -------
    numpy.ndarray
        The upper tail probabilities, in the broadcast shape; identical to ``stats.beta.sf(x, a, b)``.
    """
    x, a, b = np.broadcast_arrays(*(np.asarray(v, float) for v in (x, a, b)))
    if x.size < MIN_SIZE:
        return np.asarray(stats.beta.sf(x, a, b), float)
    shape = x.shape
    x, a, b = x.ravel(), a.ravel(), b.ravel()
    if not (np.isfinite(x).all() and np.isfinite(a).all() and np.isfinite(b).all()):
        return np.asarray(stats.beta.sf(x, a, b), float).reshape(shape)  # NaN is unequal to itself: scipy's way
    order = np.lexsort((b, a, x))
    xs, as_, bs = x[order], a[order], b[order]
    new = np.empty(order.size, bool)
    new[0] = True
    new[1:] = (xs[1:] != xs[:-1]) | (as_[1:] != as_[:-1]) | (bs[1:] != bs[:-1])
    first = np.flatnonzero(new)
    values = stats.beta.sf(xs[first], as_[first], bs[first])
    out = np.empty(order.size)
    out[order] = values[np.cumsum(new) - 1]
    return out.reshape(shape)
