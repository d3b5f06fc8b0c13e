"""The availability build (``player_availability``, issue 10) on a small hand-made season.

Two teams, AAA (home) and BBB, meet on nine consecutive days (game k on 2023-11-0k):

- AAA: p1 (starter, 30 min, 20 pts, 15 FGA) plays games 1-3, misses 4-7, returns for 8 (22 min)
  and 9; p2 (starter, 25 min, 10 pts, 10 FGA) and p3 (bench, 20 min, 5 pts, 5 FGA) play every game.
- BBB: q1 (starter, 30 min, 15 pts, 12 FGA) and q2 (bench, 20 min, 8 pts, 8 FGA) play every game;
  t (starter, 25 min, 12 pts, 10 FGA) plays games 1-3 for BBB, misses game 4 and is traded: he plays
  for AAA from game 5 (bench, 20 min, 8 pts, 6 FGA).

Every expected number below is worked out by hand from those box scores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from nbaprops.warehouse import connect
from nbaprops.warehouse.connection import replace_partition

DAY = {k: dt.date(2023, 11, k) for k in range(1, 10)}
P1, P2, P3, Q1, Q2, T = 1, 2, 3, 11, 12, 99
# player -> (starter, minutes, pts, fga) per team stint
LINES = {P1: (True, 30.0, 20, 15), P2: (True, 25.0, 10, 10), P3: (False, 20.0, 5, 5),
         Q1: (True, 30.0, 15, 12), Q2: (False, 20.0, 8, 8)}


def _box_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []

    def add(k: int, pid: int, team: str, starter: bool, minutes: float, pts: int, fga: int) -> None:
        opp = "BBB" if team == "AAA" else "AAA"
        rows.append({"game_id": f"g{k}", "player_id": pid, "game_date": DAY[k], "season": "2023-24",
                     "season_type": "Regular Season", "team_abbr": team, "opp_abbr": opp, "is_home": team == "AAA",
                     "starter": starter, "minutes": minutes, "pts": pts, "fga": fga, "source": "test"})

    for k in DAY:
        if k == 8:
            add(k, P1, "AAA", True, 22.0, 12, 9)
        elif k <= 3 or k == 9:
            add(k, P1, "AAA", *LINES[P1])
        for pid in (P2, P3):
            add(k, pid, "AAA", *LINES[pid])
        for pid in (Q1, Q2):
            add(k, pid, "BBB", *LINES[pid])
        if k <= 3:
            add(k, T, "BBB", True, 25.0, 12, 10)
        elif k >= 5:
            add(k, T, "AAA", False, 20.0, 8, 6)
    return rows


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, object]]) -> None:
    df = pd.DataFrame(rows)  # noqa: F841 - read by DuckDB's replacement scan
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM df")


def _context_rows(box: list[dict[str, object]]) -> list[dict[str, object]]:
    """One context row per player and day: his team that day (box score), else his latest team."""
    out = []
    for k in DAY:
        for pid in (P1, P2, P3, Q1, Q2, T):
            played = [r for r in box if r["player_id"] == pid and r["game_date"] == DAY[k]]
            before = [r for r in box if r["player_id"] == pid and r["game_date"] < DAY[k]]
            team = str(played[0]["team_abbr"]) if played else str(before[-1]["team_abbr"])
            out.append({"game_date": DAY[k], "game_id": f"g{k}", "player_id": pid, "team_abbr": team,
                        "opponent_abbr": "BBB" if team == "AAA" else "AAA", "is_home": team == "AAA",
                        "played": bool(played), "season": "2023-24", "season_year": 2023})
    return out


def _build(box: list[dict[str, object]]) -> duckdb.DuckDBPyConnection:
    con = connect(":memory:")
    _insert(con, "games", [{"game_id": f"g{k}", "game_date": d, "season": "2023-24", "season_year": 2023,
                            "season_type": "Regular Season", "home_abbr": "AAA", "away_abbr": "BBB",
                            "status": "final", "source": "test"} for k, d in DAY.items()])
    _insert(con, "player_boxscores", box)
    _insert(con, "upcoming_player_game_context", _context_rows(box))
    replace_partition(con, "player_availability", DAY[1], DAY[9], {"rotation_min_minutes": 15.0})
    return con


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = _build(_box_rows())
    yield c
    c.close()


def _row(con: duckdb.DuckDBPyConnection, k: int, pid: int) -> dict[str, object]:
    df = con.execute("SELECT * FROM player_availability WHERE game_date = ? AND player_id = ?", [DAY[k], pid]).df()
    assert len(df) == 1
    return dict(df.iloc[0])


def test_absence_streak_counts_the_team_games_missed(con: duckdb.DuckDBPyConnection) -> None:
    assert _row(con, 4, P1)["games_missed_streak"] == 0     # last played game 3, the team's previous game
    assert _row(con, 5, P1)["games_missed_streak"] == 1
    assert _row(con, 6, P1)["games_missed_streak"] == 2
    assert _row(con, 8, P1)["games_missed_streak"] == 4
    assert _row(con, 9, P1)["games_missed_streak"] == 0
    assert _row(con, 6, P2)["games_missed_streak"] == 0
    # the first day of the season: no game before it, nothing to count from
    first = _row(con, 1, P2)
    assert pd.isna(first["games_missed_streak"]) and first["games_missed_streak__src"] == "missing"


def test_games_since_return_and_minutes_in_them(con: duckdb.DuckDBPyConnection) -> None:
    out_now = _row(con, 8, P1)            # still in a 4-game absence: he would be returning today
    assert out_now["games_since_return"] == 0 and pd.isna(out_now["minutes_since_return"])
    back = _row(con, 9, P1)               # returned at game 8 after missing 4 games, 22 minutes
    assert back["games_since_return"] == 1 and back["minutes_since_return"] == pytest.approx(22.0)
    assert back["games_since_return__src"] == "phase4"
    never = _row(con, 9, P2)              # never absent this season
    assert pd.isna(never["games_since_return"]) and never["games_since_return__src"] == "missing"
    # minutes trend: last 3 (30, 30, 22) vs last 10 (30, 30, 30, 22) at game 9
    assert back["minutes_trend_3_10"] == pytest.approx((30 + 30 + 22) / 3 - (30 * 3 + 22) / 4)


def test_vacated_shares_of_teammates_who_missed_the_previous_game(con: duckdb.DuckDBPyConnection) -> None:
    # day 6, AAA: p1 missed games 4-5; over his games 1-3 he had 90 of AAA's 225 minutes,
    # 60 of its 105 points and 45 of its 90 FGA; he started all three
    p2 = _row(con, 6, P2)
    assert p2["teammates_out"] == 1 and p2["starters_missing"] == 1
    assert p2["vacated_minutes_share"] == pytest.approx(90 / 225)
    assert p2["vacated_points_share"] == pytest.approx(60 / 105)
    assert p2["vacated_fga_share"] == pytest.approx(45 / 90)
    # his own share is not vacated for himself
    p1 = _row(con, 6, P1)
    assert p1["teammates_out"] == 0 and p1["starters_missing"] == 0
    assert p1["vacated_minutes_share"] == pytest.approx(0.0)
    # his own recent shares
    assert p1["minutes_share_last_10"] == pytest.approx(90 / 225)
    assert p1["fga_share_last_10"] == pytest.approx(45 / 90)
    # the opponent sees it: BBB's players face an AAA without p1
    q1 = _row(con, 6, Q1)
    assert q1["opp_players_out"] == 1 and q1["opp_starters_missing"] == 1
    assert q1["opp_vacated_minutes_share"] == pytest.approx(90 / 225)
    assert q1["opp_vacated_points_share"] == pytest.approx(60 / 105)
    # day 9: p1 played game 8, nobody of AAA is out
    assert _row(con, 9, P2)["vacated_minutes_share"] == pytest.approx(0.0)
    assert _row(con, 9, P2)["teammates_out"] == 0


def test_projected_minutes_spread_newly_vacated_minutes(con: duckdb.DuckDBPyConnection) -> None:
    # day 5: p1 (0.4 of AAA's minutes) missed only the previous game: p2's last-5 minutes (25)
    # are spread over the 60% left: 25 / 0.6
    assert _row(con, 5, P2)["projected_minutes"] == pytest.approx(25 / 0.6)
    # day 9: nobody newly out: his last-5 minutes
    assert _row(con, 9, P2)["projected_minutes"] == pytest.approx(25.0)


def test_a_traded_player_belongs_to_his_new_team_from_his_first_game_for_it(con: duckdb.DuckDBPyConnection) -> None:
    # day 5: t's latest game (3) was for BBB, which played game 4 without him: BBB's absentee
    # (25 of BBB's 225 minutes over games 1-3), not AAA's
    q1 = _row(con, 5, Q1)
    assert q1["teammates_out"] == 1 and q1["starters_missing"] == 1
    assert q1["vacated_minutes_share"] == pytest.approx(75 / 225)
    assert _row(con, 5, P2)["opp_vacated_minutes_share"] == pytest.approx(75 / 225)
    assert _row(con, 5, T)["games_missed_streak"] == 1
    # day 6: he played game 5 for AAA: on AAA's roster, absent from nobody's count, no return
    q1 = _row(con, 6, Q1)
    assert q1["teammates_out"] == 0 and q1["vacated_minutes_share"] == pytest.approx(0.0)
    t = _row(con, 6, T)
    assert t["games_missed_streak"] == 0 and pd.isna(t["games_since_return"])
    # and his AAA minutes share counts only his AAA game (20 of AAA's 65 minutes in game 5)
    assert t["minutes_share_last_10"] == pytest.approx(20 / 65)
    # p2 on day 6 still sees p1 out, never t
    assert _row(con, 6, P2)["teammates_out"] == 1


def test_features_of_a_day_ignore_that_day_and_every_later_game() -> None:
    box = _box_rows()
    cut = DAY[6]
    full = _build(box)
    # later games deleted (the schedule stays)
    kept = _build([r for r in box if r["game_date"] < cut])
    # later games altered: other minutes, points, FGA and starters, players dropped
    altered = [{**r, "minutes": float(r["minutes"]) + 9, "pts": int(r["pts"]) * 2, "fga": int(r["fga"]) + 4,
                "starter": not r["starter"]} if r["game_date"] >= cut else r
               for r in box if not (r["game_date"] >= cut and r["player_id"] == P2)]
    changed = _build(altered)
    q = "SELECT * FROM player_availability WHERE game_date = ? ORDER BY player_id"
    base = full.execute(q, [cut]).df()
    assert len(base) == 6
    for other in (kept, changed):
        got = other.execute(q, [cut]).df()
        # a deleted game removes the row's played flag upstream, not the features: same players, same values
        pd.testing.assert_frame_equal(base, got, check_exact=False, rtol=1e-12, atol=1e-12)
    # power: the next day did see the change
    later = "SELECT vacated_minutes_share, games_missed_streak FROM player_availability WHERE game_date = ? ORDER BY player_id"
    assert not full.execute(later, [DAY[7]]).df().equals(changed.execute(later, [DAY[7]]).df())


def test_training_on_another_version_than_the_served_one_cannot_promote(tmp_path: Path) -> None:
    from nbaprops import Project
    from nbaprops.errors import InputError

    p = Project(tmp_path / "nba.duckdb")
    try:
        with pytest.raises(InputError, match="cannot be served"):
            p.train("2024-04-10", promote=True, feature_version="v3_availability")
        with pytest.raises(InputError, match="unknown feature version"):
            p.train("2024-04-10", feature_version="v9_nothing")
    finally:
        p.close()
