"""The availability features (``player_availability``, v3_availability) on the real warehouse.

- Point in time: on a copy of the session warehouse, every box score of D and later is first
  altered (minutes, points, FGA, starter flags, and a third of the players removed) and then deleted
  outright (the schedule stays); after each, the builds are rerun for D..D+6 and no availability
  value of D moves, in ``player_availability`` and in the v3 rows of ``feature_store`` (while the
  features of later days do move: the change was seen).
- Every context row has its availability row, and the v3 store rows start with the v2 row.
- The streak equals a direct count from the box scores for a sample of rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from nbaprops.config import Settings, load_settings
from nbaprops.features.definitions import AVAILABILITY_FEATURES, FEATURES_V2
from nbaprops.pipeline.builds import run_phases

pytestmark = pytest.mark.integration

TARGET = dt.date(2024, 1, 17)
HORIZON = TARGET + dt.timedelta(days=6)
KEYS = ["game_date", "player_id"]


@pytest.fixture(scope="module")
def copy_con(warehouse_copy: Path, db_connect: Callable[[Path], duckdb.DuckDBPyConnection]
             ) -> Iterator[duckdb.DuckDBPyConnection]:
    con = db_connect(warehouse_copy)
    yield con
    con.close()


@pytest.fixture(scope="module")
def settings(warehouse_copy: Path) -> Settings:
    return load_settings(db=warehouse_copy)


def _availability(con: duckdb.DuckDBPyConnection, lo: dt.date, hi: dt.date) -> pd.DataFrame:
    cols = ", ".join(f"{n}, {n}__src" for n in AVAILABILITY_FEATURES)
    return con.execute(f"""SELECT game_date, player_id, {cols} FROM player_availability
                           WHERE game_date BETWEEN ? AND ? ORDER BY game_date, player_id""", [lo, hi]).df()


def _v3_store(con: duckdb.DuckDBPyConnection, day: dt.date) -> pd.DataFrame:
    n = len(FEATURES_V2)
    return con.execute(f"""SELECT game_date, player_id,
                                  CAST(list_transform(features[{n + 1}:], lambda x: round(x, 9)) AS VARCHAR) AS feats,
                                  CAST(feature_sources[{n + 1}:] AS VARCHAR) AS srcs
                           FROM feature_store WHERE feature_version = 'v3_availability' AND game_date = ?
                           ORDER BY player_id""", [day]).df()


def _same_on_common_rows(before: pd.DataFrame, after: pd.DataFrame, what: str) -> int:
    """Rows of D present in both (a row of a player who played only on D goes with his box score)
    must be identical; returns how many were compared."""
    common = before.merge(after[KEYS], on=KEYS)
    got = after.merge(before[KEYS], on=KEYS)
    assert len(common) > 150, f"{what}: only {len(common)} rows to compare"
    pd.testing.assert_frame_equal(common.reset_index(drop=True), got.reset_index(drop=True),
                                  check_exact=False, rtol=1e-9, atol=1e-9, obj=what)
    return len(common)


def test_every_context_row_has_availability_and_v3_extends_v2(copy_con: duckdb.DuckDBPyConnection) -> None:
    row = copy_con.execute("""SELECT count(*), count(a.player_id) FROM upcoming_player_game_context c
                              LEFT JOIN player_availability a ON a.game_date = c.game_date AND a.player_id = c.player_id
                              WHERE c.game_date BETWEEN '2023-10-24' AND '2024-04-14'""").fetchone()
    assert row and row[0] > 20000 and row[0] == row[1]
    n = len(FEATURES_V2)
    bad = copy_con.execute(f"""SELECT count(*) FROM feature_store v2 JOIN feature_store v3
                               ON v3.game_date = v2.game_date AND v3.player_id = v2.player_id
                              AND v2.feature_version = 'v2_33features' AND v3.feature_version = 'v3_availability'
                               WHERE v3.features[:{n}] IS DISTINCT FROM v2.features
                                  OR v3.feature_names[:{n}] IS DISTINCT FROM v2.feature_names""").fetchone()
    assert bad == (0,)
    # a real season has absences, returns and vacated minutes
    s = copy_con.execute("""SELECT avg((games_missed_streak >= 1)::INT), avg((games_since_return IS NOT NULL)::INT),
                                   avg(vacated_minutes_share), max(starters_missing)
                            FROM player_availability WHERE game_date BETWEEN '2023-11-15' AND '2024-04-14'""").fetchone()
    assert s and 0.02 < s[0] < 0.5 and 0.05 < s[1] < 0.9 and 0.0 < s[2] < 0.5 and s[3] >= 3


def test_streak_equals_a_direct_count(copy_con: duckdb.DuckDBPyConnection) -> None:
    df = copy_con.execute("""
        WITH a AS (SELECT game_date, player_id, games_missed_streak FROM player_availability
                   WHERE game_date BETWEEN '2024-01-01' AND '2024-03-31' AND games_missed_streak IS NOT NULL
                   ORDER BY hash(player_id, game_date) LIMIT 400),
        last AS (SELECT a.game_date, a.player_id, arg_max(b.team_abbr, b.game_date) AS team, max(b.game_date) AS last_date
                 FROM a JOIN player_boxscores b ON b.player_id = a.player_id AND b.game_date < a.game_date
                  AND b.season = '2023-24' GROUP BY a.game_date, a.player_id)
        SELECT a.games_missed_streak,
               (SELECT count(DISTINCT t.game_id) FROM player_boxscores t WHERE t.team_abbr = l.team
                  AND t.game_date > l.last_date AND t.game_date < a.game_date) AS direct
        FROM a JOIN last l USING (game_date, player_id)""").df()
    assert len(df) == 400
    assert (df["games_missed_streak"] == df["direct"]).all()
    assert (df["direct"] > 0).sum() > 10


def test_features_of_the_day_ignore_altered_or_deleted_later_games(
        copy_con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    con = copy_con
    avail_before = _availability(con, TARGET, HORIZON)
    store_before = _v3_store(con, TARGET)
    day = avail_before[avail_before["game_date"] == pd.Timestamp(TARGET)]
    assert len(day) > 200

    # 1. every box score of D and later altered, a third of their players removed
    con.execute("""DELETE FROM player_boxscores WHERE game_date >= ? AND player_id % 3 = 0""", [TARGET])
    con.execute("""UPDATE player_boxscores SET minutes = minutes + 7, pts = pts + 9, fga = fga + 4,
                          starter = NOT starter WHERE game_date >= ?""", [TARGET])
    run_phases(con, settings, TARGET, HORIZON)
    altered = _availability(con, TARGET, HORIZON)
    n1 = _same_on_common_rows(day, altered[altered["game_date"] == pd.Timestamp(TARGET)], f"altered {TARGET}")
    _same_on_common_rows(store_before, _v3_store(con, TARGET), f"feature_store v3 altered {TARGET}")
    # power: later days saw the change
    merged = avail_before.merge(altered, on=KEYS, suffixes=("_b", "_a"))
    later = merged[merged["game_date"] > pd.Timestamp(TARGET)]
    moved = (later["games_missed_streak_b"] != later["games_missed_streak_a"]) | \
            ((later["vacated_minutes_share_b"] - later["vacated_minutes_share_a"]).abs() > 1e-9)
    assert moved.sum() > 100

    # 2. every box score of D and later deleted (the schedule stays)
    for t in ("player_boxscores", "team_boxscores"):
        con.execute(f"DELETE FROM {t} WHERE game_date >= ?", [TARGET])
    run_phases(con, settings, TARGET, TARGET)
    deleted = _availability(con, TARGET, TARGET)
    n2 = _same_on_common_rows(day, deleted, f"deleted {TARGET}")
    _same_on_common_rows(store_before, _v3_store(con, TARGET), f"feature_store v3 deleted {TARGET}")
    print(f"\n{TARGET}: {n1} availability rows unchanged after altering, {n2} after deleting every later game")
