"""The player prop page, the prop board and the export documents on a small hand-made warehouse.

One player (Test Shooter, BOS, home against NYK on 2024-04-10) has eight games in March 2024, one in
the previous season against NYK and one on the date itself (which must never show: the page is
about what was known before the game). Three books quote his points before tip-off (two at 24.5, one
at 25.5) and one quotes 26.5 after tip-off; three quote rebounds. The injury report before tip-off
lists him Questionable and a teammate Out; a report published after tip-off (him Out) must not be
read. Every expected number below is worked out by hand from these rows.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from nbaprops import cli
from nbaprops.api import create_app
from nbaprops.config import Settings
from nbaprops.errors import ModelError
from nbaprops.models.market_blend import MarketBlend
from nbaprops.models.systems.base import FORMAT_VERSION, PointsDistribution, SpreadModel
from nbaprops.project import Project
from nbaprops.queries.exports import DOCUMENTS, schema_files
from nbaprops.queries.markets import best_prices, line_record, streak, tonights_line
from nbaprops.queries.player import model_distribution
from nbaprops.warehouse import connect

D = dt.date(2024, 4, 10)
GAME = "0022301158"
TIPOFF = dt.datetime(2024, 4, 10, 23, 30, tzinfo=dt.UTC)
SHOOTER, MATE, OTHER = 1, 2, 3
#: March 2024 games of the shooter, oldest first: (day, opponent, pts, reb, minutes)
MARCH = [(1, "NYK", 10, 4, 20.0), (2, "MIA", 25, 7, 30.0), (3, "NYK", 30, 8, 32.0), (4, "MIA", 22, 5, 31.0),
         (5, "NYK", 21, 6, 29.0), (6, "MIA", 27, 7, 33.0), (7, "NYK", 28, 3, 34.0), (8, "MIA", 29, 9, 35.0)]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "exports"


def _insert(con: Any, table: str, rows: list[dict[str, Any]]) -> None:
    cols = list(rows[0])
    con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [[r[c] for c in cols] for r in rows])


def _box(day: dt.date, season: str, opp: str, pts: int, reb: int, minutes: float, game_id: str) -> dict[str, Any]:
    return {"game_id": game_id, "player_id": SHOOTER, "game_date": day, "season": season,
            "season_type": "Regular Season", "team_abbr": "BOS", "opp_abbr": opp, "is_home": True, "minutes": minutes,
            "pts": pts, "reb": reb, "ast": 2, "fg3m": 1, "source": "t"}


def _quote(sid: str, book: str, market: str, line: float, over: int, under: int, at: dt.datetime) -> dict[str, Any]:
    return {"snapshot_id": sid, "source": "odds_api", "event_id": "ev1", "game_id": GAME, "game_date": D,
            "sportsbook": book, "player_name": "Test Shooter", "player_lookup": "testshooter", "player_id": SHOOTER,
            "player_team": "BOS", "home_team": "BOS", "away_team": "NYK", "market": market, "line": line,
            "over_price": over, "under_price": under, "quoted_at": at, "tipoff_at": TIPOFF,
            "minutes_before_tipoff": (TIPOFF - at).total_seconds() / 60, "quote_basis": "quoted_at",
            "loaded_at": dt.datetime(2024, 4, 10, 12)}


def _build(path: Path) -> None:
    con = connect(path)
    _insert(con, "players", [{"player_id": pid, "full_name": name, "player_lookup": name.lower().replace(" ", "")}
                             for pid, name in ((SHOOTER, "Test Shooter"), (MATE, "Team Mate"), (OTHER, "Other Guy"))])
    _insert(con, "games", [{"game_id": GAME, "game_date": D, "season": "2023-24", "season_year": 2023,
                            "season_type": "Regular Season", "home_abbr": "BOS", "away_abbr": "NYK",
                            "tipoff_at": TIPOFF, "status": "final", "source": "t"}])
    boxes = [_box(dt.date(2024, 3, d), "2023-24", opp, pts, reb, mins, f"00223003{d:02d}")
             for d, opp, pts, reb, mins in MARCH]
    boxes.append(_box(dt.date(2023, 2, 1), "2022-23", "NYK", 30, 10, 33.0, "0022200700"))   # last season
    boxes.append(_box(D, "2023-24", "NYK", 40, 15, 40.0, GAME))                             # tonight: never shown
    _insert(con, "player_boxscores", boxes)
    _insert(con, "upcoming_player_game_context", [
        {"game_id": GAME, "game_date": D, "player_id": pid, "team_abbr": team, "opponent_abbr": opp, "is_home": home,
         "tipoff_at": TIPOFF, "has_line": pid == SHOOTER, "is_rotation": True, "played": True, "is_expected": True,
         "current_points_line": 24.5 if pid == SHOOTER else None}
        for pid, team, opp, home in ((SHOOTER, "BOS", "NYK", True), (MATE, "BOS", "NYK", True),
                                     (OTHER, "NYK", "BOS", False))])
    at = dt.datetime(2024, 4, 10, 22, tzinfo=dt.UTC)
    _insert(con, "prop_line_snapshots", [
        _quote("s1", "draftkings", "player_points", 24.5, -110, -110, at),
        _quote("s2", "fanduel", "player_points", 24.5, 105, -125, at + dt.timedelta(minutes=30)),
        _quote("s3", "betmgm", "player_points", 25.5, -115, -105, at - dt.timedelta(hours=1)),
        _quote("s4", "draftkings", "player_points", 26.5, -120, 100, TIPOFF + dt.timedelta(minutes=15)),  # in-game
        _quote("r1", "draftkings", "player_rebounds", 5.5, -120, -100, at),
        _quote("r2", "fanduel", "player_rebounds", 6.5, 110, -130, at),
        _quote("r3", "betmgm", "player_rebounds", 6.5, 100, -120, at),
    ])
    _insert(con, "player_prop_predictions", [{
        "game_id": GAME, "game_date": D, "player_id": SHOOTER, "system_id": "catboost", "line": 24.5,
        "line_key": "24.5", "predicted_points": 26.1, "predicted_scale": 7.0, "p_over": 0.58, "confidence": 0.58,
        "edge": 1.6, "expected_value": 0.107, "recommendation": "OVER", "line_source": "ACTUAL_PROP",
        "sportsbook": "draftkings", "line_quoted_at": at, "line_quote_basis": "quoted_at", "line_snapshot_id": "s1",
        "over_price": -110, "under_price": -110, "market_p_over": 0.5, "model_version": "ms-test:catboost-0a1b2c",
        "feature_version": "v2_33features", "package_version": "0.1.0", "feature_quality_score": 0.9,
        "is_fallback": False, "batch_id": "b-20240410-ok", "created_at": dt.datetime(2024, 4, 10, 22, 5)}])
    report = dt.datetime(2024, 4, 10, 17, 30, tzinfo=dt.UTC)
    late = TIPOFF + dt.timedelta(minutes=20)
    _insert(con, "injury_reports", [
        {"report_time": t, "game_date": D, "team_abbr": "BOS", "player_name": name, "player_id": pid,
         "status": status, "reason": reason, "source_file": "r.pdf", "loaded_at": dt.datetime(2024, 4, 10, 18)}
        for t, name, pid, status, reason in (
            (report, "Mate, Team", MATE, "Out", "Injury/Illness - Ankle"),
            (report, "Shooter, Test", SHOOTER, "Questionable", "Rest"),
            (late, "Shooter, Test", SHOOTER, "Out", "Rest"))])
    con.close()


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("player") / "nbaprops.duckdb"
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
    with TestClient(create_app(Settings(db=db, model_dir=db.parent / "models")), raise_server_exceptions=False) as c:
        yield c


# ------------------------------------------------------------------------------------------ definitions
def test_line_record_streak_tonights_line_and_best_prices() -> None:
    rec = line_record([30, 24.5, 20, None, 25], 24.5)
    assert (rec.games, rec.over, rec.under, rec.push, rec.hit_rate) == (4, 2, 1, 1, pytest.approx(2 / 3))
    assert line_record([], 10.5).hit_rate is None and line_record([12], None).over == 0
    assert streak([30, 28, 20, 31], 24.5).as_dict() == {"side": "OVER", "games": 2}
    assert streak([20, 21, 24.5, 10], 24.5).as_dict() == {"side": "UNDER", "games": 2}   # a push ends it
    assert streak([24.5, 30], 24.5).side is None and streak([], 3.5).games == 0
    quotes = [{"line": 6.5, "sportsbook": "a"}, {"line": 5.5, "sportsbook": "b"}, {"line": 6.5, "sportsbook": "c"},
              {"line": 5.5, "sportsbook": "d"}]
    assert tonights_line(quotes) == 5.5                    # a tie of two lines: the lower
    assert tonights_line(quotes[:3]) == 6.5 and tonights_line(quotes, 7.0) == 7.0 and tonights_line([]) is None
    priced = [{"line": 24.5, "sportsbook": "dk", "over_price": -110, "under_price": -110},
              {"line": 24.5, "sportsbook": "fd", "over_price": 105, "under_price": -125},
              {"line": 25.5, "sportsbook": "mgm", "over_price": 150, "under_price": 120}]
    best = best_prices(priced, 24.5)
    assert (best["best_over_price"], best["best_over_book"], best["best_under_price"], best["best_under_book"],
            best["books_at_line"]) == (105, "fd", -110, "dk", 2)


def test_export_schema_files_are_current() -> None:
    """docs/exports/ holds exactly what the models generate (python -m nbaprops.queries.exports docs/exports)."""
    files = schema_files()
    assert set(files) == {f"{n}.schema.json" for n in DOCUMENTS}
    for name, text in files.items():
        assert (DOCS / name).read_text(encoding="utf-8") == text, f"{name} is stale: regenerate docs/exports"


def _registry(tmp_path: Path, spread: SpreadModel, beta: float | None) -> Path:
    system = tmp_path / "models" / "ms-x" / "catboost"
    system.mkdir(parents=True)
    (system / "params.json").write_text(json.dumps({"format_version": FORMAT_VERSION, "system_id": "catboost",
                                                    "model_version": "catboost-abc", "spread": spread.to_dict()}))
    if beta is not None:
        blend = MarketBlend()
        blend.fitted_, blend.beta_, blend.prob_source_ = True, beta, "market"
        blend.save(system.parent / "calibrators" / "catboost.market.json")
    return tmp_path / "models"


def test_model_distribution_recovers_the_model_mean_through_the_blend(tmp_path: Path) -> None:
    spread = SpreadModel(a=1.0, b=1.2, family="normal")
    models = _registry(tmp_path, spread, beta=0.25)
    own, line = 20.0, 22.5
    scale = float(spread.scale(np.array([own]))[0])
    row = {"system_id": "catboost", "model_version": "ms-x:catboost-abc", "is_fallback": False, "line": line,
           "predicted_points": line + 0.25 * (own - line), "predicted_scale": scale, "p_over": 0.47,
           "market_p_over": 0.47}
    d = model_distribution(models, row)
    assert d["model_mean"] == pytest.approx(own) and d["blended_mean"] == pytest.approx(21.875)
    expected = PointsDistribution(np.array([own]), np.array([scale])).p_over(np.array([line]))[0]
    assert d["model_p_over_raw"] == pytest.approx(expected) and d["model_p_over"] == pytest.approx(expected)
    assert d["blended_p_over"] == 0.47
    assert sum(d["model_pmf"]) == pytest.approx(1.0, abs=1e-6) and d["points"][0] == 0
    assert int(np.argmax(d["model_pmf"])) == 20 and int(np.argmax(d["blended_pmf"])) == 22
    with pytest.raises(ModelError, match="scale"):      # the files do not reproduce the stored row
        model_distribution(models, {**row, "predicted_scale": scale + 0.5})
    with pytest.raises(ModelError, match="not in the registry"):
        model_distribution(models, {**row, "model_version": "ms-gone:catboost-abc"})
    with pytest.raises(ModelError, match="not made by a model set"):
        model_distribution(models, {**row, "model_version": "fallback:points_avg_last_10", "is_fallback": True})


# ------------------------------------------------------------------------------------------ player page
def test_player_page_numbers(db: Path) -> None:
    with Project(Settings(db=db, model_dir=db.parent / "models")) as p:
        page = p.player_page(SHOOTER, D)
        assert page is not None
        assert (page.player_name, page.line, page.line_origin) == ("Test Shooter", 24.5, "prediction")
        # eight March games, newest first; tonight's 40 points never appear
        assert [g["value"] for g in page.games] == [29, 28, 27, 21, 22, 30, 25, 10, 30]
        assert [g["side"] for g in page.games][:4] == ["OVER", "OVER", "OVER", "UNDER"]
        rates = {h["window"]: (h["games"], h["over"], h["under"], h["hit_rate"]) for h in page.hit_rates}
        assert rates["last_5"] == (5, 3, 2, pytest.approx(0.6))
        assert rates["last_10"] == (9, 6, 3, pytest.approx(6 / 9))      # only nine games before the date
        assert rates["season"] == (8, 5, 3, pytest.approx(5 / 8))
        assert rates["opponent"] == (5, 3, 2, pytest.approx(0.6))     # 10, 30, 21, 28 this season + 30 last
        assert page.streak == {"side": "OVER", "games": 3}
        assert page.minutes["avg_5"] == pytest.approx((35 + 34 + 33 + 29 + 31) / 5)
        assert page.minutes["avg_season"] == pytest.approx(sum(m[4] for m in MARCH) / 8)
        # every book's latest pre-tip quote; the in-game 26.5 only in the history, flagged
        assert [(b["sportsbook"], b["line"]) for b in page.books] == [("betmgm", 25.5), ("draftkings", 24.5),
                                                                      ("fanduel", 24.5)]
        assert [(q["line"], q["pre_tip"]) for q in page.history] == [(25.5, True), (24.5, True), (24.5, True),
                                                                      (26.5, False)]
        # the report before tip-off, not the one after
        assert page.availability is not None and page.availability["status"] == "Questionable"
        assert [(t["player_name"], t["status"]) for t in page.teammates_out] == [("Mate, Team", "Out")]
        assert page.distribution is None and "not in the registry" in str(page.distribution_note)

        reb = p.player_page(SHOOTER, D, market="player_rebounds")
        assert reb is not None and (reb.line, reb.line_origin) == (6.5, "books")
        assert [g["value"] for g in reb.games][:3] == [9, 3, 7]
        assert reb.predictions == []
        assert reb.distribution_note == f"no catboost prediction of this market for this player on {D}"
        assert p.player_page(OTHER + 100, D) is None


def test_player_page_html(client: TestClient) -> None:
    r = client.get(f"/player/{SHOOTER}", params={"date": str(D)})
    assert r.status_code == 200
    body = r.text
    assert 'id="tonight-line" data-value="24.5"' in body
    assert 'id="streak" data-side="OVER" data-games="3"' in body
    assert 'id="availability-status">Questionable<' in body and "Mate, Team" in body
    assert body.count('<tr data-game-id=') == 9 and "2024-04-10</td>" not in body
    assert "in-game" in body and 'id="model-table"' in body and 'data-system="catboost"' in body
    assert '<script src="/static/plotly.min.js">' in body and 'id="chart-games"' in body
    # a player with no quote, no prediction and no game before the date: the page says so, no chart
    mate = client.get(f"/player/{MATE}", params={"date": str(D), "market": "player_assists"})
    assert mate.status_code == 200 and 'id="distribution-note"' in mate.text and "chart-games" not in mate.text
    assert "No book quoted this market before tip-off." in mate.text
    other = client.get(f"/player/{SHOOTER}", params={"date": str(D), "market": "player_double_double"})  # not in MARKETS
    assert other.status_code == 200 and "The box scores hold no stat for this market." in other.text
    assert client.get(f"/player/{SHOOTER}", params={"date": "2024-04-09"}).status_code == 404
    assert client.get(f"/player/{SHOOTER}").status_code == 422        # the date is required
    bad = client.get(f"/player/{SHOOTER}", params={"date": str(D), "market": "DROP TABLE"})
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]


# ------------------------------------------------------------------------------------------ board
def test_board_cards_filters_and_sorting(db: Path, client: TestClient) -> None:
    with Project(Settings(db=db, model_dir=db.parent / "models")) as p:
        _, day, board = p.board(D)
        assert day == D and board.total_cards == 1          # Team Mate and Other Guy have no quote
        card = board.cards[0]
        assert [m["market"] for m in card["markets"]] == ["player_points", "player_rebounds"]
        pts, reb = card["markets"]
        assert (pts["line"], pts["books"], pts["best_over_price"], pts["best_over_book"], pts["best_under_price"],
                pts["best_under_book"]) == (24.5, 3, 105, "fanduel", -110, "draftkings")
        assert pts["hit_5"]["hit_rate"] == pytest.approx(0.6) and pts["streak"] == {"side": "OVER", "games": 3}
        assert (pts["p_over"], pts["expected_value"], pts["recommendation"]) == (0.58, 0.107, "OVER")
        assert (reb["line"], reb["best_over_price"], reb["best_over_book"]) == (6.5, 110, "fanduel")
        assert reb["p_over"] is None and reb["recommendation"] is None
        assert p.board(D, min_ev=0.2)[2].cards == [] and len(p.board(D, min_ev=0.1)[2].cards) == 1
        assert p.board(D, recommendation="UNDER")[2].cards == [] and p.board(D, team="NYK")[2].cards == []
        only = p.board(D, market="player_rebounds")[2].cards
        assert [m["market"] for m in only[0]["markets"]] == ["player_rebounds"]
    r = client.get("/board", params={"date": str(D), "team": "BOS", "sort": "streak", "order": "desc"})
    assert r.status_code == 200
    assert f'<article class="pcard" data-player-id="{SHOOTER}"' in r.text
    assert 'class="c-pover" data-value="0.58"' in r.text and f'href="/player/{SHOOTER}?date={D}"' in r.text
    assert client.get("/board", params={"date": str(D), "min_ev": "5"}).text.count("board-empty") == 1
    only_reb = client.get("/board", params={"date": str(D), "market": "player_rebounds", "sort": "streak"})
    assert only_reb.status_code == 200 and 'data-market="player_points"' in only_reb.text   # the model line stays
    assert '<tr data-market="player_points">' not in only_reb.text
    assert client.get("/board", params={"sort": "nope"}).status_code == 422
    assert client.get("/board", params={"team": "bos"}).status_code == 422


# ------------------------------------------------------------------------------------------ exports
def _validate(doc: dict[str, Any], name: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((DOCS / f"{name}.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema)


def test_export_writes_valid_documents_and_replaces_them_atomically(db: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "exports"
    res = CliRunner().invoke(cli.app, ["--db", str(db), "export", "--date", str(D), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["rows"] == {"games": 1, "players": 3, "predictions": 1, "best_bets": 1,
                                              "streaks": 1}
    for name in DOCUMENTS:
        doc = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
        _validate(doc, name)
        assert doc["game_date"] == str(D) and doc["model_versions"] == {"catboost": "ms-test:catboost-0a1b2c"}
        assert doc["model_set"] == "ms-test" and doc["feature_version"] and doc["row_count"] == len(doc["rows"])
    bet = json.loads((out / "best_bets.json").read_text())["rows"][0]
    assert (bet["side"], bet["line"], bet["price"], bet["sportsbook"]) == ("OVER", 24.5, -110, "draftkings")
    streaks = json.loads((out / "streaks.json").read_text())["rows"]
    assert [(s["market"], s["side"], s["games"], s["line"]) for s in streaks] == [("player_points", "OVER", 3, 24.5)]
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["documents"]) == set(DOCUMENTS)

    # CSV: one header row of the row model's fields, then the rows
    res = CliRunner().invoke(cli.app, ["--db", str(db), "export", "--date", str(D), "--out", str(out),
                                       "--format", "csv"])
    assert res.exit_code == 0, res.output
    lines = (out / "predictions.csv").read_text().splitlines()
    assert lines[0].startswith("game_id,game_date,player_id,player_name") and len(lines) == 2

    # a re-run that fails half way leaves the previous files whole, and no temp file behind
    before = (out / "games.json").read_bytes()

    def broken(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with Project(Settings(db=db, model_dir=db.parent / "models")) as p, pytest.raises(OSError, match="disk full"):
        p.export(D, out)
    monkeypatch.undo()
    assert (out / "games.json").read_bytes() == before
    assert sorted(f.name for f in out.iterdir() if f.name.startswith(".")) == []


def test_exports_are_served_as_json(client: TestClient) -> None:
    for name in DOCUMENTS:
        r = client.get(f"/exports/{D}/{name}.json")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        _validate(r.json(), name)
    assert client.get(f"/exports/{D}/best_bets.json").json()["rows"][0]["player_id"] == SHOOTER
    assert client.get(f"/exports/{D}/secrets.json").status_code == 404
    assert client.get("/exports/2024-13-01/games.json").status_code == 422
