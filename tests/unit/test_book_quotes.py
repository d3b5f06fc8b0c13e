"""Every book's line and prices for a slate (``queries.book_quotes``, ``GET /predictions/quotes``, the slate
page's market column) on hand-made quotes: the best prices at the prediction's line, a swapped quote
rejected by the cross-book gate and never best, the consensus and its move since the open."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from nbaprops.api import create_app
from nbaprops.config import Settings
from nbaprops.odds import devig_two_way
from nbaprops.queries.book_quotes import BOOK_FIELDS, MARKET_FIELDS, slate_book_quotes
from nbaprops.warehouse import connect

D = dt.date(2024, 3, 10)
TIP = dt.datetime(2024, 3, 10, 23, 0, tzinfo=dt.UTC)
P, OTHER = 1, 2
KEY = "k" * 32


def _at(h: int, m: int = 0) -> dt.datetime:
    return dt.datetime(2024, 3, 10, h, m, tzinfo=dt.UTC)


def _quote(con: duckdb.DuckDBPyConnection, sid: str, player: int, book: str, line: float, over: int, under: int,
           at: dt.datetime) -> None:
    row: dict[str, Any] = {
        "snapshot_id": sid, "source": "odds_api", "game_id": "G1", "game_date": D, "sportsbook": book,
        "player_name": f"P{player}", "player_lookup": f"p{player}", "player_id": player, "player_team": "AAA",
        "home_team": "AAA", "away_team": "BBB", "market": "player_points", "line": line, "over_price": over,
        "under_price": under, "quoted_at": at, "tipoff_at": TIP, "minutes_before_tipoff": (TIP - at).total_seconds() / 60,
        "quote_basis": "quoted_at", "loaded_at": dt.datetime(2024, 3, 11)}
    con.execute(f"INSERT INTO prop_line_snapshots ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()))


def _fill(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""INSERT INTO games (game_id, game_date, season, season_year, season_type, home_abbr, away_abbr,
                                      tipoff_at, source)
                   VALUES ('G1', ?, '2023-24', 2023, 'Regular Season', 'AAA', 'BBB', ?, 'test')""", [D, TIP])
    # the open (one snapshot: 15:00-15:05): two books at 19.5
    _quote(con, "a1", P, "draftkings", 19.5, -110, -110, _at(15))
    _quote(con, "a2", P, "fanduel", 19.5, -115, -105, _at(15, 5))
    # five hours later: the line moved to 20.5
    _quote(con, "b1", P, "draftkings", 20.5, -110, -110, _at(20))
    _quote(con, "b2", P, "fanduel", 20.5, -105, -115, _at(20, 1))
    _quote(con, "b3", P, "betmgm", 20.5, 100, -120, _at(20, 2))
    # a swapped feed: a -200 favourite shown on the other side; its +160 would be the "best" under
    _quote(con, "b4", P, "pointsbet", 20.5, -200, 160, _at(20, 3))
    # a book at another line: counts in the consensus, never shopped
    _quote(con, "b5", P, "caesars", 21.5, 120, -150, _at(20, 4))
    _quote(con, "c1", OTHER, "draftkings", 10.5, -110, -110, _at(20))


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    c = connect(":memory:")
    _fill(c)
    return c


def test_best_prices_rejected_quotes_and_the_move_since_the_open(con: duckdb.DuckDBPyConnection) -> None:
    out = slate_book_quotes(con, D, lines={P: 20.5})
    assert [m["player_id"] for m in out] == [P, OTHER]
    m = out[0]
    assert set(m) == set(MARKET_FIELDS) and all(set(b) == set(BOOK_FIELDS) for b in m["books"])
    books = {b["sportsbook"]: b for b in m["books"]}
    assert sorted(books) == ["betmgm", "caesars", "draftkings", "fanduel", "pointsbet"]
    # the swap is rejected with its reason and never best, though its under price is the highest
    assert books["pointsbet"]["gate_reason"] == "cross_book_prob"
    assert not books["pointsbet"]["best_over"] and not books["pointsbet"]["best_under"]
    # best at the prediction's line: over +100 (betmgm), under -110 (draftkings); caesars' +120 is another line
    assert (m["best_over_book"], m["best_over_price"]) == ("betmgm", 100)
    assert (m["best_under_book"], m["best_under_price"]) == ("draftkings", -110)
    assert [b for b, q in books.items() if q["best_over"]] == ["betmgm"]
    assert [b for b, q in books.items() if q["best_under"]] == ["draftkings"]
    # consensus now: median of 20.5, 20.5, 20.5, 21.5 (the swap excluded); at the open: 19.5
    assert m["consensus_line"] == 20.5 and m["books_quoting"] == 4 and m["line_spread"] == 1.0
    assert m["open_consensus_line"] == 19.5 and m["consensus_line_move"] == pytest.approx(1.0)
    # no earlier dates: no line slope, so the probability pools books at the consensus line only
    now = [float(devig_two_way(o, u)) for o, u in ((-110, -110), (-105, -115), (100, -120))]
    assert m["consensus_p_over"] == pytest.approx(sum(now) / 3)
    assert m["consensus_p_over_move"] is None          # nothing at 20.5 at the open, and no slope to move it
    assert m["open_at"] == _at(15, 5) and m["consensus_at"] == _at(20, 4)
    # a player without a prediction line is shopped at his chosen line, else not at all
    other = out[1]
    assert other["shopped_line"] is None and other["best_over_book"] is None
    assert not any(b["best_over"] or b["best_under"] for b in other["books"])


def test_the_api_and_the_slate_page_show_every_book(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    c = connect(db)
    _fill(c)
    c.execute("""INSERT INTO player_prop_predictions BY NAME
                 SELECT 'G1' AS game_id, ? AS game_date, 1 AS player_id, 'catboost' AS system_id, '20.5' AS line_key,
                        20.5 AS line, 'OVER' AS recommendation, 'b' AS batch_id, 'ACTUAL_PROP' AS line_source,
                        'ms:1' AS model_version, 'v2_33features' AS feature_version, '0' AS package_version,
                        FALSE AS is_fallback, TIMESTAMP '2024-03-10 12:00:00' AS created_at""", [D])
    c.execute("""INSERT INTO prediction_batches (batch_id, game_date, status, expected_players, completed_players,
                                                failed_players, units_total, units_done, min_minutes, forced, model_set,
                                                started_at, finished_at, owner)
                 VALUES ('b', ?, 'complete', 1, 1, 0, 1, 1, 15.0, FALSE, 'ms', TIMESTAMP '2024-03-10 12:00:00',
                         TIMESTAMP '2024-03-10 12:01:00', 'test:1')""", [D])
    c.close()
    settings = Settings(db=db, model_dir=tmp_path / "models", api_key=SecretStr(KEY))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        r = client.get("/predictions/quotes", params={"date": str(D), "player_id": P}, headers={"X-API-Key": KEY})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["game_date"] == str(D) and [p["player_id"] for p in body["players"]] == [P]
        m = body["players"][0]
        assert m["shopped_line"] == 20.5 and m["best_over_book"] == "betmgm"
        assert sum(b["best_over"] for b in m["books"]) == 1
        page = client.get("/slate", params={"date": str(D), "system": "catboost"})
        assert page.status_code == 200, page.text
        html = page.text
        assert 'data-best="over"' in html and 'data-best="under"' in html and 'class="book rejected"' in html
        assert html.count("<tr data-player-id=") == 1                  # the book list adds no table rows
