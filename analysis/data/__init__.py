"""Stage 1, data: the schemas of the raw files, validation, and the validated tables.

``data/raw`` is read-only; every load validates (:mod:`analysis.data.schema`)
and returns the parsed rows (:mod:`analysis.data.load`).
"""

from analysis.data.characteristics import load_characteristics, validate_characteristics
from analysis.data.load import data_order, endpoint_counts, group_order, load_cohorts, load_index
from analysis.data.schema import DataError, validate_cohorts, validate_index
from analysis.data.validation import validate

__all__ = [
    "DataError",
    "data_order",
    "endpoint_counts",
    "group_order",
    "load_characteristics",
    "load_cohorts",
    "load_index",
    "validate",
    "validate_characteristics",
    "validate_cohorts",
    "validate_index",
]
