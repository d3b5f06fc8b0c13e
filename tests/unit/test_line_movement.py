"""The line-movement features (``line_movement``, v4_market_movement) and the one pre-tip definition
(:mod:`nbaprops.pretip`) on hand-made quotes: the values by hand, NULL without a quote, and no
leakage: quotes made after the prediction time, at tip-off or in play change nothing of D's row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from nbaprops.features.definitions import (
    FEATURE_VERSIONS,
    FEATURES_V3,
    LINE_MOVEMENT_FEATURES,
    MARKET_FEATURES,
    OPTIONAL_FEATURES,
)
from nbaprops.odds import devig_two_way
from nbaprops.pipeline.builds import FAR_FUTURE, set_book_priority
from nbaprops.pretip import is_pre_tip, pre_tip_sql
from nbaprops.queries.markets import PRE_TIP
from nbaprops.warehouse import connect
from nbaprops.warehouse.connection import replace_partition

D = dt.date(2024, 3, 10)
TIP = dt.datetime(2024, 3, 10, 23, 0, tzinfo=dt.UTC)
MOVER, NO_OWN_TIP, NO_QUOTE = 1, 2, 3
_n = 0


def _at(h: int, m: int = 0) -> dt.datetime:
    return dt.datetime(2024, 3, 10, h, m, tzinfo=dt.UTC)


def _quote(con: duckdb.DuckDBPyConnection, player: int, book: str, line: float, over: int, under: int,
           at: dt.datetime, *, own_tip: dt.datetime | None = TIP) -> str:
    global _n
    _n += 1
    sid = f"q{_n}"
    row: dict[str, Any] = {
        "snapshot_id": sid, "source": "odds_api", "game_id": "G1", "game_date": D, "sportsbook": book,
        "player_name": f"P{player}", "player_lookup": f"p{player}", "player_id": player, "player_team": "AAA",
        "home_team": "AAA", "away_team": "BBB", "market": "player_points", "line": line, "over_price": over,
        "under_price": under, "quoted_at": at, "tipoff_at": own_tip,
        "minutes_before_tipoff": None if own_tip is None else (own_tip - at).total_seconds() / 60,
        "quote_basis": "quoted_at", "loaded_at": dt.datetime(2024, 3, 11)}
    con.execute(f"INSERT INTO prop_line_snapshots ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()))
    return sid


def _warehouse() -> duckdb.DuckDBPyConnection:
    con = connect(":memory:")
    con.execute("""INSERT INTO games (game_id, game_date, season, season_year, season_type, home_abbr, away_abbr,
                                      tipoff_at, source)
                   VALUES ('G1', ?, '2023-24', 2023, 'Regular Season', 'AAA', 'BBB', ?, 'test')""", [D, TIP])
    # the mover: two books move, one quotes late (one minute before tip-off)
    _quote(con, MOVER, "draftkings", 20.5, -110, -110, _at(15))
    _quote(con, MOVER, "fanduel", 20.5, -120, 100, _at(15, 5))
    _quote(con, MOVER, "draftkings", 21.5, -115, -105, _at(20))
    _quote(con, MOVER, "fanduel", 20.5, -130, 110, _at(20, 5))
    _quote(con, MOVER, "betmgm", 21.5, -110, -110, _at(22, 59))
    # a quote without its own tip-off: the schedule's counts
    _quote(con, NO_OWN_TIP, "draftkings", 12.5, -110, -110, _at(22), own_tip=None)
    # a player with a box-score history but no quote
    con.execute("""INSERT INTO player_boxscores (game_id, player_id, game_date, season, season_type, team_abbr,
                                                 opp_abbr, is_home, minutes, pts, source)
                   VALUES ('G0', ?, ?, '2023-24', 'Regular Season', 'AAA', 'BBB', TRUE, 30, 20, 'test')""",
                [NO_QUOTE, D - dt.timedelta(days=2)])
    set_book_priority(con, ["draftkings", "fanduel"])
    return con


def _after_the_fact(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Quotes no pre-tip spelling may count: at tip-off, in play (own and schedule tip-off)."""
    return {_quote(con, MOVER, "caesars", 30.5, -110, -110, TIP),
            _quote(con, MOVER, "draftkings", 40.5, -300, 200, _at(23, 30)),
            _quote(con, NO_OWN_TIP, "fanduel", 40.5, -110, -110, TIP, own_tip=None),
            _quote(con, NO_OWN_TIP, "betmgm", 40.5, -110, -110, _at(23, 45), own_tip=None)}


def _build(con: duckdb.DuckDBPyConnection, as_of: dt.datetime = FAR_FUTURE) -> pd.DataFrame:
    params = {"as_of": as_of, "rotation_min_minutes": 15.0}
    for t in ("upcoming_player_game_context", "line_movement"):
        replace_partition(con, t, D, D, params)
    return con.execute(f"""SELECT c.player_id, c.has_line, c.current_points_line, c.line_quoted_at,
                                  {", ".join(f"m.{n}, m.{n}__src" for n in LINE_MOVEMENT_FEATURES)}
                           FROM upcoming_player_game_context c
                           JOIN line_movement m USING (game_date, player_id)
                           WHERE c.game_date = ? ORDER BY c.player_id""", [D]).df().set_index("player_id")


@pytest.fixture()
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = _warehouse()
    yield c
    c.close()


def test_v4_is_v3_plus_the_movement_features_all_market_and_optional() -> None:
    assert FEATURE_VERSIONS["v4_market_movement"] == FEATURES_V3 + LINE_MOVEMENT_FEATURES
    assert set(LINE_MOVEMENT_FEATURES) <= MARKET_FEATURES
    assert set(LINE_MOVEMENT_FEATURES) <= OPTIONAL_FEATURES
    assert not set(LINE_MOVEMENT_FEATURES) & set(FEATURES_V3)


def test_movement_values_by_hand(con: duckdb.DuckDBPyConnection) -> None:
    _after_the_fact(con)
    df = _build(con)
    m = df.loc[MOVER]
    # newest lines 21.5 / 20.5 / 21.5 (median 21.5) vs opening 20.5 / 20.5 / 21.5 (median 20.5)
    assert m["mkt_consensus_line_move"] == pytest.approx(1.0)
    assert m["mkt_line_spread"] == pytest.approx(1.0)
    assert m["mkt_books_quoting"] == 3
    assert m["mkt_hours_to_tip"] == pytest.approx(1 / 60)
    # P(over) move: fanduel (same line) moved, betmgm (one quote) did not, draftkings changed line
    fd = float(devig_two_way(-130, 110)) - float(devig_two_way(-120, 100))
    assert fd > 0.01
    assert m["mkt_p_over_move"] == pytest.approx((fd + 0.0) / 2)
    assert (m[[f"{n}__src" for n in LINE_MOVEMENT_FEATURES]] == "vegas").all()
    assert m["has_line"] and m["current_points_line"] == 21.5        # the preferred book's newest quote
    # the schedule's tip-off counts for a quote without its own
    n = df.loc[NO_OWN_TIP]
    assert n["has_line"] and n["current_points_line"] == 12.5 and n["mkt_books_quoting"] == 1
    assert n["mkt_consensus_line_move"] == 0 and n["mkt_hours_to_tip"] == pytest.approx(1.0)
    # no quote: NULL (not zero), source missing
    q = df.loc[NO_QUOTE]
    assert not q["has_line"]
    assert all(pd.isna(q[n]) for n in LINE_MOVEMENT_FEATURES)
    assert (q[[f"{n}__src" for n in LINE_MOVEMENT_FEATURES]] == "missing").all()


def test_quotes_after_the_prediction_time_or_after_tip_change_nothing(con: duckdb.DuckDBPyConnection) -> None:
    as_of = _at(20, 30)
    before = _build(con, as_of)
    # at 20:30 the market has seen both books' two quotes, not betmgm's late one
    assert before.loc[MOVER, "mkt_books_quoting"] == 2
    assert before.loc[MOVER, "mkt_consensus_line_move"] == pytest.approx(0.5)   # median(21.5, 20.5) - 20.5
    assert before.loc[MOVER, "mkt_hours_to_tip"] == pytest.approx(3 - 5 / 60)               # newest: 20:05
    # later pre-tip quotes, a quote at tip-off and in-play quotes
    _quote(con, MOVER, "draftkings", 25.5, -200, 150, _at(21))
    _quote(con, MOVER, "pointsbet", 19.5, -110, -110, _at(20, 31))
    _after_the_fact(con)
    after = _build(con, as_of)
    pd.testing.assert_frame_equal(before, after)
    # and at the close, the quotes at or after tip-off still count for nothing
    close = _build(con)
    assert close.loc[MOVER, "mkt_line_spread"] == pytest.approx(25.5 - 19.5)
    assert close.loc[MOVER, "mkt_books_quoting"] == 4
    assert close.loc[NO_OWN_TIP, "mkt_books_quoting"] == 1


def test_every_pre_tip_spelling_counts_the_same_quotes(con: duckdb.DuckDBPyConnection) -> None:
    late = _after_the_fact(con)
    q = con.execute(f"""SELECT s.snapshot_id, s.quoted_at, s.tipoff_at AS own_tip, g.tipoff_at AS sched_tip,
                               {pre_tip_sql("s", "g.tipoff_at")} AS with_schedule, {PRE_TIP} AS own_only,
                               s.snapshot_id IN (SELECT snapshot_id FROM line_quotes) AS in_view
                        FROM prop_line_snapshots s LEFT JOIN games g USING (game_id)""").df()
    py = [is_pre_tip(r.quoted_at, r.own_tip if r.own_tip is not pd.NaT and pd.notna(r.own_tip) else r.sched_tip)
          for r in q.itertuples()]
    assert q["with_schedule"].tolist() == q["in_view"].tolist() == py
    assert not q[q["snapshot_id"].isin(late)]["with_schedule"].any()
    assert q["with_schedule"].sum() == len(q) - len(late) > 0
    own = q[q["own_tip"].notna()]
    assert own["own_only"].tolist() == own["with_schedule"].tolist()
    # the context and the movement features count exactly these quotes (books per player)
    df = _build(con)
    counted = con.execute(f"""SELECT s.player_id, count(DISTINCT s.sportsbook) FROM prop_line_snapshots s
                              LEFT JOIN games g USING (game_id) WHERE {pre_tip_sql("s", "g.tipoff_at")}
                              GROUP BY 1""").fetchall()
    assert {p: float(n) for p, n in counted} == df["mkt_books_quoting"].dropna().to_dict()
    assert np.isnan(df.loc[NO_QUOTE, "mkt_books_quoting"])
