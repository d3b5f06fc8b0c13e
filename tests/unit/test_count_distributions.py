"""Count distributions of low-count markets (issue 12): Poisson and negative binomial P(over line),
exact on half-point lines, with the push mass of a whole-number line."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nbaprops.models.systems.base import PointsDistribution, count_distribution

MEANS = np.array([0.05, 0.3, 0.8, 1.7, 2.4, 4.0])


@pytest.mark.parametrize("variance", [None, MEANS * 1.6, MEANS + 0.5 * MEANS**2])
def test_p_over_half_is_one_minus_p_zero(variance: np.ndarray | None) -> None:
    d = count_distribution(MEANS, variance)
    assert d.family == ("poisson" if variance is None else "negbin")
    np.testing.assert_allclose(d.p_over(0.5), 1.0 - d.pmf(0), rtol=0, atol=1e-12)
    assert np.all(d.p_push(0.5) == 0.0)


def test_poisson_matches_scipy_on_every_half_point_line() -> None:
    d = count_distribution(MEANS)
    for k in range(6):
        np.testing.assert_allclose(d.p_over(k + 0.5), stats.poisson.sf(k, MEANS), atol=1e-12)
        np.testing.assert_allclose(d.pmf(k), stats.poisson.pmf(k, MEANS), atol=1e-12)


def test_negbin_matches_scipy_and_is_wider_than_poisson() -> None:
    var = MEANS * 2.0
    d = count_distribution(MEANS, var)
    n, p = MEANS**2 / (var - MEANS), MEANS / var
    for k in range(6):
        np.testing.assert_allclose(d.p_over(k + 0.5), stats.nbinom.sf(k, n, p), atol=1e-12)
    # over-dispersion puts more mass on 0 than a Poisson of the same mean
    assert np.all(d.pmf(0) > count_distribution(MEANS).pmf(0))
    # a variance at or below the mean is a Poisson
    np.testing.assert_allclose(count_distribution(MEANS, MEANS).p_over(1.5), count_distribution(MEANS).p_over(1.5))


def test_whole_number_line_has_push_mass_and_p_over_is_conditional_on_no_push() -> None:
    d = count_distribution(np.array([1.2]))
    push = d.p_push(1.0)
    np.testing.assert_allclose(push, stats.poisson.pmf(1, 1.2))
    assert push[0] > 0.3
    p_gt = stats.poisson.sf(1, 1.2)
    np.testing.assert_allclose(d.p_over(1.0), p_gt / (1.0 - push))   # the bet's P(win | not refunded)
    # over + under + push = 1 on the whole line
    p_under = stats.poisson.cdf(0, 1.2)
    np.testing.assert_allclose(p_gt + p_under + push, 1.0)


def test_a_zero_mean_poisson_never_goes_over_and_nan_rows_stay_nan() -> None:
    d = count_distribution(np.array([0.0, np.nan, -1.0]))
    out = d.p_over(0.5)
    assert out[0] == 0.0 and np.isnan(out[1]) and np.isnan(out[2])
    assert np.isnan(d.p_push(np.array([0.0, 0.0, 0.0]))[1])


def test_the_points_families_are_unchanged() -> None:
    mean, scale = np.array([20.0]), np.array([6.0])
    normal = PointsDistribution(mean, scale, "normal")
    np.testing.assert_allclose(normal.p_over(20.5), stats.norm.sf((21 - 0.5 - 20.0) / 6.0))
    with pytest.raises(ValueError, match="unknown family"):
        PointsDistribution(mean, scale, "gamma")  # type: ignore[arg-type]
