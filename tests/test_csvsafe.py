"""CSV cells no spreadsheet runs (cnnviz.grading.csvsafe), for every CSV the course writes."""

import pytest

from cnnviz.grading import csvsafe


@pytest.mark.parametrize("value, cell", [
    ("=1+1", "'=1+1"), ("+SUM(A1)", "'+SUM(A1)"), ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("＝1+1", "'＝1+1"), ("＠x", "'＠x"),
    ("Kim, Minji", "Kim, Minji"), ("김민지", "김민지"), ("a=b", "a=b"), ("", ""), (None, ""),
    ("-", "-"), ("-5", "-5"), ("-5.5", "-5.5"),
    (85, "85"), (72.5, "72.5"), (0.0, "0"), (100.0, "100"), (1 / 3, "0.3333"), (float("nan"), ""),
])
def test_text_that_would_start_a_formula_gets_an_apostrophe_and_numbers_stay_numbers(value, cell):
    assert csvsafe.cell(value) == cell
