"""The HTML dashboard on a small hand-made warehouse (TestClient; no browser, no JavaScript).

The warehouse holds three slates (one in March, two in April) with predictions of two systems, a
line the gate quarantined, a skipped player, box scores graded by the real grader, phase runs (one
failed, one stalled), batches (one failed, one stalled) and a circuit-breaker event. Every test
checks the numbers printed in the HTML against the warehouse rows they come from.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from nbaprops.api import create_app
from nbaprops.api.dashboard import fmt_num, fmt_pct, fmt_signed
from nbaprops.config import Settings
from nbaprops.evaluate.grade import grade_dates
from nbaprops.ops.alerts import Alert
from nbaprops.queries.dashboard import BREAK_EVEN, load_performance, load_pipeline, load_slate_page
from nbaprops.warehouse import connect

KEY = "dash-key-91c2"
MARCH, D1, D2 = dt.date(2024, 3, 15), dt.date(2024, 4, 10), dt.date(2024, 4, 11)
DATES = (MARCH, D1, D2)
NOW = dt.datetime.now(dt.UTC).replace(tzinfo=None)

PLAYERS = {1: "Luka Dončić", 2: "Jayson Tatum", 3: "Nikola Jokić", 4: "Jalen Brunson", 5: "Josh Hart"}
#: player -> (team, opponent, is_home, game slot)
TEAMS = {1: ("DAL", "BOS", False, 0), 2: ("BOS", "DAL", True, 0), 3: ("DEN", "NYK", True, 1),
         4: ("NYK", "DEN", False, 1), 5: ("NYK", "DEN", False, 1)}


def _game_id(day: dt.date, slot: int) -> str:
    return f"00223{day:%m%d}{slot}"


def _insert(con: Any, table: str, rows: list[dict[str, Any]]) -> None:
    cols = list(rows[0])
    con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [[r[c] for c in cols] for r in rows])


def _prediction(day: dt.date, player_id: int, system_id: str, *, line: float | None, pred: float, p_over: float,
                rec: str, book: str | None = "draftkings", over: int | None = -110,
                under: int | None = -110) -> dict[str, Any]:
    return {
        "game_id": _game_id(day, TEAMS[player_id][3]), "game_date": day, "player_id": player_id,
        "system_id": system_id, "line": line, "line_key": "none" if line is None else f"{line:.1f}",
        "predicted_points": pred, "predicted_scale": 6.0, "p_over": p_over,
        "confidence": max(p_over, 1 - p_over), "edge": None if line is None else pred - line, "expected_value": 0.01,
        "recommendation": rec, "line_source": "NO_PROP_LINE" if line is None else "ACTUAL_PROP",
        "sportsbook": book if line is not None else None,
        "line_quoted_at": None if line is None else dt.datetime.combine(day, dt.time(22), tzinfo=dt.UTC),
        "over_price": over if line is not None else None, "under_price": under if line is not None else None,
        "model_version": f"ms-test:{system_id}-0a1b2c", "feature_version": "v2_33features", "package_version": "0.1.0",
        "feature_quality_score": 0.93, "is_fallback": False, "batch_id": f"b-{day:%Y%m%d}-ok",
        "created_at": dt.datetime.combine(day, dt.time(15)),
    }


def _slate_rows(day: dt.date, i: int) -> list[dict[str, Any]]:
    """Two systems; the ensemble is a little more bullish. ``i`` moves the numbers per date."""
    rows = []
    for system_id, bump in (("catboost", 0.0), ("ensemble", 0.6)):
        rows += [
            _prediction(day, 1, system_id, line=30.5, pred=33.2 + bump + i, p_over=0.62 + bump / 10, rec="OVER",
                        over=-115, under=-105),
            _prediction(day, 2, system_id, line=26.5, pred=24.0 + bump - i / 2, p_over=0.38 + bump / 10,
                        rec="UNDER" if system_id == "catboost" else "PASS", book="fanduel"),
            _prediction(day, 3, system_id, line=25.5, pred=26.0 + bump, p_over=0.52 + bump / 20, rec="PASS",
                        over=120, under=-140),
            _prediction(day, 4, system_id, line=None, pred=24.4 + bump, p_over=0.5, rec="NO_LINE"),
        ]
    rows.append(_prediction(day, 5, "ensemble", line=None, pred=11.1, p_over=0.5, rec="NO_LINE"))
    return rows


#: actual points (minutes) per date and player; Josh Hart did not play on D1 (a void)
ACTUALS: dict[dt.date, dict[int, tuple[int, float]]] = {
    MARCH: {1: (28, 36.0), 2: (31, 35.0), 3: (26, 34.0), 4: (30, 36.0), 5: (9, 30.0)},
    D1: {1: (35, 37.0), 2: (20, 36.0), 3: (24, 33.0), 4: (22, 35.0), 5: (0, 0.0)},
    D2: {1: (31, 38.0), 2: (27, 34.0), 3: (30, 35.0), 4: (33, 36.0), 5: (12, 28.0)},
}


def _build(path: Path) -> None:
    con = connect(path)
    _insert(con, "players", [{"player_id": pid, "full_name": name, "player_lookup": name.lower().replace(" ", ""),
                              "is_active": True} for pid, name in PLAYERS.items()])
    for day in DATES:
        _insert(con, "games", [
            {"game_id": _game_id(day, 0), "game_date": day, "season": "2023-24", "season_year": 2023,
             "season_type": "Regular Season", "home_abbr": "BOS", "away_abbr": "DAL", "status": "final", "source": "t"},
            {"game_id": _game_id(day, 1), "game_date": day, "season": "2023-24", "season_year": 2023,
             "season_type": "Regular Season", "home_abbr": "DEN", "away_abbr": "NYK", "status": "final", "source": "t"}])
        _insert(con, "upcoming_player_game_context", [
            {"game_id": _game_id(day, slot), "game_date": day, "player_id": pid, "team_abbr": team,
             "opponent_abbr": opp, "is_home": home} for pid, (team, opp, home, slot) in TEAMS.items()])
        _insert(con, "player_boxscores", [
            {"game_id": _game_id(day, TEAMS[pid][3]), "player_id": pid, "game_date": day, "season": "2023-24",
             "season_type": "Regular Season", "team_abbr": TEAMS[pid][0], "opp_abbr": TEAMS[pid][1],
             "is_home": TEAMS[pid][2], "minutes": mins, "pts": pts, "source": "t"}
            for pid, (pts, mins) in ACTUALS[day].items()])
    for i, day in enumerate(DATES):
        _insert(con, "player_prop_predictions", _slate_rows(day, i))
    batches = [
        {"batch_id": f"b-{day:%Y%m%d}-ok", "game_date": day, "status": "complete", "expected_players": 5,
         "completed_players": 5, "failed_players": 0, "skipped_players": 1, "units_total": 1, "units_done": 1,
         "min_minutes": 15.0, "forced": False, "model_set": "ms-test",
         "started_at": dt.datetime.combine(day, dt.time(15)), "heartbeat_at": dt.datetime.combine(day, dt.time(15, 1)),
         "finished_at": dt.datetime.combine(day, dt.time(15, 1)), "owner": "otherhost:1", "error": None}
        for day in DATES]
    batches += [
        {**batches[0], "batch_id": "b-20240409-bad", "game_date": dt.date(2024, 4, 9), "status": "failed",
         "started_at": dt.datetime(2024, 4, 9, 15), "error": "no expected players on 2024-04-09"},
        {**batches[0], "batch_id": "b-20240412-hung", "game_date": dt.date(2024, 4, 12), "status": "running",
         "started_at": NOW - dt.timedelta(hours=3), "heartbeat_at": NOW - dt.timedelta(hours=2),
         "finished_at": None, "owner": "otherhost:4242"},
        {**batches[0], "batch_id": "b-20240413-wait", "game_date": dt.date(2024, 4, 13), "status": "stalled",
         "started_at": NOW - dt.timedelta(minutes=5), "heartbeat_at": NOW, "finished_at": None,
         "error": "2 work units waiting with no consumer"},
    ]
    _insert(con, "prediction_batches", batches)
    _insert(con, "line_quarantine", [
        {"batch_id": "b-20240411-ok", "game_date": D2, "game_id": _game_id(D2, 1), "player_id": 4,
         "line_snapshot_id": "snap-77", "sportsbook": "fanduel", "line": 27.5, "reason": "quoted_after_tipoff",
         "quarantined_at": dt.datetime(2024, 4, 11, 15)}])
    _insert(con, "prediction_skips", [
        {"batch_id": f"b-{day:%Y%m%d}-ok", "game_date": day, "player_id": 5, "system_id": "catboost",
         "reason": "not enough history or features to predict"} for day in DATES])
    _insert(con, "system_circuit_events", [
        {"batch_id": "b-20240411-ok", "system_id": "similarity", "state": "open", "failures": 3,
         "last_error": "ValueError: neighbours", "event_at": dt.datetime(2024, 4, 11, 15)}])
    runs = []
    for n, day in enumerate(DATES):
        runs.append({"run_id": f"r-a-{n}", "phase": "analytics", "date_from": day, "date_to": day,
                     "started_at": dt.datetime.combine(day, dt.time(10)),
                     "finished_at": dt.datetime.combine(day, dt.time(10, 0, 12)), "n_rows": 250 + n, "status": "ok",
                     "error": None})
    runs += [
        # D1 precompute failed, then was fixed: no alert
        {"run_id": "r-p-1a", "phase": "precompute", "date_from": D1, "date_to": D1,
         "started_at": dt.datetime(2024, 4, 10, 11), "finished_at": dt.datetime(2024, 4, 10, 11, 1), "n_rows": None,
         "status": "failed", "error": "disk full"},
        {"run_id": "r-p-1b", "phase": "precompute", "date_from": D1, "date_to": D1,
         "started_at": dt.datetime(2024, 4, 10, 12), "finished_at": dt.datetime(2024, 4, 10, 12, 2), "n_rows": 900,
         "status": "ok", "error": None},
        # D2 precompute failed and stays failed: an alert
        {"run_id": "r-p-2", "phase": "precompute", "date_from": D2, "date_to": D2,
         "started_at": dt.datetime(2024, 4, 11, 11), "finished_at": dt.datetime(2024, 4, 11, 11, 0, 30), "n_rows": None,
         "status": "failed", "error": "feature_store: boom"},
        # a predict run left running for 10 hours: stalled
        {"run_id": "r-x-3", "phase": "predict", "date_from": D2, "date_to": D2,
         "started_at": NOW - dt.timedelta(hours=10), "finished_at": None, "n_rows": None, "status": "running",
         "error": None},
    ]
    _insert(con, "phase_runs", runs)
    assert grade_dates(con, MARCH, D2) == sum(len(_slate_rows(d, i)) for i, d in enumerate(DATES))
    con.close()


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dash") / "nbaprops.duckdb"
    _build(path)
    return path


@pytest.fixture
def db(_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "wh" / "nbaprops.duckdb"
    path.parent.mkdir()
    shutil.copyfile(_template, path)
    return path


@pytest.fixture
def client(db: Path) -> Iterator[TestClient]:
    settings = Settings(db=db, model_dir=db.parent / "models", api_key=SecretStr(KEY))
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


# ------------------------------------------------------------------------------------------ HTML helpers
class _Tables(HTMLParser):
    """Collects the body rows of every table: ``(tr attributes, [(td attributes, text)])``."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[tuple[dict[str, str], list[tuple[dict[str, str], str]]]]] = {}
        self._table: str | None = None
        self._in_body = False
        self._row: tuple[dict[str, str], list[tuple[dict[str, str], str]]] | None = None
        self._cell: tuple[dict[str, str], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "table":
            self._table = a.get("id", f"table-{len(self.tables)}")
            self.tables[self._table] = []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._table is not None and self._in_body:
            self._row = (a, [])
        elif tag == "td" and self._row is not None:
            self._cell = (a, [])

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row[1].append((self._cell[0], " ".join("".join(self._cell[1]).split())))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[1].append(data)


def tables(page: str) -> dict[str, list[dict[str, Any]]]:
    """Every table of a page: body rows as ``{"attrs", "cells", <td class c-NAME>: (text, data-value)}``."""
    parser = _Tables()
    parser.feed(page)
    out: dict[str, list[dict[str, Any]]] = {}
    for name, rows in parser.tables.items():
        body = []
        for attrs, cells in rows:
            rec: dict[str, Any] = {"attrs": attrs, "cells": [t for _, t in cells]}
            for a, text in cells:
                for token in a.get("class", "").split():
                    if token.startswith("c-"):
                        rec[token[2:]] = (text, a.get("data-value"))
            body.append(rec)
        out[name] = body
    return out


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _cursor(client: TestClient) -> Any:
    """A cursor on the app's own connection (DuckDB refuses a second configuration of one file)."""
    return client.app.state.nbaprops.cursor()  # type: ignore[attr-defined]


def _assert_clean(body: str) -> None:
    assert "Traceback" not in body and 'File "' not in body and KEY not in body


# ------------------------------------------------------------------------------------------ slate
def test_root_redirects_to_the_slate(client: TestClient) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/slate"


def test_slate_defaults_to_newest_date_and_primary_system(client: TestClient) -> None:
    r = client.get("/slate")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<span id="slate-date">2024-04-11</span>' in r.text
    rows = tables(r.text)["slate-table"]
    assert {row["attrs"]["data-system"] for row in rows} == {"catboost"}
    assert len(rows) == 4  # Josh Hart was skipped by catboost

    expected = _cursor(client).execute("""
        SELECT p.player_id, pl.full_name, CAST(p.line AS DOUBLE), p.sportsbook, p.predicted_points, p.p_over,
               p.edge, p.confidence, p.recommendation, p.model_version
        FROM player_prop_predictions p JOIN players pl USING (player_id)
        WHERE p.game_date = ? AND p.system_id = 'catboost'""", [D2]).fetchall()
    shown = {int(row["attrs"]["data-player-id"]): row for row in rows}
    assert set(shown) == {e[0] for e in expected}
    for pid, name, line, book, pred, p_over, edge, conf, rec, model in expected:
        row = shown[pid]
        assert row["player"][0] == name                     # names from `players`, accents intact
        assert row["team"][0] == TEAMS[pid][0]
        assert row["opp"][0] == ("vs " if TEAMS[pid][2] else "@ ") + TEAMS[pid][1]
        assert row["line"][0] == fmt_num(line)
        assert row["book"][0] == (book or "\u2014")
        assert row["pred"] == (fmt_num(pred), repr(float(pred)))
        assert row["pover"] == (fmt_pct(p_over), repr(float(p_over)))
        assert row["edge"][0] == fmt_signed(edge)
        assert row["conf"][0] == fmt_pct(conf)
        assert row["rec"][0] == rec
        assert row["model"][0] == model
    # spot-check the formatting itself on Luka: 30.5 line, 35.2 predicted (33.2 + 2), 62.0%, +4.7
    luka = shown[1]
    assert (luka["line"][0], luka["pred"][0], luka["pover"][0], luka["edge"][0]) == ("30.5", "35.2", "62.0%", "+4.7")
    # default sort: edge descending, NO_LINE (no edge) last
    assert [int(r["attrs"]["data-player-id"]) for r in rows] == [1, 3, 2, 4]
    counts = dict(re.findall(r'data-count="(\w+)">([\d,]+)<', r.text))
    assert counts == {"players": "4", "with_line": "3", "OVER": "1", "UNDER": "1", "PASS": "1", "NO_LINE": "1",
                      "injury_flagged": "0", "listed_out": "0", "quarantined": "1", "skipped": "1"}
    assert "b-20240411-ok" in r.text and "ms-test" in r.text


def test_slate_shows_no_line_quarantined_and_skipped_players_with_reason(client: TestClient) -> None:
    r = client.get("/slate", params={"date": "2024-04-11", "system": "all"})
    t = tables(r.text)
    brunson = [row for row in t["slate-table"] if row["attrs"]["data-player-id"] == "4"]
    assert len(brunson) == 2 and all(row["rec"][0] == "NO_LINE" for row in brunson)
    assert all(row["reason"][0] == "27.5 @ fanduel quarantined: quoted_after_tipoff" for row in brunson)
    hart = [row for row in t["slate-table"] if row["attrs"]["data-player-id"] == "5"]
    assert [row["reason"][0] for row in hart] == ["no pre-tip book line"]
    assert [(q["player"][0], q["reason"][0]) for q in t["quarantine-table"]] == [("Jalen Brunson", "quoted_after_tipoff")]
    assert t["quarantine-table"][0]["cells"][2:4] == ["27.5", "fanduel"]
    assert [(s["player"][0], s["attrs"]["data-system"], s["reason"][0]) for s in t["skip-table"]] == [
        ("Josh Hart", "catboost", "not enough history or features to predict")]
    # an older slate without quarantined lines says so
    r = client.get("/slate", params={"date": "2024-04-10"})
    assert "quarantine-table" not in r.text and '<span id="quarantine-count">0</span>' in r.text


def test_slate_filters_and_sorting_work_without_javascript(client: TestClient) -> None:
    # every filter is a GET query parameter
    r = client.get("/slate", params={"date": "2024-04-10", "system": "all", "recommendation": "OVER"})
    rows = tables(r.text)["slate-table"]
    assert {(row["attrs"]["data-player-id"], row["attrs"]["data-system"]) for row in rows} == {
        ("1", "catboost"), ("1", "ensemble")}
    assert all(row["rec"][0] == "OVER" for row in rows)
    assert 'id="row-count">2<' in r.text
    # counts stay those of the whole slate of the system(s)
    assert 'data-count="players">5<' in r.text

    r = client.get("/slate", params={"date": "2024-04-10", "system": "ensemble", "sort": "line", "order": "asc"})
    rows = tables(r.text)["slate-table"]
    assert [row["line"][0] for row in rows] == ["25.5", "26.5", "30.5", "\u2014", "\u2014"]  # NULLs last
    assert 'aria-sort="ascending"' in r.text
    r = client.get("/slate", params={"date": "2024-04-10", "system": "ensemble", "sort": "player", "order": "desc"})
    names = [row["player"][0] for row in tables(r.text)["slate-table"]]
    assert names == sorted(names, reverse=True)

    # an empty form field means "not set" (a <select> with the "all" option submits recommendation=)
    r = client.get("/slate", params={"date": "", "system": "", "recommendation": "", "sort": "", "order": ""})
    assert r.status_code == 200 and '<span id="slate-date">2024-04-11</span>' in r.text

    # column headers are plain links carrying the filters; clicking the sorted column flips the order
    r = client.get("/slate", params={"date": "2024-04-10", "system": "ensemble", "sort": "edge", "order": "desc"})
    links = dict(re.findall(r'data-sort-key="(\w+)"[^>]*>\s*<a href="([^"]+)"', r.text))
    assert html.unescape(links["edge"]) == "/slate?date=2024-04-10&system=ensemble&sort=edge&order=asc"
    assert html.unescape(links["player"]) == "/slate?date=2024-04-10&system=ensemble&sort=player&order=asc"
    follow = client.get(html.unescape(links["edge"]))
    edges = [float(row["edge"][1]) for row in tables(follow.text)["slate-table"] if row["edge"][1]]
    assert edges == sorted(edges)
    # the filter form is a plain GET form with the current values selected
    assert '<form class="filters" method="get" action="/slate"' in r.text
    assert '<option value="ensemble" selected>' in r.text
    # previous / next slate links
    assert 'href="/slate?date=2024-03-15&amp;system=ensemble' in r.text
    assert 'href="/slate?date=2024-04-11&amp;system=ensemble' in r.text


def test_slate_of_a_date_without_predictions(client: TestClient) -> None:
    r = client.get("/slate", params={"date": "2023-01-01"})
    assert r.status_code == 200
    assert "No predictions for 2023-01-01" in _text(r.text)
    assert 'href="/slate?date=2024-04-11"' in r.text


@pytest.mark.parametrize("params", [
    {"date": "2024-13-01"}, {"date": "yesterday"}, {"date": "2024-04-10T00:00"}, {"system": "gpt"},
    {"recommendation": "MAYBE"}, {"sort": "line; DROP TABLE players"}, {"order": "sideways"},
])
def test_slate_refuses_invalid_parameters_with_an_html_page(client: TestClient, params: dict[str, str]) -> None:
    r = client.get("/slate", params=params)
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "Invalid filter" in r.text and '<ul id="error-fields">' in r.text
    name = next(iter(params))
    assert re.search(rf"<li>{name}: ", r.text)
    _assert_clean(r.text)
    # the warehouse is untouched
    assert client.get("/slate", params={"date": "2024-04-10"}).status_code == 200


# ------------------------------------------------------------------------------------------ performance
def _graded(client: TestClient) -> pd.DataFrame:
    return _cursor(client).execute("""SELECT g.*, p.line_source FROM prediction_grades g
                                      JOIN player_prop_predictions p USING (game_id, player_id, system_id, line_key)""").df()


def _expected(g: pd.DataFrame) -> dict[str, Any]:
    """Hit rate, ROI and MAE of graded rows, computed here with pandas (independently of the page's SQL)."""
    bets = g[g["is_bet"] & g["has_valid_line"] & (g["line_source"] == "ACTUAL_PROP")]
    settled = bets[bets["result"].isin(["WIN", "LOSS", "PUSH"])]
    wins, losses = int((settled["result"] == "WIN").sum()), int((settled["result"] == "LOSS").sum())
    same = g[g["has_valid_line"] & ~g["is_void"] & g["abs_error"].notna() & g["line_abs_error"].notna()]
    return {"bets": len(settled), "wins": wins, "losses": losses,
            "voids": int((bets["result"] == "VOID").sum()),
            "hit_rate": wins / (wins + losses) if wins + losses else None,
            "roi": settled["profit_units"].sum() / len(settled) if len(settled) else None,
            "mae": same["abs_error"].mean(), "line_mae": same["line_abs_error"].mean(), "mae_rows": len(same)}


def test_performance_tables_show_the_warehouse_numbers(client: TestClient) -> None:
    r = client.get("/performance")
    assert r.status_code == 200
    t = tables(r.text)
    g = _graded(client)
    by_system = {row["attrs"]["data-system"]: row for row in t["perf-by-system"]}
    assert set(by_system) == {"catboost", "ensemble"}
    for system, row in by_system.items():
        e = _expected(g[g["system_id"] == system])
        assert row["bets"][0] == str(e["bets"]) and row["wins"][0] == str(e["wins"])
        assert row["losses"][0] == str(e["losses"]) and row["voids"][0] == str(e["voids"])
        assert row["hit"][0] == fmt_pct(e["hit_rate"])
        assert row["roi"][0] == fmt_pct(e["roi"])
        assert float(row["roi"][1]) == pytest.approx(e["roi"])
        assert row["mae"][0] == fmt_num(e["mae"], 2) and row["line-mae"][0] == fmt_num(e["line_mae"], 2)
        assert row["mae-rows"][0] == str(e["mae_rows"])
    # by hand for catboost: OVER 30.5 at -115 (28 lost, 35 won, 31 won); UNDER 26.5 at -110 (31 lost, 20 won, 27 lost)
    cat = by_system["catboost"]
    assert (cat["bets"][0], cat["wins"][0], cat["losses"][0]) == ("6", "3", "3")
    profit = 100 / 115 * 2 + 100 / 110 - 3
    assert float(cat["profit"][1]) == pytest.approx(profit)
    assert cat["roi"][0] == fmt_pct(profit / 6) == "-5.9%"
    assert cat["hit"][0] == "50.0%"

    by_date = {(row["attrs"]["data-date"], row["attrs"]["data-system"]): row for row in t["perf-by-date"]}
    assert set(by_date) == {(str(d), s) for d in DATES for s in ("catboost", "ensemble")}
    for (day, system), row in by_date.items():
        e = _expected(g[(g["system_id"] == system) & (g["game_date"].astype(str).str[:10] == day)])
        assert row["hit"][0] == fmt_pct(e["hit_rate"]) and row["roi"][0] == fmt_pct(e["roi"])
    # the void (Josh Hart, 0 minutes) is not a bet and not in any MAE
    ens_d1 = by_date[(str(D1), "ensemble")]
    assert ens_d1["voids"][0] == "0" and ens_d1["mae-rows"][0] == "3"

    months = {(row["attrs"]["data-month"], row["attrs"]["data-system"]) for row in t["perf-by-month"]}
    assert months == {("2024-03", "catboost"), ("2024-03", "ensemble"), ("2024-04", "catboost"),
                      ("2024-04", "ensemble")}
    calib = t["perf-calibration"]
    assert sum(int(row["n"][0]) for row in calib) == int(
        (g["has_valid_line"] & ~g["is_void"] & g["graded_over"].notna()).sum())
    assert 'id="break-even">52.38%<' in r.text and fmt_pct(BREAK_EVEN, 2) == "52.38%"


def test_performance_embeds_plotly_from_this_server(client: TestClient) -> None:
    r = client.get("/performance")
    assert '<script src="/static/plotly.min.js"></script>' in r.text
    for div in ("chart-hit-rate", "chart-roi", "chart-calibration", "chart-mae"):
        assert f'id="{div}"' in r.text
    assert "cdn.plot.ly" not in r.text and "https://" not in r.text.replace("https://plotly.com", "")
    assert "break-even 52.38% (-110)" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert len(js.content) > 1_000_000 and b"plotly.js" in js.content[:500]


def test_performance_filters(client: TestClient) -> None:
    r = client.get("/performance", params={"system": "ensemble", "date_from": "2024-04-01", "date_to": ""})
    t = tables(r.text)
    assert [row["attrs"]["data-system"] for row in t["perf-by-system"]] == ["ensemble"]
    assert {row["attrs"]["data-date"] for row in t["perf-by-date"]} == {str(D1), str(D2)}
    g = _graded(client)
    e = _expected(g[(g["system_id"] == "ensemble") & (pd.to_datetime(g["game_date"]) >= "2024-04-01")])
    assert t["perf-by-system"][0]["hit"][0] == fmt_pct(e["hit_rate"])
    r = client.get("/performance", params={"date_from": "2025-01-01"})
    assert r.status_code == 200 and 'id="performance-empty"' in r.text
    r = client.get("/performance", params={"date_to": "not-a-date"})
    assert r.status_code == 422 and "date_to" in r.text


def test_performance_on_an_empty_warehouse(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(db=tmp_path / "empty.duckdb"))) as c:
        r = c.get("/performance")
        assert r.status_code == 200 and "Nothing graded yet" in r.text and "plotly-graph-div" not in r.text
        assert c.get("/slate").status_code == 200 and c.get("/pipeline").status_code == 200


# ------------------------------------------------------------------------------------------ pipeline
def test_pipeline_runs_batches_and_alerts(client: TestClient) -> None:
    r = client.get("/pipeline")
    assert r.status_code == 200
    t = tables(r.text)
    alerts = {(row["attrs"]["data-kind"], row["attrs"]["data-date"]): row for row in t["alerts-table"]}
    assert set(alerts) == {("phase_failed", "2024-04-11"), ("phase_stalled", "2024-04-11"),
                           ("batch_failed", "2024-04-09"), ("batch_stalled", "2024-04-12"),
                           ("batch_stalled", "2024-04-13"),
                           ("lines_quarantined", "2024-04-11"), ("circuit_open", "2024-04-11")}
    assert "feature_store: boom" in alerts[("phase_failed", "2024-04-11")]["cells"][4]
    assert alerts[("lines_quarantined", "2024-04-11")]["cells"][4] == "quoted_after_tipoff"
    severities = [row["attrs"]["data-severity"] for row in t["alerts-table"]]
    assert severities == sorted(severities)  # errors first
    phases = {row["attrs"]["data-phase"]: row for row in t["phase-summary"]}
    assert (phases["precompute"]["runs"][0], phases["precompute"]["failed"][0], phases["precompute"]["ok"][0]) == (
        "3", "2", "1")
    assert phases["analytics"]["rows"][0] == "753"
    batches = {row["attrs"]["data-batch-id"]: row["attrs"]["data-status"] for row in t["batches-table"]}
    assert batches == {"b-20240315-ok": "complete", "b-20240410-ok": "complete", "b-20240411-ok": "complete",
                       "b-20240409-bad": "failed", "b-20240412-hung": "stalled", "b-20240413-wait": "stalled"}
    assert "2 work units waiting with no consumer" in alerts[("batch_stalled", "2024-04-13")]["cells"][4]
    b11 = next(row for row in t["batches-table"] if row["attrs"]["data-batch-id"] == "b-20240411-ok")
    assert (b11["quarantined"][0], b11["skipped"][0], b11["expected"][0]) == ("1", "1", "5")
    assert len(t["runs-table"]) == 7 and "of 7" in r.text


def test_pipeline_filters(client: TestClient) -> None:
    r = client.get("/pipeline", params={"phase": "precompute", "status": "failed"})
    runs = tables(r.text)["runs-table"]
    assert [(row["attrs"]["data-phase"], row["attrs"]["data-status"]) for row in runs] == [
        ("precompute", "failed"), ("precompute", "failed")]
    r = client.get("/pipeline", params={"date": "2024-04-10", "limit": "1"})
    t = tables(r.text)
    assert len(t["runs-table"]) == 1 and "(<span id=\"run-count\">1</span> of 3)" in r.text
    assert [row["attrs"]["data-batch-id"] for row in t["batches-table"]] == ["b-20240410-ok"]
    for bad in ({"limit": "0"}, {"limit": "100000"}, {"phase": "x" * 65}, {"status": "<script>"}):
        r = client.get("/pipeline", params=bad)
        assert r.status_code == 422, bad
        assert "<script>" not in r.text.split("<main>")[1]


def test_load_functions_directly(db: Path) -> None:
    con = connect(db, read_only=True)
    try:
        slate = load_slate_page(con, D2, system=None, sort="p_over", order="asc")
        assert [r["p_over"] for r in slate.rows] == sorted(r["p_over"] for r in slate.rows)
        with pytest.raises(ValueError, match="sort"):
            load_slate_page(con, D2, sort="line; --")
        perf = load_performance(con, system="catboost")
        assert perf.graded_rows == 12 and perf.date_from == MARCH and perf.date_to == D2
        pipe = load_pipeline(con, now=NOW - dt.timedelta(hours=9))  # 1 h after the predict run began: not stalled
        assert "phase_stalled" not in {a.kind for a in pipe.alerts}
        # the dashboard's alerts are the pipeline's Alert type, fields by name
        failed = next(a for a in pipe.alerts if a.kind == "phase_failed")
        assert type(failed) is Alert
        assert (failed.severity, failed.game_date, failed.title) == ("error", D2, "precompute 2024-04-11 failed")
        assert "feature_store: boom" in failed.detail
    finally:
        con.close()


# ------------------------------------------------------------------------------------------ robustness
def test_dashboard_when_the_warehouse_cannot_be_opened(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    settings = Settings(db=tmp_path / "a-file" / "x.duckdb", api_key=SecretStr(KEY))
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        for page in ("/slate", "/performance", "/pipeline"):
            r = c.get(page)
            assert r.status_code == 503 and r.headers["content-type"].startswith("text/html"), page
            assert "The warehouse cannot answer" in r.text
            _assert_clean(r.text)
        assert c.get("/predictions", params={"date": "2024-04-10"}).headers["content-type"] == "application/json"


def test_input_limits(client: TestClient) -> None:
    r = client.get("/slate?date=2024-04-10&x=" + "a" * 5000)
    assert r.status_code == 414 and r.json() == {"detail": "query string longer than 4096 bytes"}
    r = client.post("/start", content=b"{" + b" " * 70_000 + b"}", headers={"X-API-Key": KEY,
                                                                       "content-type": "application/json"})
    assert r.status_code == 413 and "larger than 65536 bytes" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming too
        for _ in range(40):
            yield b" " * 4096

    r = client.post("/start", content=chunks(), headers={"X-API-Key": KEY, "content-type": "application/json"})
    assert r.status_code == 413
    r = client.get("/predictions", params={"date": "2024-04-10", "offset": 10**12})
    assert r.status_code == 422 and "offset" in r.json()["detail"]
    r = client.get("/predictions", params={"date": "2024-04-10", "offset": 10**6})
    assert r.status_code == 200 and r.json()["items"] == []


def test_dashboard_pages_need_no_api_key_and_send_security_headers(client: TestClient) -> None:
    for page in ("/slate", "/performance", "/pipeline"):
        r = client.get(page)
        assert r.status_code == 200
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    spec = client.get("/openapi.json").json()
    for page in ("/slate", "/performance", "/pipeline"):
        op = spec["paths"][page]["get"]
        assert "security" not in op and "text/html" in op["responses"]["200"]["content"]
    params = {p["name"]: p for p in spec["paths"]["/slate"]["get"]["parameters"]}
    assert set(params) == {"date", "system", "recommendation", "sort", "order", "market"}


def test_templates_ship_inside_the_package() -> None:
    folder = resources.files("nbaprops.api").joinpath("templates")
    names = {p.name for p in folder.iterdir()}
    assert {"base.html", "slate.html", "performance.html", "pipeline.html", "error.html"} <= names


def test_pipeline_shows_a_run_of_a_dead_process_abandoned(db: Path) -> None:
    """A run left ``running`` by a process of this host that is gone is shown abandoned at once (not after
    the stall timeout) and raises an alert, while the page writes nothing to the warehouse."""
    import socket
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                           text=True, check=True)
    dead_pid = int(child.stdout)        # exited: no process of this host has that pid now (barring reuse)
    started = NOW - dt.timedelta(minutes=5)
    con = connect(db)
    try:
        _insert(con, "phase_runs", [
            {"run_id": f"feedc0de@{socket.gethostname()}:{dead_pid}", "phase": "grade", "date_from": D2,
             "date_to": D2, "started_at": started, "finished_at": None, "n_rows": None, "status": "running",
             "error": None},
            {"run_id": f"alive000@{socket.gethostname()}:{os.getpid()}", "phase": "lines", "date_from": D2,
             "date_to": D2, "started_at": started, "finished_at": None, "n_rows": None, "status": "running",
             "error": None}])
    finally:
        con.close()
    con = connect(db, read_only=True)
    try:
        pipe = load_pipeline(con, now=NOW)
        by_phase = {r["phase"]: r for r in pipe.runs if r["started_at"] == started}
        assert by_phase["grade"]["status"] == "abandoned" and "died" in by_phase["grade"]["error"]
        assert by_phase["lines"]["status"] == "running"          # this process is alive: still running
        assert {p["phase"]: p["last_status"] for p in pipe.phases}["grade"] == "abandoned"
        assert ("phase_abandoned", D2) in {(a.kind, a.game_date) for a in pipe.alerts}
        stored = con.execute("SELECT status FROM phase_runs WHERE phase = 'grade' AND started_at = ?",
                             [started]).fetchone()
        assert stored == ("running",)                              # the page only reads
    finally:
        con.close()
