"""Read-model helpers that take what people typed into names and labels."""

from __future__ import annotations

from app.metrics.queries import natural_key


def test_names_sort_with_their_numbers_as_numbers():
    names = ["Ward 12", "ward 7", "Ward 7b", "Ward ²", "Ward ٣", "²", "Ward"]
    # "²" is a digit to str.isdigit but not to int(): it must sort as text, not raise.
    assert sorted(names, key=natural_key) == ["Ward", "Ward ٣", "ward 7", "Ward 7b", "Ward 12", "Ward ²", "²"]
