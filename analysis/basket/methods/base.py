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
    #: what each of ``keys`` means (the design-file reference, ``make docs``)
    key_docs: ClassVar[dict[str, str]] = {}
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
    def check_resources(cls, design: Design, method: Method, where: str) -> None:
        """Refuse, when the design file is read, settings whose analysis would exceed the memory or time limits
        (:mod:`analysis.limits`); nothing by default.

        Parameters
        ----------
        design, method
            The design as read and this method in it.
        where : str
            The file and table, for the message.
        """

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
    def table_factor(cls, design: Design, method: Method, k: int, n: int):
        """The :class:`~analysis.bayes.engine.mixed.LazyFactor` whose rows :meth:`analyze` reads for indication
        ``k`` with ``n`` patients, when the method tabulates per-count rows (:mod:`analysis.basket.tables` builds
        them once per run, shared by the worker processes); ``None`` (the default): no such rows."""
        return None

    @classmethod
    def exact_summaries(cls, design: Design, method: Method, states: list[States]) -> dict | None:
        """Summaries of every joint end state (C order over ``states``) when the method has a faster way than
        :meth:`analyze` of each; ``None`` (the default) analyses the enumerated end states."""
        return None
