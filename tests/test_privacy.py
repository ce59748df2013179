"""The suppression rules every report goes through."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from portal import privacy


def test_cells_under_the_threshold_are_hidden():
    out = privacy.suppress_cells({"a": 40, "b": 25, "c": 3, "d": 12}, threshold=10)
    assert out["c"] is None
    # One hidden cell would be recoverable from the total: the next smallest goes too.
    assert out["d"] is None
    assert out["a"] == 40 and out["b"] == 25


def test_two_hidden_cells_need_no_complement():
    out = privacy.suppress_cells({"a": 40, "b": 4, "c": 3, "d": 12}, threshold=10)
    assert out == {"a": 40, "b": None, "c": None, "d": 12}


def test_exactly_the_threshold_is_shown():
    assert privacy.suppress_cells({"a": 10, "b": 10}, threshold=10) == {"a": 10, "b": 10}
    assert privacy.suppress_total(10, threshold=10) == 10
    assert privacy.suppress_total(9, threshold=10) is None


def test_zero_cells_stay_and_never_serve_as_the_complement():
    out = privacy.suppress_cells({"a": 0, "b": 5, "c": 30, "d": 50}, threshold=10)
    assert out == {"a": 0, "b": None, "c": None, "d": 50}


def test_display_says_fewer_than():
    assert privacy.display(None, threshold=10) == "fewer than 10"
    assert privacy.display(42) == "42"


@given(st.dictionaries(st.text(min_size=1, max_size=3), st.integers(0, 60), min_size=1,
                       max_size=8), st.integers(2, 20))
def test_no_hidden_cell_can_be_recovered(counts, threshold):
    out = privacy.suppress_cells(counts, threshold=threshold)
    # Every small non-zero cell is hidden.
    for k, v in counts.items():
        if 0 < v < threshold:
            assert out[k] is None
    hidden = [k for k, v in out.items() if v is None]
    # Never exactly one hidden cell when another non-zero cell could cover it.
    nonzero_visible = [k for k, v in out.items() if v]
    assert len(hidden) != 1 or not nonzero_visible
