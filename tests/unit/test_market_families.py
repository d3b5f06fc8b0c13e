"""The predictive distribution per market (issue 12, part 4): the measured family of each market
(bench/market_distributions.py, docs/markets.md "Distributions per market") reaches the spread."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nbaprops.errors import InputError, ModelError
from nbaprops.markets import MARKETS, Market, get_market
from nbaprops.models.systems import DISTRIBUTION_FAMILIES, SpreadModel, distribution_family, make_system
from nbaprops.models.systems.base import PointsDistribution, count_distribution

#: The decision of docs/markets.md "Distributions per market". Changing the registry or the table
#: without re-measuring and updating the doc fails here.
DECISION = {
    "points": "auto", "rebounds": "negbin", "assists": "negbin", "threes": "negbin",
    "pra": "negbin", "pr": "negbin", "pa": "negbin", "ra": "negbin",
    "blocks": "poisson", "steals": "poisson", "turnovers": "poisson",
}


def test_every_market_has_the_measured_family() -> None:
    assert {m.name: distribution_family(m) for m in MARKETS} == DECISION
    assert dict(DISTRIBUTION_FAMILIES) == DECISION
    assert distribution_family("player_blocks") == "poisson" and distribution_family("PRA") == "negbin"


def test_count_like_markets_get_a_count_family_and_combos_model_the_sum() -> None:
    for m in MARKETS:
        if m.count_like:
            assert distribution_family(m) in ("negbin", "poisson"), m.name
        if len(m.columns) > 1:  # the sum is one target: the same family as a single stat, no parts
            assert distribution_family(m) in ("normal", "negbin", "auto"), m.name


def test_a_market_without_a_decision_is_refused() -> None:
    dunks = Market("player_dunks", "dunks", "Dunks", ("pts",), ("player_dunks",), (), count_like=True,
                   max_line=5, min_tolerance=2)
    with pytest.raises(ModelError, match="no distribution family"):
        distribution_family(dunks)
    with pytest.raises(InputError):
        distribution_family("dunks")


def test_poisson_spread_learns_nothing_and_is_the_poisson() -> None:
    rng = np.random.default_rng(0)
    mean = rng.uniform(0.2, 2.5, 400)
    y = rng.poisson(mean).astype(float)
    spread = SpreadModel.fit(mean, y, family="poisson")
    assert (spread.a, spread.b, spread.min_scale, spread.family, spread.n_rows) == (0.0, 1.0, 0.0, "poisson", 400)
    np.testing.assert_allclose(spread.scale(mean), np.sqrt(mean))
    dist = spread.distribution(np.array([0.4, 1.3]))
    np.testing.assert_allclose(dist.p_over(1.5), stats.poisson.sf(1, [0.4, 1.3]), atol=1e-12)
    assert SpreadModel.from_dict(spread.to_dict()) == spread
    with pytest.raises(ValueError, match="unknown family"):
        SpreadModel.fit(mean, y, family="gamma")


def test_the_family_reaches_a_system_spread() -> None:
    rng = np.random.default_rng(1)
    n = 300
    dates = np.repeat(np.arange("2023-11-01", "2024-01-15", dtype="datetime64[D]"), 4)[:n]
    avg = rng.uniform(0.2, 2.0, n)
    X = pd.DataFrame({"points_avg_last_5": avg, "points_avg_last_10": avg, "points_avg_season": avg,
                      "game_date": dates.astype(str)})
    y = rng.poisson(avg).astype(float)
    system = make_system("moving_average", family=distribution_family("blocks")).fit(X, y)
    assert system.spread_.family == "poisson"
    dist = system.predict_distribution(X.head(3))
    np.testing.assert_allclose(dist.p_over(0.5), 1.0 - dist.pmf(0), atol=1e-12)


@pytest.mark.parametrize("family", ["poisson", "negbin"])
def test_count_lines_half_never_push_whole_push_with_the_pmf(family: str) -> None:
    mean = np.array([0.3, 0.9, 1.6, 2.8])
    d = count_distribution(mean, None if family == "poisson" else mean * 1.8)
    assert d.family == family
    for k in range(0, 8):
        assert np.all(d.p_push(k + 0.5) == 0.0)
        np.testing.assert_allclose(d.p_push(float(k)), d.pmf(k), atol=1e-15)
        # over + under + push = 1 on the whole-number line
        np.testing.assert_allclose(d.sf(k) + d.cdf(k - 1) + d.p_push(float(k)), 1.0, atol=1e-12)


def test_the_normal_of_points_is_untouched_by_the_count_families() -> None:
    d = PointsDistribution(np.array([22.0]), np.array([6.5]), "normal")
    np.testing.assert_allclose(d.p_push(22.0), stats.norm.cdf(0.5 / 6.5) - stats.norm.cdf(-0.5 / 6.5))
    assert get_market("points").count_like is False and distribution_family("points") == "auto"
