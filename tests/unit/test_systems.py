"""Unit tests of the prediction systems on small synthetic frames (fixed seed, tests only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nbaprops.errors import InputError, MissingColumnsError, ModelError
from nbaprops.features.definitions import (
    AVAILABILITY_FEATURES,
    CONTEXT_COLUMNS,
    FEATURES_V1,
    FEATURES_V2,
    FEATURES_V3,
    FEATURES_V4,
    LINE_MOVEMENT_FEATURES,
    MARKET_FEATURES,
)
from nbaprops.models.systems import (
    SYSTEMS,
    CatBoostSystem,
    EnsembleSystem,
    MovingAverageSystem,
    PointsDistribution,
    PointsSystem,
    SimilaritySystem,
    SpreadModel,
    XGBoostSystem,
    ZoneMatchupSystem,
    load_system,
    make_system,
)
from nbaprops.models.systems.base import chronological_split
from nbaprops.models.systems.boosted import BoostedTreeSystem
from nbaprops.models.systems.ensemble import member_column


def _synthetic(seed: int = 7, n_players: int = 24, n_games: int = 70) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Rows with every feature/context/meta column, the points, and the history frame."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-10-24")
    teams = [f"T{i:02d}" for i in range(30)]
    def_rating = {t: rng.normal(113.0, 3.0) for t in teams}
    rows = []
    for p in range(n_players):
        skill = rng.uniform(6.0, 28.0)
        day = int(rng.integers(0, 3))
        prev_day = None
        for _ in range(n_games):
            day += int(rng.integers(1, 4))
            opp = teams[int(rng.integers(0, 30))]
            home = int(rng.integers(0, 2))
            rest = float(day - prev_day) if prev_day is not None else 5.0
            prev_day = day
            mu = skill * (1.0 + 0.03 * (def_rating[opp] - 113.0)) + (0.8 if home else -0.8)
            pts = float(rng.poisson(max(mu, 0.5)))
            rows.append({"player_id": 1000 + p, "game_date": start + pd.Timedelta(days=day),
                         "game_id": f"{day:05d}{p:03d}", "team_abbr": teams[p % 30], "opponent_abbr": opp,
                         "is_home": home, "days_rest": rest, "opp_def_rating": def_rating[opp], "pts": pts,
                         "minutes": float(np.clip(rng.normal(12 + skill, 4), 0, 48))})
    games = pd.DataFrame(rows).sort_values(["player_id", "game_date"]).reset_index(drop=True)
    g = games.groupby("player_id")["pts"]
    shifted = g.shift(1)
    games["points_avg_last_5"] = shifted.groupby(games["player_id"]).transform(lambda s: s.rolling(5, 1).mean())
    games["points_avg_last_10"] = shifted.groupby(games["player_id"]).transform(lambda s: s.rolling(10, 1).mean())
    games["points_avg_season"] = shifted.groupby(games["player_id"]).transform(lambda s: s.expanding().mean())
    games["points_std_last_10"] = shifted.groupby(games["player_id"]).transform(lambda s: s.rolling(10, 2).std())
    n = len(games)
    feats = {name: rng.normal(0.0, 1.0, n) for name in FEATURES_V2 if name not in games.columns}
    frame = pd.concat([games, pd.DataFrame(feats)], axis=1)
    frame["opponent_def_rating"] = frame["opp_def_rating"]
    frame["home_away"] = frame["is_home"].astype(float)
    frame["pct_paint"] = rng.uniform(0.2, 0.5, n)
    frame["pct_mid_range"] = rng.uniform(0.05, 0.3, n)
    frame["pct_three"] = 1.0 - frame["pct_paint"] - frame["pct_mid_range"]
    frame["pct_free_throw"] = rng.uniform(0.05, 0.3, n)
    frame["team_pace"] = rng.normal(99.0, 2.0, n)
    frame["opponent_pace"] = rng.normal(99.0, 2.0, n)
    frame["has_vegas_line"] = 1.0
    frame["vegas_points_line"] = np.round(frame["points_avg_season"].fillna(10.0) * 2) / 2 + 0.5
    frame.loc[rng.random(n) < 0.2, ["vegas_points_line", "vegas_opening_line", "vegas_line_move"]] = np.nan
    for col in CONTEXT_COLUMNS:
        if col not in frame.columns:
            frame[col] = rng.normal(0.0, 0.02, n)
    frame["opp_points_allowed_avg"] = rng.normal(113.0, 3.0, n)
    frame["games_played_season"] = frame.groupby("player_id").cumcount().astype(float)
    history = games[["player_id", "game_date", "pts", "minutes", "opponent_abbr", "is_home", "days_rest",
                     "opp_def_rating"]].copy()
    y = frame.pop("pts")
    return frame, y, history


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    return _synthetic()


def _split(X: pd.DataFrame, y: pd.Series) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    train, test = chronological_split(X["game_date"], 0.2)
    return (X.loc[train].reset_index(drop=True), y.loc[train].reset_index(drop=True),
            X.loc[test].reset_index(drop=True), y.loc[test].reset_index(drop=True))


def _fit(system_id: str, X: pd.DataFrame, y: pd.Series, history: pd.DataFrame) -> PointsSystem:
    fast = {"xgboost": {"n_estimators": 200, "learning_rate": 0.1, "max_depth": 3},
            "catboost": {"iterations": 200, "learning_rate": 0.1, "depth": 4}}
    system = make_system(system_id, **fast.get(system_id, {}))
    if isinstance(system, SimilaritySystem):
        return system.fit(X, y, history=history)
    return system.fit(X, y)


BASE_SYSTEMS = ("moving_average", "zone_matchup", "similarity", "xgboost", "catboost")


@pytest.fixture(scope="module")
def fitted(data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]) -> dict[str, PointsSystem]:
    X, y, history = data
    Xtr, ytr, _, _ = _split(X, y)
    return {sid: _fit(sid, Xtr, ytr, history) for sid in BASE_SYSTEMS}


# ------------------------------------------------------------------------- registry and fit
def test_registry_lists_every_system() -> None:
    assert set(SYSTEMS) == {*BASE_SYSTEMS, "minutes_ppm", "ensemble"}   # minutes_ppm: tests/unit/test_minutes_ppm.py
    assert isinstance(make_system("moving_average"), MovingAverageSystem)
    with pytest.raises(ModelError):
        make_system("mock")


@pytest.mark.parametrize("system_id", BASE_SYSTEMS)
def test_fit_returns_self_and_sets_learned_attributes(system_id: str, fitted: dict[str, PointsSystem],
                                                      data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]) -> None:
    system = fitted[system_id]
    assert system.system_id == system_id
    assert isinstance(system.spread_, SpreadModel)
    assert system.feature_names_
    assert system.model_version.startswith(f"{system_id}-")
    X, y, history = data
    Xtr, ytr, _, _ = _split(X, y)
    fresh = make_system(system_id, **({"n_estimators": 20} if system_id == "xgboost" else
                                      {"iterations": 20} if system_id == "catboost" else {}))
    kwargs = {"history": history} if system_id == "similarity" else {}
    assert fresh.fit(Xtr, ytr, **kwargs) is fresh


@pytest.mark.parametrize("system_id", BASE_SYSTEMS)
def test_predictions_finite_for_complete_rows_and_sane(system_id: str, fitted: dict[str, PointsSystem],
                                                       data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]) -> None:
    X, y, _ = data
    _, _, Xte, yte = _split(X, y)
    complete = Xte[list(FEATURES_V1)].notna().all(axis=1).to_numpy()
    pred = fitted[system_id].predict(Xte)
    assert pred.shape == (len(Xte),)
    assert np.isfinite(pred[complete]).all()
    assert (pred[complete] >= 0).all()
    mae = float(np.mean(np.abs(pred[complete] - yte.to_numpy()[complete])))
    naive = float(np.mean(np.abs(yte.to_numpy()[complete] - yte.mean())))
    assert mae < naive  # learned something real about player level


@pytest.mark.parametrize("system_id", BASE_SYSTEMS)
def test_distribution_p_over_bounds_and_monotone(system_id: str, fitted: dict[str, PointsSystem],
                                                 data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]) -> None:
    X, y, _ = data
    _, _, Xte, _ = _split(X, y)
    dist = fitted[system_id].predict_distribution(Xte)
    ok = np.isfinite(dist.mean)
    assert (dist.scale[ok] >= 1.0).all()
    lines = np.arange(0.5, 45.0, 0.5)
    probs = np.column_stack([dist.p_over(np.full(len(Xte), ln)) for ln in lines])[ok]
    assert ((probs >= 0) & (probs <= 1)).all()
    assert (np.diff(probs, axis=1) <= 1e-12).all()


def test_no_scoring_history_gives_nan(fitted: dict[str, PointsSystem],
                                      data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]) -> None:
    X, _, _ = data
    rows = X.iloc[:3].copy()
    rows[["points_avg_last_5", "points_avg_last_10", "points_avg_season"]] = np.nan
    for sid in ("moving_average", "zone_matchup", "xgboost", "catboost"):
        assert np.isnan(fitted[sid].predict(rows)).all(), sid
        assert np.isnan(fitted[sid].predict_distribution(rows).p_over(np.full(3, 10.5))).all()


@pytest.mark.parametrize("system_id", BASE_SYSTEMS)
def test_inf_inputs_are_treated_as_missing(system_id: str, fitted: dict[str, PointsSystem],
                                           data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]) -> None:
    """+inf / -inf in a feature give exactly the prediction of the same rows with that feature missing."""
    X, _, _ = data
    rows = X.iloc[100:105].copy()
    columns = ("pace_score", "vegas_points_line", "points_avg_last_5")
    assert set(columns) <= set(rows.columns)
    missing, infinite = rows.copy(), rows.copy()
    for c in columns:
        missing[c] = np.nan
    infinite["pace_score"] = np.inf
    infinite["vegas_points_line"] = -np.inf
    infinite["points_avg_last_5"] = np.inf
    system = fitted[system_id]
    want = system.predict(missing)
    got = system.predict(infinite)
    assert np.isfinite(want).all()                    # the rows are predictable without those features
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(system.predict_distribution(infinite).p_over(np.full(len(rows), 15.5)),
                                  system.predict_distribution(missing).p_over(np.full(len(rows), 15.5)))
    if system_id in ("xgboost", "catboost"):   # the trees use these features: NaN is not a no-op there
        assert not np.array_equal(system.predict(rows), want)


def test_moving_average_weights_convex_and_fallback(fitted: dict[str, PointsSystem],
                                                    data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]) -> None:
    ma = fitted["moving_average"]
    assert isinstance(ma, MovingAverageSystem)
    assert (ma.weights_ >= 0).all()
    assert ma.weights_.sum() == pytest.approx(1.0)
    X, _, _ = data
    row = X.iloc[[200]].copy()
    row["points_avg_last_5"] = np.nan
    row["points_avg_last_10"] = 10.0
    row["points_avg_season"] = 10.0
    assert ma.predict(row)[0] == pytest.approx(10.0)


def test_zone_matchup_uses_zone_level_defence(fitted: dict[str, PointsSystem],
                                              data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]) -> None:
    zm = fitted["zone_matchup"]
    assert isinstance(zm, ZoneMatchupSystem)
    X, _, _ = data
    row = X.iloc[[300]].copy()
    base = zm.predict(row)[0]
    row["opp_paint_fg_pct_vs_league"] = row["opp_paint_fg_pct_vs_league"] + 0.2
    moved = zm.predict(row)[0]
    assert moved != pytest.approx(base)


# ------------------------------------------------------------------------- similarity leakage
def test_similarity_ignores_same_day_and_future_history(fitted: dict[str, PointsSystem],
                                                        data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]) -> None:
    X, _, history = data
    sim = fitted["similarity"]
    assert isinstance(sim, SimilaritySystem)
    row = X.iloc[[X.index[(X["player_id"] == 1003)][40]]].copy()
    before = sim.predict(row)[0]
    assert np.isfinite(before)
    pid, date = row["player_id"].iloc[0], row["game_date"].iloc[0]
    poison = pd.DataFrame({
        "player_id": [pid] * 3, "game_date": [date, date + pd.Timedelta(days=1), date + pd.Timedelta(days=30)],
        "pts": [500.0] * 3, "minutes": [40.0] * 3, "opponent_abbr": [row["opponent_abbr"].iloc[0]] * 3,
        "is_home": [row["is_home"].iloc[0]] * 3, "days_rest": [row["days_rest"].iloc[0]] * 3,
        "opp_def_rating": [row["opponent_def_rating"].iloc[0]] * 3,
    })
    poisoned = pd.concat([history.loc[history["game_date"] != date], poison], ignore_index=True)
    sim_poisoned = sim.set_history(poisoned)
    try:
        assert sim_poisoned.predict(row)[0] == pytest.approx(before)
        # Sanity: the same absurd game *before* the date does move the prediction.
        early = poison.assign(game_date=date - pd.Timedelta(days=1))
        sim_poisoned.set_history(pd.concat([history, early], ignore_index=True))
        assert sim_poisoned.predict(row)[0] > before + 5
    finally:
        sim.set_history(history)


def test_similarity_needs_min_games(fitted: dict[str, PointsSystem],
                                    data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]) -> None:
    X, _, _ = data
    sim = fitted["similarity"]
    first_games = X.loc[X.groupby("player_id").cumcount() < 5]
    pred = sim.predict(first_games)
    assert np.isnan(pred).all()
    neigh, found = sim.neighbour_stats(first_games)  # type: ignore[attr-defined]
    assert (found < 5).all() and np.isnan(neigh).all()


# ------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("system_id", BASE_SYSTEMS)
def test_save_load_round_trip(system_id: str, fitted: dict[str, PointsSystem], tmp_path: Path,
                              data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]) -> None:
    X, y, history = data
    _, _, Xte, _ = _split(X, y)
    system = fitted[system_id]
    system.save(tmp_path / system_id)
    loaded = load_system(tmp_path / system_id)
    assert type(loaded) is type(system)
    if isinstance(loaded, SimilaritySystem):
        loaded.set_history(history)
    np.testing.assert_array_equal(loaded.predict(Xte), system.predict(Xte))
    assert loaded.model_version == system.model_version
    assert loaded.spread_ == system.spread_
    lines = np.full(len(Xte), 12.5)
    np.testing.assert_array_equal(loaded.predict_distribution(Xte).p_over(lines),
                                  system.predict_distribution(Xte).p_over(lines))
    with pytest.raises(ModelError):
        other = next(cls for sid, cls in SYSTEMS.items() if sid != system_id)
        other.load(tmp_path / system_id)


def test_native_formats(fitted: dict[str, PointsSystem], tmp_path: Path) -> None:
    fitted["xgboost"].save(tmp_path / "x")
    fitted["catboost"].save(tmp_path / "c")
    assert (tmp_path / "x" / "model.ubj").is_file() and (tmp_path / "x" / "params.json").is_file()
    assert (tmp_path / "c" / "model.cbm").is_file() and (tmp_path / "c" / "params.json").is_file()
    assert isinstance(XGBoostSystem.load(tmp_path / "x"), XGBoostSystem)
    assert isinstance(CatBoostSystem.load(tmp_path / "c"), CatBoostSystem)


@pytest.mark.parametrize(("system_id", "features", "library"),
                         [("xgboost", FEATURES_V1, "XGBoost"), ("catboost", FEATURES_V2, "CatBoost")])
def test_boosted_trees_share_inputs_and_refuse_a_corrupt_model_file(
        system_id: str, features: tuple[str, ...], library: str, fitted: dict[str, PointsSystem],
        tmp_path: Path, data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]) -> None:
    system = fitted[system_id]
    assert isinstance(system, BoostedTreeSystem)
    assert system.required_columns == (*features, "game_date")
    assert system.feature_names_ == list(features)
    assert system.training_info_["best_iteration"] == system.best_iteration_ >= 0
    # the trees see only their own features, in order: extra columns and column order do not matter
    X, y, _ = data
    _, _, Xte, _ = _split(X, y)
    shuffled = Xte[list(reversed(Xte.columns))].assign(unrelated=1e9)
    np.testing.assert_array_equal(system.predict(shuffled), system.predict(Xte))
    target = tmp_path / system_id
    system.save(target)
    (target / type(system).model_file).write_bytes(b"not a model")
    with pytest.raises(ModelError, match=f"cannot load {library} model"):
        load_system(target)


@pytest.mark.parametrize("cls", [CatBoostSystem, XGBoostSystem])
def test_boosted_trees_train_on_the_feature_version_they_are_given(
        cls: type[BoostedTreeSystem], tmp_path: Path, data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]) -> None:
    X, y, _ = data
    rng = np.random.default_rng(5)
    X3 = X.assign(**{n: rng.normal(0.0, 1.0, len(X)) for n in AVAILABILITY_FEATURES})
    system = cls(thread_count=1, feature_version="v3_availability")
    with pytest.raises(MissingColumnsError, match="games_missed_streak"):
        system.fit(X, y)     # v2 rows lack the v3 features: refused, never filled in
    system.fit(X3, y)
    assert system.feature_names_ == list(FEATURES_V3)
    system.save(tmp_path / "m")
    loaded = load_system(tmp_path / "m")
    assert isinstance(loaded, cls) and loaded.feature_version == "v3_availability"
    assert loaded.feature_names_ == list(FEATURES_V3)
    np.testing.assert_array_equal(loaded.predict(X3), system.predict(X3))
    with pytest.raises(MissingColumnsError):
        loaded.predict(X)
    with pytest.raises(InputError, match="unknown feature version"):
        cls(feature_version="v9_nothing")


def test_deterministic_given_seed(data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]) -> None:
    X, y, _ = data
    a = CatBoostSystem(iterations=30, random_state=3).fit(X, y)
    b = CatBoostSystem(iterations=30, random_state=3).fit(X, y)
    assert a.model_version == b.model_version
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


# ------------------------------------------------------------------------- ensemble
def test_ensemble_weights_favour_better_member() -> None:
    rng = np.random.default_rng(11)
    n = 600
    truth = rng.uniform(5, 30, n)
    y = truth + rng.normal(0, 2.0, n)
    meta = pd.DataFrame({"game_date": pd.date_range("2024-01-01", periods=n, freq="6h")})
    X = EnsembleSystem.build_inputs(meta, {"good": truth + rng.normal(0, 1.0, n),
                                           "bad": truth + rng.normal(0, 6.0, n)})
    ens = EnsembleSystem(members=("good", "bad")).fit(X, y)
    assert ens.member_weights["good"] > 3 * ens.member_weights["bad"]
    assert (ens.weights_ >= 0).all()
    pred = ens.predict(X)
    assert np.isfinite(pred).all()
    # A missing member falls back to the others; no member at all gives NaN.
    X2 = X.copy()
    X2.loc[0, member_column("bad")] = np.nan
    X2.loc[1, [member_column("good"), member_column("bad")]] = np.nan
    p2 = ens.predict(X2)
    assert np.isfinite(p2[0]) and np.isnan(p2[1])
    assert ens.predict_distribution(X).scale.min() >= 1.0


def test_ensemble_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 300
    y = rng.uniform(5, 30, n)
    meta = pd.DataFrame({"game_date": pd.date_range("2024-01-01", periods=n, freq="D")})
    X = EnsembleSystem.build_inputs(meta, {"a": y + rng.normal(0, 2, n), "b": y + rng.normal(0, 3, n)})
    ens = EnsembleSystem(members=("a", "b")).fit(X, y)
    ens.save(tmp_path / "e")
    loaded = EnsembleSystem.load(tmp_path / "e")
    assert loaded.members == ("a", "b")
    np.testing.assert_array_equal(loaded.predict(X), ens.predict(X))


# ------------------------------------------------------------------------- distribution math
def test_p_over_half_line_normal_matches_closed_form() -> None:
    dist = PointsDistribution(mean=np.array([20.0]), scale=np.array([6.0]), family="normal")
    # P(X >= 21) for X = round(N(20, 6)) = P(Z > 20.5).
    assert dist.p_over(np.array([20.5]))[0] == pytest.approx(stats.norm.sf(20.5, 20, 6))
    assert dist.p_over(np.array([19.5]))[0] == pytest.approx(stats.norm.sf(19.5, 20, 6))


def test_p_over_whole_line_is_push_conditional() -> None:
    dist = PointsDistribution(mean=np.array([18.0]), scale=np.array([np.sqrt(40.0)]), family="negbin")
    n_, p_ = 18.0**2 / (40.0 - 18.0), 18.0 / 40.0
    p_gt, p_eq = stats.nbinom.sf(20, n_, p_), stats.nbinom.pmf(20, n_, p_)
    assert dist.p_over(np.array([20.0]))[0] == pytest.approx(p_gt / (1.0 - p_eq))
    assert dist.p_over(np.array([20.5]))[0] == pytest.approx(p_gt)
    # Poisson case (variance <= mean).
    pois = PointsDistribution(mean=np.array([10.0]), scale=np.array([2.0]), family="negbin")
    expected = stats.poisson.sf(10, 10.0) / (1.0 - stats.poisson.pmf(10, 10.0))
    assert pois.p_over(np.array([10.0]))[0] == pytest.approx(expected)


def test_p_over_monotone_across_whole_and_half_lines() -> None:
    for family in ("normal", "negbin"):
        dist = PointsDistribution(mean=np.full(161, 15.0), scale=np.full(161, 6.0), family=family)
        probs = dist.p_over(np.arange(0.0, 40.25, 0.25))
        assert (np.diff(probs) <= 1e-12).all()
        assert ((probs >= 0) & (probs <= 1)).all()


def test_p_over_nan_for_missing_line_or_mean() -> None:
    dist = PointsDistribution(mean=np.array([np.nan, 10.0]), scale=np.array([np.nan, 4.0]))
    out = dist.p_over(np.array([10.5, np.nan]))
    assert np.isnan(out).all()


def test_spread_is_learned_and_grows_with_mean() -> None:
    rng = np.random.default_rng(2)
    mean = rng.uniform(3, 30, 4000)
    y = rng.normal(mean, 1.2 * np.sqrt(mean))
    spread = SpreadModel.fit(mean, np.round(np.clip(y, 0, None)), family="normal")
    assert spread.scale(np.array([25.0]))[0] > spread.scale(np.array([5.0]))[0]
    assert spread.scale(np.array([16.0]))[0] == pytest.approx(1.2 * 4.0, rel=0.15)
    with pytest.raises(ModelError):
        SpreadModel.fit(mean[:5], y[:5])


# ------------------------------------------------------------------------- model-only variants
def test_market_inputs_name_every_line_or_price_feature_a_system_reads(fitted: dict[str, PointsSystem]) -> None:
    line = {"vegas_points_line", "vegas_opening_line", "vegas_line_move", "has_vegas_line"}
    assert line | set(LINE_MOVEMENT_FEATURES) == MARKET_FEATURES
    assert set(FEATURES_V2) & MARKET_FEATURES == line and not MARKET_FEATURES & set(FEATURES_V1)
    assert set(FEATURES_V4) >= MARKET_FEATURES
    assert fitted["catboost"].market_inputs() == line
    for sid in ("moving_average", "zone_matchup", "similarity", "xgboost"):
        assert fitted[sid].market_inputs() == frozenset(), sid
        assert not set(fitted[sid].required_columns) & MARKET_FEATURES, sid


def test_model_only_catboost_never_looks_at_the_market(data: tuple[pd.DataFrame, pd.Series, pd.DataFrame],
                                                        fitted: dict[str, PointsSystem], tmp_path: Path) -> None:
    X, y, _ = data
    Xtr, ytr, Xte, _ = _split(X, y)
    variant = CatBoostSystem(iterations=200, learning_rate=0.1, depth=4,
                             exclude_features=tuple(sorted(MARKET_FEATURES))).fit(Xtr, ytr)
    assert variant.market_inputs() == frozenset()
    assert variant.feature_names_ == [f for f in FEATURES_V2 if f not in MARKET_FEATURES]
    assert variant.model_version != fitted["catboost"].model_version

    # every line- and price-derived input changed: the model-only forecast does not move...
    moved = Xte.copy()
    moved["vegas_points_line"] = moved["vegas_points_line"].fillna(20.0) + 7.5
    moved["vegas_opening_line"] = 3.5
    moved["vegas_line_move"] = -4.0
    moved["has_vegas_line"] = 1.0 - moved["has_vegas_line"]
    np.testing.assert_array_equal(variant.predict(moved), variant.predict(Xte))
    # ...while the system that reads them does (so the change is one the market-aware model sees)
    assert np.abs(fitted["catboost"].predict(moved) - fitted["catboost"].predict(Xte)).max() > 0.1

    loaded = CatBoostSystem.load(variant.save(tmp_path / "mo").parent)
    assert loaded.exclude_features == variant.exclude_features and loaded.model_version == variant.model_version
    np.testing.assert_array_equal(loaded.predict(moved), variant.predict(Xte))
