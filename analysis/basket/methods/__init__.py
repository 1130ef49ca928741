"""The registry of borrowing methods of the basket designer.

A new method is one file (a :class:`BorrowingMethod` subclass) plus one line
in ``REGISTRY``, or a call to :func:`register`; design files, the OC table,
calibration, the search and the paper's tables take it from here.
"""

from __future__ import annotations

from analysis.basket.methods.base import BorrowingMethod
from analysis.basket.methods.exnex import Exnex
from analysis.basket.methods.hierarchical import Hierarchical
from analysis.basket.methods.independent import Independent
from analysis.basket.methods.jsd import JSD
from analysis.basket.methods.mem import MEM

#: kind -> method class
REGISTRY: dict[str, type[BorrowingMethod]] = {
    "independent": Independent,
    "hierarchical": Hierarchical,
    "exnex": Exnex,
    "jsd": JSD,
    "mem": MEM,
}


class UnknownMethod(KeyError):
    """No borrowing method of that name; the message lists the known ones."""

    def __str__(self) -> str:
        return str(self.args[0])


def register(cls: type[BorrowingMethod]) -> type[BorrowingMethod]:
    """Add a borrowing method (usable as a class decorator)."""
    if not cls.kind or not cls.label:
        raise ValueError(f"{cls.__name__} must declare a kind and a label")
    REGISTRY[cls.kind] = cls
    return cls


def unregister(kind: str) -> None:
    REGISTRY.pop(kind, None)


def get(kind: str) -> type[BorrowingMethod]:
    """The method class of ``kind``; :class:`UnknownMethod` naming the known ones otherwise."""
    try:
        return REGISTRY[kind]
    except KeyError:
        raise UnknownMethod(f"unknown borrowing method {kind!r}; known methods: {', '.join(REGISTRY)}") from None


def label(kind: str) -> str:
    """A method's readable label (the kind itself when it is not registered)."""
    cls = REGISTRY.get(kind)
    return cls.label if cls is not None else kind


__all__ = ["REGISTRY", "BorrowingMethod", "UnknownMethod", "get", "label", "register", "unregister"]
