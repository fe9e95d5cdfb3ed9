"""How a GX result becomes a ``dq_results`` row: the sample of unexpected values."""

from __future__ import annotations

from quality.validate import _sample_pairs


def test_each_sampled_value_stays_with_its_own_record() -> None:
    """GX reads the unexpected values and their records' positions in two queries without a
    common order (seen on the 1M night: three USCCs each shown at another's position); the
    value shown beside a position is the one of that record."""
    outcome = {
        "partial_unexpected_list": ["B", "C", "A"],
        "partial_unexpected_index_list": [
            {"src_sha256": "f", "src_pos": 1, "applicant_uscc": "A"},
            {"src_sha256": "f", "src_pos": 2, "applicant_uscc": "B"},
            {"src_sha256": "f", "src_pos": 3, "applicant_uscc": "C"},
        ],
    }
    assert [(value, where["src_pos"]) for value, where in _sample_pairs(outcome)] == [("A", 1), ("B", 2), ("C", 3)]


def test_an_expectation_over_several_columns_pairs_by_position() -> None:
    pair = {"src_sha256": "f", "src_pos": 7, "column_a": 1, "column_b": 2}
    assert _sample_pairs({"partial_unexpected_list": [(1, 2)], "partial_unexpected_index_list": [pair]}) == [((1, 2), pair)]
    assert _sample_pairs({}) == []
