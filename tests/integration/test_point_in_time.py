"""Point in time, proven on the real warehouse.

- Leakage by box score: on a copy of the session warehouse, every box-score number of the target
  date D and of every later game is changed, the phases are rebuilt for D..D+6 with the same
  functions the backfill uses, and no feature of D moves (while features of D+1.. do: the change
  was seen).
- Leakage by quote: an in-game quote (after tip) from the most preferred book, made later than
  any other quote, is never chosen; the same quote moved before tip-off IS chosen (so the case is
  real), and a quote made after ``as_of`` is not.
- On the whole shared warehouse no chosen line is an in-game quote, although the data has
  in-game quotes that would otherwise win.
- For a random sample of feature rows, last-5/last-10/season averages, the last-10 standard
  deviation and minutes, and games in the last 7 days equal a direct recomputation from
  player_boxscores with strictly-before-date filters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from nbaprops.config import Settings, load_settings
from nbaprops.features.definitions import FEATURES_V2
from nbaprops.pipeline.builds import run_phases

pytestmark = pytest.mark.integration

TARGET = dt.date(2024, 3, 20)        # box-score leakage target (Odds API period, regular season)
HORIZON = TARGET + dt.timedelta(days=6)
QUOTE_DATE = dt.date(2024, 3, 12)    # in-game quote case: before TARGET, so the two cases are independent
IN_GAME_ID = "pit-test-in-game-quote"


@pytest.fixture(scope="module")
def copy_con(warehouse_copy: Path, db_connect: Callable[[Path], duckdb.DuckDBPyConnection]
             ) -> Iterator[duckdb.DuckDBPyConnection]:
    con = db_connect(warehouse_copy)
    yield con
    con.close()


@pytest.fixture(scope="module")
def settings(warehouse_copy: Path) -> Settings:
    return load_settings(db=warehouse_copy)


@pytest.fixture(scope="module")
def con(warehouse: Path, db_connect: Callable[[Path], duckdb.DuckDBPyConnection]) -> Iterator[duckdb.DuckDBPyConnection]:
    c = db_connect(warehouse)
    yield c
    c.close()


def _features_long(con: duckdb.DuckDBPyConnection, lo: dt.date, hi: dt.date) -> pd.DataFrame:
    """Every feature cell of every version in [lo, hi], one row per cell (value NaN when NULL)."""
    return con.execute("""
        SELECT game_date, player_id, feature_version, unnest(feature_names) AS name,
               unnest(features) AS value, unnest(feature_sources) AS source
        FROM feature_store WHERE game_date BETWEEN ? AND ?
        ORDER BY game_date, player_id, feature_version, name""", [lo, hi]).df()


def _feature_meta(con: duckdb.DuckDBPyConnection, day: dt.date) -> pd.DataFrame:
    return con.execute("""
        SELECT game_date, player_id, feature_version, game_id, team_abbr, opponent_abbr, is_home, is_expected,
               has_line, played, feature_count, quality_score, quality_tier, required_missing
        FROM feature_store WHERE game_date = ? ORDER BY player_id, feature_version""", [day]).df()


def _table_rows(con: duckdb.DuckDBPyConnection, table: str, date_col: str, day: dt.date) -> pd.DataFrame:
    return con.execute(f"SELECT * FROM {table} WHERE {date_col} = ? ORDER BY ALL", [day]).df()


def _assert_same(before: pd.DataFrame, after: pd.DataFrame, what: str) -> None:
    assert len(before) > 0, f"{what}: nothing to compare"
    pd.testing.assert_frame_equal(before.reset_index(drop=True), after.reset_index(drop=True),
                                  check_exact=False, rtol=1e-9, atol=1e-9, obj=what)


# ------------------------------------------------------------------------------ box-score leakage
def test_changing_box_scores_of_the_day_and_later_moves_no_feature_of_the_day(
        copy_con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    con = copy_con
    n_target = con.execute("SELECT count(*) FROM player_boxscores WHERE game_date = ?", [TARGET]).fetchone()
    assert n_target and n_target[0] > 100
    feats_before = _features_long(con, TARGET, HORIZON)
    meta_before = _feature_meta(con, TARGET)
    tables = {"feature_values": "game_date", "upcoming_player_game_context": "game_date",
              "player_daily_cache": "cache_date", "player_scoring_profile": "analysis_date",
              "team_defense": "analysis_date", "composite_factors": "game_date"}
    rows_before = {t: _table_rows(con, t, c, TARGET) for t, c in tables.items()}
    pts_before = con.execute("SELECT sum(points) FROM player_game_summary WHERE game_date = ?", [TARGET]).fetchone()

    # every number of the target day's games and of every later game changes
    con.execute("""UPDATE player_boxscores SET pts = pts + 11, minutes = minutes + 6, fgm = fgm + 3, fga = fga + 5,
                          fg3m = fg3m + 1, fg3a = fg3a + 2, ftm = ftm + 3, fta = fta + 4, oreb = oreb + 1,
                          tov = tov + 2, fga_paint = fga_paint + 3, fgm_paint = fgm_paint + 1,
                          fga_mid = fga_mid + 1, fgm_mid = fgm_mid + 1
                   WHERE game_date >= ?""", [TARGET])
    con.execute("""UPDATE team_boxscores SET pts = pts + 20, fga = fga + 10, fta = fta + 6, tov = tov + 3,
                          possessions = possessions + 7, won = NOT won
                   WHERE game_date >= ?""", [TARGET])
    con.execute("UPDATE games SET home_pts = home_pts + 20, away_pts = away_pts + 20 WHERE game_date >= ?", [TARGET])

    counts = run_phases(con, settings, TARGET, HORIZON)   # the backfill's own phase functions
    assert counts["feature_store"] > 0

    # the change reached the analytics of the day ...
    pts_after = con.execute("SELECT sum(points) FROM player_game_summary WHERE game_date = ?", [TARGET]).fetchone()
    assert pts_before and pts_after and pts_after[0] == pts_before[0] + 11 * n_target[0]
    # ... yet no feature, source, quality or context value of the day moved
    feats_after = _features_long(con, TARGET, HORIZON)
    _assert_same(feats_before[feats_before["game_date"] == pd.Timestamp(TARGET)],
                 feats_after[feats_after["game_date"] == pd.Timestamp(TARGET)], f"feature_store {TARGET}")
    _assert_same(meta_before, _feature_meta(con, TARGET), f"feature_store rows {TARGET}")
    for t, c in tables.items():
        _assert_same(rows_before[t], _table_rows(con, t, c, TARGET), f"{t} {TARGET}")

    # power: the later days' features did move (the changed games are in their history)
    merged = feats_before.merge(feats_after, on=["game_date", "player_id", "feature_version", "name"],
                                suffixes=("_before", "_after"))
    later = merged[(merged["game_date"] > pd.Timestamp(TARGET)) & (merged["feature_version"] == "v2_33features")]
    l5 = later[later["name"] == "points_avg_last_5"].dropna(subset=["value_before", "value_after"])
    played = con.execute("""SELECT DISTINCT c.game_date, c.player_id FROM upcoming_player_game_context c
                            JOIN player_boxscores b ON b.player_id = c.player_id
                             AND b.game_date >= ? AND b.game_date < c.game_date
                            WHERE c.game_date > ? AND c.game_date <= ?""", [TARGET, TARGET, HORIZON]).df()
    touched = l5.merge(played, on=["game_date", "player_id"])
    assert len(touched) > 500
    assert (touched["value_after"] > touched["value_before"] + 1e-9).all(), "a changed game did not move L5"
    untouched = l5.merge(played, on=["game_date", "player_id"], how="left", indicator=True)
    untouched = untouched[untouched["_merge"] == "left_only"]
    assert np.allclose(untouched["value_after"], untouched["value_before"], rtol=1e-9, atol=1e-9)
    print(f"\n{TARGET}: {len(meta_before)} feature rows unchanged after changing {n_target[0]} box scores of the day "
          f"and every later one; {len(touched)} later rows moved as they should")


# ------------------------------------------------------------------------------ quote leakage
def _chosen(con: duckdb.DuckDBPyConnection, day: dt.date, player_id: int) -> dict[str, object]:
    df = con.execute("""SELECT line_snapshot_id, current_points_line, sportsbook, line_quoted_at, consensus_line,
                               n_books, opening_points_line, has_line
                        FROM upcoming_player_game_context WHERE game_date = ? AND player_id = ?""",
                     [day, player_id]).df()
    assert len(df) == 1
    return dict(df.iloc[0])


def test_in_game_quote_is_never_the_chosen_line(copy_con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    con = copy_con
    best_book = settings.book_priority[0]
    pick = con.execute("""
        SELECT c.player_id, c.line_snapshot_id, c.current_points_line
        FROM upcoming_player_game_context c JOIN prop_line_snapshots s ON s.snapshot_id = c.line_snapshot_id
        WHERE c.game_date = ? AND c.line_source_feed = 'odds_api' AND c.played AND s.tipoff_at IS NOT NULL
        ORDER BY c.player_id LIMIT 1""", [QUOTE_DATE]).fetchone()
    assert pick, f"no Odds API line on {QUOTE_DATE}"
    player_id, original_id, original_line = pick
    before = _chosen(con, QUOTE_DATE, player_id)
    feats_before = _features_long(con, QUOTE_DATE, QUOTE_DATE)
    latest = con.execute("""SELECT max(quoted_at) FROM prop_line_snapshots
                            WHERE game_date = ? AND player_id = ? AND market = 'player_points'""",
                         [QUOTE_DATE, player_id]).fetchone()

    # a quote from the most preferred book, 10 minutes after tip-off, later than any other quote
    con.execute("""INSERT INTO prop_line_snapshots
        SELECT * REPLACE (? AS snapshot_id, ? AS sportsbook, line + 7 AS line,
                          tipoff_at + INTERVAL 10 MINUTE AS quoted_at, -10.0 AS minutes_before_tipoff,
                          -110 AS over_price, -110 AS under_price, NULL AS opening_line)
        FROM prop_line_snapshots WHERE snapshot_id = ?""", [IN_GAME_ID, best_book, original_id])
    row = con.execute("SELECT quoted_at, tipoff_at, minutes_before_tipoff FROM prop_line_snapshots WHERE snapshot_id = ?",
                      [IN_GAME_ID]).fetchone()
    assert row and latest and row[0] > row[1] and row[0] > latest[0] and row[2] < 0

    run_phases(con, settings, QUOTE_DATE, QUOTE_DATE)
    after = _chosen(con, QUOTE_DATE, player_id)
    assert after["line_snapshot_id"] == original_id and after["current_points_line"] == original_line
    assert after == before  # consensus, opening and book unchanged too
    _assert_same(feats_before, _features_long(con, QUOTE_DATE, QUOTE_DATE), f"feature_store {QUOTE_DATE}")

    # control: the same quote 10 minutes BEFORE tip-off wins (preferred book, latest), so the case is real
    con.execute("""UPDATE prop_line_snapshots SET quoted_at = tipoff_at - INTERVAL 10 MINUTE, minutes_before_tipoff = 10.0
                   WHERE snapshot_id = ?""", [IN_GAME_ID])
    run_phases(con, settings, QUOTE_DATE, QUOTE_DATE)
    control = _chosen(con, QUOTE_DATE, player_id)
    assert control["line_snapshot_id"] == IN_GAME_ID
    assert control["current_points_line"] == original_line + 7

    # and a prediction made 15 minutes before tip-off (as_of) cannot see that quote yet
    tipoff = con.execute("SELECT tipoff_at FROM prop_line_snapshots WHERE snapshot_id = ?", [IN_GAME_ID]).fetchone()
    assert tipoff
    as_of = tipoff[0] - dt.timedelta(minutes=15)
    run_phases(con, settings, QUOTE_DATE, QUOTE_DATE, as_of=as_of)
    early = _chosen(con, QUOTE_DATE, player_id)
    assert early["line_snapshot_id"] != IN_GAME_ID
    assert early["line_quoted_at"] is None or early["line_quoted_at"] <= as_of

    con.execute("DELETE FROM prop_line_snapshots WHERE snapshot_id = ?", [IN_GAME_ID])


def test_no_chosen_line_is_in_game_on_shared_data(con: duckdb.DuckDBPyConnection) -> None:
    chosen_in_game = con.execute("""
        SELECT count(*) FROM upcoming_player_game_context c JOIN prop_line_snapshots s ON s.snapshot_id = c.line_snapshot_id
        WHERE s.minutes_before_tipoff < 0 OR s.quoted_at > s.tipoff_at""").fetchone()
    assert chosen_in_game == (0,)
    # the data does have in-game quotes that the ranking alone would pick: the filter is what stops them
    books = load_settings().book_priority
    would_win = con.execute("""
        WITH q AS (
            SELECT s.*, coalesce(list_position(?, s.sportsbook), 999) AS book_rank FROM prop_line_snapshots s
            WHERE s.market = 'player_points' AND s.player_id IS NOT NULL AND s.line > 0),
        r AS (SELECT *, row_number() OVER (PARTITION BY game_date, player_id
                ORDER BY book_rank, CASE WHEN source = 'odds_api' THEN 0 ELSE 1 END,
                         quoted_at DESC NULLS LAST, snapshot_id) AS rn FROM q)
        SELECT count(*) FROM r WHERE rn = 1 AND minutes_before_tipoff < 0""", [books]).fetchone()
    assert would_win and would_win[0] > 0
    n_in_game = con.execute("SELECT count(*) FROM prop_line_snapshots WHERE minutes_before_tipoff < 0").fetchone()
    print(f"\n{n_in_game[0] if n_in_game else 0} in-game snapshots; without the pre-tip filter {would_win[0]} "
          f"player-games would have used one; chosen: 0")


# ------------------------------------------------------------------------------ recomputation
def _mean(xs: list[float]) -> float | None:
    return float(np.mean(xs)) if xs else None


def test_rolling_features_equal_direct_recomputation(con: duckdb.DuckDBPyConnection) -> None:
    idx = {n: FEATURES_V2.index(n) + 1 for n in FEATURES_V2}
    sample = con.execute(f"""
        SELECT f.game_date, f.player_id, c.season_year,
               f.features[{idx['points_avg_last_5']}] AS l5, f.features[{idx['points_avg_last_10']}] AS l10,
               f.features[{idx['points_avg_season']}] AS season, f.features[{idx['points_std_last_10']}] AS std10,
               f.features[{idx['games_in_last_7_days']}] AS g7, f.features[{idx['minutes_avg_last_10']}] AS min10
        FROM feature_store f
        JOIN upcoming_player_game_context c ON c.game_date = f.game_date AND c.player_id = f.player_id
        WHERE f.feature_version = 'v2_33features'
        ORDER BY hash(f.player_id, f.game_date, 'point-in-time sample') LIMIT 400""").df()
    players = sorted({int(p) for p in sample["player_id"]})
    box = con.execute("""SELECT b.player_id, b.game_date, b.pts, b.minutes, g.season_year
                         FROM player_boxscores b JOIN games g ON g.game_id = b.game_id
                         WHERE list_contains(?, b.player_id) ORDER BY b.player_id, b.game_date""", [players]).df()
    by_player = dict(list(box.groupby("player_id")))

    def close(got: object, want: float | None, what: str, r: pd.Series) -> None:
        got_f = None if got is None or pd.isna(got) else float(got)  # type: ignore[arg-type]
        if want is None:
            assert got_f is None, (what, r["game_date"], r["player_id"], got_f)
        else:
            assert got_f is not None and abs(got_f - want) < 1e-9, (what, r["game_date"], r["player_id"], got_f, want)

    n_with_history = 0
    for _, r in sample.iterrows():
        day = pd.Timestamp(r["game_date"])
        hist = by_player.get(r["player_id"], box.iloc[:0])
        prior = hist[hist["game_date"] < day].sort_values("game_date")       # strictly before the date
        pts = prior["pts"].astype(float).tolist()
        mins = prior["minutes"].astype(float).tolist()
        n_with_history += bool(pts)
        close(r["l5"], _mean(pts[-5:]), "points_avg_last_5", r)
        close(r["l10"], _mean(pts[-10:]), "points_avg_last_10", r)
        close(r["std10"], float(np.std(pts[-10:], ddof=1)) if len(pts[-10:]) >= 2 else None, "points_std_last_10", r)
        close(r["min10"], _mean(mins[-10:]), "minutes_avg_last_10", r)
        season = prior[prior["season_year"] == r["season_year"]]["pts"].astype(float).tolist()
        close(r["season"], _mean(season), "points_avg_season", r)
        week = prior[prior["game_date"] >= day - pd.Timedelta(days=7)]
        close(r["g7"], float(len(week)), "games_in_last_7_days", r)
    assert n_with_history > 300
