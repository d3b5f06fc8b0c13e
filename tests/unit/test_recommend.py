"""Unit tests of the recommendation rule and the calibrator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nbaprops.errors import ModelError
from nbaprops.models.calibration import Calibrator
from nbaprops.predict.recommend import (
    NO_LINE,
    OVER,
    PASS,
    UNDER,
    RecommendConfig,
    expected_value,
    recommend,
)


def test_defaults() -> None:
    cfg = RecommendConfig()
    assert (cfg.min_edge, cfg.min_ev) == (1.0, 0.02)


def test_expected_value_at_posted_price() -> None:
    assert expected_value(0.5, -110)[()] == pytest.approx(0.5 * (100 / 110) - 0.5)
    assert expected_value(0.6, 150)[()] == pytest.approx(0.6 * 1.5 - 0.4)


def test_recommend_cases() -> None:
    mean = np.array([25.0, 14.0, 21.0, 30.0, 20.0, 25.0])
    p_over = np.array([0.62, 0.35, 0.53, 0.9, np.nan, 0.45])
    line = np.array([22.5, 17.5, 20.5, np.nan, 20.5, 22.5])
    over = np.array([-110.0, -110.0, -110.0, -110.0, -110.0, -110.0])
    under = np.array([-110.0, -110.0, -110.0, -110.0, -110.0, -110.0])
    rec, conf, ev = recommend(mean, p_over, line, over, under, min_edge=1.0, min_ev=0.02)
    assert rec[0] == OVER            # edge 2.5, EV 0.62*0.909-0.38 = 0.184
    assert rec[1] == UNDER           # edge 3.5 below, p_under 0.65
    assert rec[2] == PASS            # EV 0.53*0.909-0.47 = 0.012 < 0.02 (and edge 0.5)
    assert rec[3] == NO_LINE
    assert rec[4] == PASS            # no probability: EV not computable
    assert rec[5] == PASS            # UNDER by p but the mean is above the line
    assert conf[0] == pytest.approx(0.62) and conf[1] == pytest.approx(0.65)
    assert np.isnan(conf[3]) and np.isnan(ev[3])
    finite = np.isfinite(conf)
    assert ((conf[finite] >= 0) & (conf[finite] <= 1)).all()
    assert ev[1] == pytest.approx(0.65 * (100 / 110) - 0.35)


def test_pass_when_ev_below_threshold_even_with_big_edge() -> None:
    rec, _, ev = recommend([30.0], [0.56], [22.5], [-200.0], [150.0], min_edge=1.0, min_ev=0.02)
    assert ev[0] < 0.02
    assert rec[0] == PASS
    rec2, _, _ = recommend([30.0], [0.56], [22.5], [-200.0], [150.0], min_edge=1.0, min_ev=-1.0)
    assert rec2[0] == OVER


def test_pass_when_edge_below_threshold() -> None:
    rec, _, ev = recommend([21.0], [0.7], [20.5], [-110.0], [-110.0], min_edge=1.0, min_ev=0.0)
    assert ev[0] > 0 and rec[0] == PASS


def test_calibrator_monotone_clipped_and_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    raw = rng.uniform(0.2, 0.8, 3000)
    true_p = 0.5 + 0.5 * (raw - 0.5)  # raw probabilities are over-confident
    went_over = (rng.random(3000) < true_p).astype(float)
    went_over[:50] = np.nan  # pushes are ignored
    cal = Calibrator().fit(raw, went_over)
    grid = np.linspace(0.0, 1.0, 101)
    out = cal.transform(grid)
    assert (np.diff(out) >= -1e-12).all()
    assert out.min() >= 1e-3 and out.max() <= 1 - 1e-3
    assert abs(cal.transform(np.array([0.8]))[0] - 0.65) < 0.08
    assert np.isnan(cal.transform(np.array([np.nan]))[0])
    path = cal.save(tmp_path / "cal.json")
    loaded = Calibrator.load(path)
    np.testing.assert_array_equal(loaded.transform(grid), out)


def test_calibrator_needs_rows() -> None:
    with pytest.raises(ModelError):
        Calibrator(min_rows=50).fit(np.full(10, 0.6), np.ones(10))
    with pytest.raises(ModelError):
        Calibrator().transform(np.array([0.5]))


def test_isotonic_method_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    raw = rng.uniform(0.2, 0.8, 2000)
    went_over = (rng.random(2000) < raw).astype(float)
    cal = Calibrator(method="isotonic").fit(raw, went_over)
    grid = np.linspace(0.0, 1.0, 51)
    loaded = Calibrator.load(cal.save(tmp_path / "iso.json"))
    np.testing.assert_array_equal(loaded.transform(grid), cal.transform(grid))


def test_platt_does_not_push_sparse_extremes_to_zero() -> None:
    # 2,000 rows in the middle, only 5 at raw p = 0.05, all of which happened to go under:
    # isotonic maps that bin to ~0 (absurd certainty); Platt stays a sane probability.
    rng = np.random.default_rng(6)
    raw = np.concatenate([rng.uniform(0.35, 0.65, 2000), np.full(5, 0.05)])
    went_over = np.concatenate([(rng.random(2000) < raw[:2000]).astype(float), np.zeros(5)])
    iso = Calibrator(method="isotonic").fit(raw, went_over).transform(np.array([0.05]))[0]
    platt = Calibrator().fit(raw, went_over).transform(np.array([0.05]))[0]
    assert iso < 0.01
    assert 0.02 < platt < 0.3
