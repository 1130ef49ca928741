"""The model registry: every Bayesian model kind the pipeline fits, in table order.

A new model is one file (a :class:`Model` subclass) plus one line in
``REGISTRY`` (or a call to :func:`register`); the CLI's ``--model`` choices,
the results, the tables and the figures take it from here.
"""

from __future__ import annotations

from analysis.bayes.models.base import Model, PriorError
from analysis.bayes.models.exnex import Exnex
from analysis.bayes.models.exnex2 import Exnex2
from analysis.bayes.models.hierarchical import Hierarchical
from analysis.bayes.models.independent import Independent
from analysis.bayes.models.pooled import Pooled

#: kind -> model class, in the order of every table
REGISTRY: dict[str, type[Model]] = {
    "independent": Independent,
    "pooled": Pooled,
    "hierarchical": Hierarchical,
    "exnex": Exnex,
    "exnex2": Exnex2,
}

#: the models of the paper (those with ``in_paper``), with their default priors, in the order of every table;
#: every registered model can be fitted from the command line
DEFAULT_MODELS: dict[str, Model] = {kind: cls() for kind, cls in REGISTRY.items() if cls.in_paper}


def register(cls: type[Model]) -> type[Model]:
    """Add a model kind (usable as a class decorator); the default instance joins ``DEFAULT_MODELS``."""
    if not cls.kind or not cls.label:
        raise ValueError(f"{cls.__name__} must declare a kind and a label")
    REGISTRY[cls.kind] = cls
    if cls.in_paper:
        DEFAULT_MODELS[cls.kind] = cls()
    return cls


def unregister(kind: str) -> None:
    REGISTRY.pop(kind, None)
    DEFAULT_MODELS.pop(kind, None)


def model_class(kind_or_method: str) -> type[Model] | None:
    """The class for ``'hierarchical'`` or ``'bayes-hierarchical'``; ``None`` if unknown."""
    return REGISTRY.get(kind_or_method.removeprefix("bayes-"))


def label(method: str, long: bool = False) -> str:
    """A model's label in tables (or figure legends); the method itself if it is not a registered model."""
    cls = model_class(method)
    if cls is None:
        return method
    return cls.long_label if long else cls.label


def methods() -> list[str]:
    """Registered models' method labels, in table order."""
    return [f"bayes-{k}" for k in REGISTRY]


__all__ = [
    "DEFAULT_MODELS",
    "REGISTRY",
    "Exnex",
    "Exnex2",
    "Hierarchical",
    "Independent",
    "Model",
    "Pooled",
    "PriorError",
    "label",
    "methods",
    "model_class",
    "register",
    "unregister",
]
