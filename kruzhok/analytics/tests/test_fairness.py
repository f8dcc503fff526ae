import pytest

from kruzhok.analytics.fairness import beta_prior, compare, wilson


def test_wilson_matches_the_textbook_values():
    # 8 of 10: Wilson 95 % interval is 0.490–0.943 (Agresti & Coull 1998, Table 1 style check).
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    assert wilson(0, 0) == (0.0, 1.0)


def test_a_small_perfect_unit_is_not_ranked_above_a_large_good_one():
    units = [
        ("a", "Шесть детей", 6, 6),
        ("b", "Большая", 450, 500),
        ("c", "Средняя", 140, 200),
        ("d", "Слабая", 120, 200),
    ]
    rated, mean = compare(units)
    by_key = {r.key: r for r in rated}
    assert by_key["a"].raw == 1.0
    assert by_key["a"].shrunk < 1.0 and by_key["a"].small
    assert rated[0].key == "b"
    # Shrinkage pulls the small unit further than the large one.
    assert abs(by_key["a"].shrunk - by_key["a"].raw) > abs(by_key["b"].shrunk - by_key["b"].raw)
    assert all(r.low <= r.shrunk <= r.high for r in rated)
    assert [r.rank for r in rated] == [1, 2, 3, 4]


def test_identical_units_get_a_strong_prior_and_varied_ones_a_weak_one():
    same_a, same_b = beta_prior([(80, 100)] * 10)
    varied_a, varied_b = beta_prior([(10, 100), (90, 100), (50, 100), (30, 100), (70, 100)])
    assert same_a + same_b > varied_a + varied_b
    assert same_a / (same_a + same_b) == pytest.approx(0.8)


def test_no_units_no_crash():
    assert compare([]) == ([], None) or compare([])[0] == []
