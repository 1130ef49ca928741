"""The one strict number parser of the data files (issue 23): plain ASCII digits within per-field bounds.

Python's ``int`` reads ``'1_0'`` as 10, ``' 10'`` as 10 and ``'١٠'`` (Arabic-Indic digits) as 10, and ``float``
reads ``'nan'``, ``'inf'`` and ``'1e1'``; a data file that holds such a spelling is a typing error, and every
one of them must be refused with the file, row and field named.
"""

from __future__ import annotations

import pytest

from analysis.data import DataError, load_characteristics, validate_characteristics
from analysis.data.characteristics import CHARACTERISTICS
from analysis.data.schema import MAX_COUNT, parse_decimal, parse_whole


@pytest.mark.parametrize("text", ["0", "7", "15", str(MAX_COUNT)])
def test_plain_digits_within_bounds_are_read(text):
    assert parse_whole(text, 0, MAX_COUNT) == (int(text), None)


@pytest.mark.parametrize(
    "text",
    ["1_0", " 10", "10 ", "+10", "1e1", "10.0", "\u0661\u0660", "\uff11\uff10", "0x10", "", "-", "ten", "1,000"],
)
def test_other_spellings_are_refused(text):
    value, problem = parse_whole(text, 0, MAX_COUNT)
    assert value is None
    assert "expected a whole number from 0 to 1,000,000 in plain digits 0-9" in problem


def test_bounds_are_inclusive_and_huge_numbers_are_not_converted():
    assert parse_whole("1", 1, 5) == (1, None)
    assert parse_whole("5", 1, 5) == (5, None)
    assert parse_whole("6", 1, 5)[1].startswith("6; expected")
    assert parse_whole("0", 1, 5)[1].startswith("0; expected")
    big = "9" * 5000  # beyond Python's int() digit limit: reported, not raised
    assert "has 5000 digits" in parse_whole(big, 0, 5)[1]


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "1e1", "1_0", "\u0661\u0660", " 1", "1.", ".5", "0x1"])
def test_decimals_refuse_what_float_reads(text):
    value, problem = parse_decimal(text, -10, 10)
    assert value is None and "is not a number" in problem


def test_decimals_within_bounds():
    assert parse_decimal("2.5", 0, 10) == (2.5, None)
    assert parse_decimal("-3", -10, 10) == (-3.0, None)
    assert parse_decimal("11", 0, 10)[1].startswith("11; expected")


def _broken(tmp_path, old, new):
    text = CHARACTERISTICS.read_text(encoding="utf-8")
    assert old in text, "test set-up: the text to break is not in the file"
    path = tmp_path / "characteristics.csv"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "CH01,MULLER24,all,patients,count,15,",
            "CH01,MULLER24,all,patients,count,1e1,",
            r"row 2, field 'value': '1e1'",
        ),
        (
            "CH01,MULLER24,all,patients,count,15,",
            "CH01,MULLER24,all,patients,count,nan,",
            r"row 2, field 'value': 'nan'",
        ),
        (
            "CH01,MULLER24,all,patients,count,15,",
            "CH01,MULLER24,all,patients,count,1_5,",
            r"row 2, field 'value': '1_5'",
        ),
        ("CH02,MULLER24,SLE,", "CH02,MULLER24,new,", r"row 3, field 'group': 'new' is reserved"),
        ("CH03,MULLER24,IIM,", "CH03,MULLER24,sle,", r"row 4, field 'group': 'sle' differs from 'SLE' \(row 3\)"),
        ("38381673,", "\u0663\u0668\u0663\u0668\u0661\u0666\u0667\u0663,", r"field 'pmid': .*expected digits only"),
    ],
)
def test_characteristics_file_uses_the_strict_parser(tmp_path, old, new, message):
    path = _broken(tmp_path, old, new)
    with pytest.raises(DataError, match=message):
        load_characteristics(path)
    assert validate_characteristics(path)
