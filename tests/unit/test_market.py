"""MarketBlend: learned only from data, falls back to the market when the model adds nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.stats import poisson

from nbaprops.models.market_blend import MIN_ROWS, MarketBlend


def _rows(n: int, model_skill: float, seed: int, market_noise: float = 1.0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    truth = rng.uniform(8, 30, n)                       # a player's true expected points
    actual = rng.poisson(truth).astype(float)
    known = truth + rng.normal(0, market_noise, n)      # what the book knows of the truth
    line = np.floor(known) + 0.5
    mean = line + model_skill * (truth - line) + (1 - model_skill) * rng.normal(0, 4.0, n)
    p_market = poisson.sf(np.floor(line), known)        # the market's P(over), calibrated to what it knows
    p_model = 1 / (1 + np.exp(-(mean - line) / 3.0))
    return mean, p_model, line, p_market, actual


def test_too_few_rows_learns_nothing_and_defers_to_the_market() -> None:
    mean, pm, line, pk, actual = _rows(MIN_ROWS - 1, 0.5, 1)
    blend = MarketBlend().fit(mean, pm, line, pk, actual)
    assert not blend.fitted_
    m2, p2 = blend.apply(mean, pm, line, pk)
    np.testing.assert_array_equal(m2, mean)            # points: the system's own
    np.testing.assert_array_equal(p2, pk)              # probability: the market's until shown otherwise
    no_price = np.full(len(pk), np.nan)
    np.testing.assert_array_equal(blend.apply(mean, pm, line, no_price)[1], pm)


def test_noise_model_falls_back_to_market() -> None:
    mean, pm, line, pk, actual = _rows(4000, 0.0, 2, market_noise=0.0)
    blend = MarketBlend().fit(mean, pm, line, pk, actual)
    assert blend.fitted_ and blend.prob_source_ == "market"
    assert blend.beta_ < 0.2                            # points shrink almost all the way to the line
    _, p = blend.apply(mean, pm, line, pk)
    np.testing.assert_allclose(p, pk)


def test_informative_model_keeps_the_stack(tmp_path: Path) -> None:
    mean, pm, line, pk, actual = _rows(6000, 1.0, 3)   # the model knows the truth, the line does not
    blend = MarketBlend().fit(mean, pm, line, pk, actual)
    assert blend.prob_source_ == "stack" and blend.beta_ > 0.5
    loaded = MarketBlend.load(blend.save(tmp_path / "b.json"))
    np.testing.assert_array_equal(loaded.apply(mean, pm, line, pk)[1], blend.apply(mean, pm, line, pk)[1])
