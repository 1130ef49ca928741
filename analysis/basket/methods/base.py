"""The interface of a borrowing method of the basket designer.

A borrowing method turns the data of all indications of one trial (counts
``y`` of ``n``, one row per trial) into each indication's posterior mean,
second moment and probability above its null rate; the designer decides,
computes operating characteristics, calibrates and searches from these
three quantities alone.  A method is a subclass of :class:`BorrowingMethod`
in one file of this package and one line in ``REGISTRY``
(:mod:`analysis.basket.methods`), or a call to
:func:`analysis.basket.methods.register`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from analysis.basket.design import Design, Method, States


def beta_sf(x, a, b) -> np.ndarray:
    """``scipy.stats.beta.sf(x, a, b)`` elementwise, evaluated once per distinct ``(x, a, b)``: over a joint
    outcome space the posteriors repeat (independent indications: one per count), and the incomplete beta function
    is the costly step (the same numbers: each element is the same function of the same arguments)."""
    from scipy import stats

    x, a, b = np.broadcast_arrays(*(np.asarray(v, float) for v in (x, a, b)))
    if x.size < 64 or not np.isfinite(x).all():
        return stats.beta.sf(x, a, b)
    out = np.empty(x.shape)
    for xv in np.unique(x):  # a few: one null rate per indication
        at = x == xv
        pairs, inv = np.unique(a[at] + 1j * b[at], return_inverse=True)  # (a, b) as one sortable key, exactly
        out[at] = stats.beta.sf(xv, pairs.real, pairs.imag)[inv.ravel()]
    return out


class BorrowingMethod:
    """One borrowing method: its design-file keys, how it reads them, and its posterior summaries.

    Class attributes: ``kind`` (the name in design files: ``type = "kind"``
    or ``[method.kind]``), ``label`` (readable, for tables and figures),
    ``noun`` (the method in running prose), ``keys`` (the design-file keys it accepts besides ``type``) and
    ``reference`` (the paper defining it).
    """

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    noun: ClassVar[str] = ""  # the method in running prose ("the hierarchical model"); the label when empty
    keys: ClassVar[frozenset[str]] = frozenset()
    reference: ClassVar[str] = ""

    @classmethod
    def parse(cls, table: dict, where: str, K: int, base: Path | None) -> dict:
        """The method's settings from its design-file table (unknown keys are already refused).

        Parameters
        ----------
        table : dict
            The ``[method.NAME]`` table without ``type``.
        where : str
            Location for messages (file and table).
        K : int
            Number of indications.
        base : Path or None
            The design file's folder, for relative file names.

        Returns
        -------
        dict
            The settings, as :attr:`analysis.basket.design.Method.params`.
        """
        return {}

    @classmethod
    def describe(cls, params: dict) -> str:
        """The method's priors and settings in words, for the paper's design table."""
        return ", ".join(f"{k} = {v}" for k, v in params.items())

    @classmethod
    def prepare(cls, design: Design, method: Method, states: list[States]):
        """Anything computed once per design for many :meth:`analyze` calls (a lookup table); ``None`` by default."""
        return None

    @classmethod
    def analyze(cls, design: Design, method: Method, n: np.ndarray, y: np.ndarray, prepared=None) -> dict:
        """Posterior summaries for data rows.

        Parameters
        ----------
        design, method
            The design (null rates ``design.p0``) and the method with its settings.
        n, y : ndarray of int, shape (B, K)
            Sample sizes and responders, one row per trial.
        prepared
            What :meth:`prepare` returned for this design, or ``None``.

        Returns
        -------
        dict
            ``mean``, ``m2`` and ``p_above`` (``P(p_k > p0_k | data)``), each (B, K).
        """
        raise NotImplementedError

    @classmethod
    def exact_summaries(cls, design: Design, method: Method, states: list[States]) -> dict | None:
        """Summaries of every joint end state (C order over ``states``) when the method has a faster way than
        :meth:`analyze` of each; ``None`` (the default) analyses the enumerated end states."""
        return None
