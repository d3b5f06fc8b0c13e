"""The one wide-frame reader of the feature store: every array position lands in its named column,
for every version, in load_rows, load_features and the prediction slate alike."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from nbaprops.features.definitions import (
    CONTEXT_COLUMNS,
    FEATURE_VERSIONS,
    FEATURES_V1,
    FEATURES_V2,
    FEATURES_V3,
    FEATURES_V4,
)
from nbaprops.features.reader import load_rows, wide_features_sql
from nbaprops.features.store import build_feature_store, load_features
from nbaprops.predict.slate import load_slate
from nbaprops.warehouse import connect

D1, D2 = dt.date(2024, 3, 1), dt.date(2024, 3, 2)
PLAYERS = (11, 12, 13)
NO_CONTEXT = 13          # a feature row without a line-context row
UNPLAYED = (D2, 12)      # a game without a box score yet


#: 0/1 flags stored as DECIMAL(2,1) in feature_values
DECIMAL_FEATURES = frozenset({"home_away", "back_to_back", "playoff_game", "has_vegas_line"})


def _value(day: dt.date, player: int, i: int) -> float | None:
    """A distinct value per (date, player, feature position); every 7th position is missing."""
    if (i + player) % 7 == 0:
        return None
    if FEATURES_V4[i] in DECIMAL_FEATURES:
        return ((day.day + player + i) % 19) / 2
    return day.day * 10_000 + player * 100 + i + 0.25


def _insert(con: duckdb.DuckDBPyConnection, table: str, row: dict[str, Any]) -> None:
    cols = list(row)
    con.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [row[c] for c in cols])


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = connect(":memory:")
    for day in (D1, D2):
        for player in PLAYERS:
            game_id = f"g{day.day}"
            row: dict[str, Any] = {"game_date": day, "game_id": game_id, "player_id": player, "team_abbr": "AAA",
                                   "opponent_abbr": "BBB", "is_home": player % 2 == 0, "is_expected": player != 11,
                                   "has_line": True, "played": (day, player) != UNPLAYED}
            for i, name in enumerate(FEATURES_V2):
                value = _value(day, player, i)
                row[name] = value
                row[f"{name}__src"] = "missing" if value is None else ("vegas" if i >= 25 else "phase3")
            for j, name in enumerate(CONTEXT_COLUMNS):
                row[name] = float(player + j)
            _insert(c, "feature_values", row)
            # the v3 additions come from player_availability
            avail: dict[str, Any] = {"game_date": day, "game_id": game_id, "player_id": player}
            for i, name in enumerate(FEATURES_V3[len(FEATURES_V2):], start=len(FEATURES_V2)):
                value = _value(day, player, i)
                avail[name] = value
                avail[f"{name}__src"] = "missing" if value is None else "phase4"
            _insert(c, "player_availability", avail)
            # the v4 additions come from line_movement
            move: dict[str, Any] = {"game_date": day, "game_id": game_id, "player_id": player}
            for i, name in enumerate(FEATURES_V4[len(FEATURES_V3):], start=len(FEATURES_V3)):
                value = _value(day, player, i)
                move[name] = value
                move[f"{name}__src"] = "missing" if value is None else "vegas"
            _insert(c, "line_movement", move)
            if player != NO_CONTEXT:
                _insert(c, "upcoming_player_game_context", {
                    "game_id": game_id, "game_date": day, "player_id": player, "current_points_line": 20.5 + player,
                    "sportsbook": "book", "over_price": -110, "under_price": -105, "line_quote_basis": "pre_tip"})
            if (day, player) != UNPLAYED:
                _insert(c, "player_game_summary", {"game_id": game_id, "game_date": day, "player_id": player,
                                                   "points": player + day.day, "minutes": 30.0})
    assert build_feature_store(c, D1, D2) == 2 * len(PLAYERS) * len(FEATURE_VERSIONS)
    yield c
    c.close()


def _expected(day: dt.date, player: int, names: tuple[str, ...]) -> list[float]:
    return [np.nan if (v := _value(day, player, FEATURES_V4.index(n))) is None else v for n in names]


@pytest.mark.parametrize("version", sorted(FEATURE_VERSIONS))
def test_load_rows_puts_each_array_position_in_its_named_column(con: duckdb.DuckDBPyConnection,
                                                                version: str) -> None:
    names = FEATURE_VERSIONS[version]
    rows = load_rows(con, D1, D2, version=version)
    # the player without a line-context row is left out by the line join
    assert sorted(set(rows["player_id"])) == [11, 12]
    assert len(rows) == 4
    assert [c for c in rows.columns if c in FEATURES_V4] == list(names)
    for r in rows.itertuples(index=False):
        got = [getattr(r, n) for n in names]
        np.testing.assert_array_equal(got, _expected(r.game_date.date(), r.player_id, names))
        assert r.line == 20.5 + r.player_id
        assert [getattr(r, c) for c in CONTEXT_COLUMNS] == [float(r.player_id + j) for j in range(len(CONTEXT_COLUMNS))]
    assert all(rows[n].dtype == np.float64 for n in names)
    unplayed = rows[(rows["game_date"] == pd.Timestamp(UNPLAYED[0])) & (rows["player_id"] == UNPLAYED[1])]
    assert unplayed["actual_points"].isna().all()
    played = rows.drop(unplayed.index)
    assert (played["actual_points"] == played["player_id"] + played["game_date"].dt.day).all()


def test_load_rows_filters(con: duckdb.DuckDBPyConnection) -> None:
    assert len(load_rows(con, D1, D2, played_only=True)) == 3
    assert set(load_rows(con, D1, D2, expected_only=True)["player_id"]) == {12}
    assert set(load_rows(con, D2, D2)["game_date"]) == {pd.Timestamp(D2)}


def test_load_features_with_sources(con: duckdb.DuckDBPyConnection) -> None:
    df = load_features(con, D1, D2, "v1_baseline_25", sources=True)
    assert len(df) == 2 * len(PLAYERS)    # no line join: every feature row
    assert list(df.columns[-2 * len(FEATURES_V1):]) == [*FEATURES_V1, *(f"{n}__src" for n in FEATURES_V1)]
    assert list(df.columns[-2 * len(FEATURES_V1) - len(CONTEXT_COLUMNS):-2 * len(FEATURES_V1)]) == list(CONTEXT_COLUMNS)
    for r in df.itertuples(index=False):
        for i, name in enumerate(FEATURES_V1):
            value = getattr(r, name)
            assert getattr(r, f"{name}__src") == ("missing" if np.isnan(value) else "phase3")
            assert value == _value(r.game_date, r.player_id, i) or np.isnan(value)
    assert not any(c.endswith("__src") for c in load_features(con, D1, D2).columns)


def test_slate_reads_the_same_wide_rows(con: duckdb.DuckDBPyConnection) -> None:
    slate, history = load_slate(con, D2)
    rows = load_rows(con, D2, D2, expected_only=True)
    assert list(slate["player_id"]) == list(rows["player_id"]) == [12]
    shared = [c for c in slate.columns if c in rows.columns]
    assert set(FEATURES_V2) | set(CONTEXT_COLUMNS) | {"line", "feature_quality_score"} <= set(shared)
    pd.testing.assert_frame_equal(slate[shared], rows[shared].astype(slate[shared].dtypes.to_dict()))
    assert list(history["game_date"]) == [pd.Timestamp(D1)]    # strictly before the slate date


def test_wide_sql_refuses_an_unknown_version() -> None:
    with pytest.raises(KeyError, match="unknown feature version"):
        wide_features_sql("v9_nope")
