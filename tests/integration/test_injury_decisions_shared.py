"""Decisions from the official injury report, end to end on the real data in ../shared/data.

The session backfill loads the real report ``injuries/Injury-Report_2024-01-04_12PM.pdf`` (published
2024-01-04 12:30 PM ET). This module trains a model set strictly before 2024-01-04 on its warehouse copy,
predicts 2024-01-04 and grades it against the real box scores.

The shared data has no sportsbook line on 2024-01-04, so the recommendation rule (OUT -> no OVER/UNDER)
cannot be seen on real lines that day. A TEST FIXTURE inserts one 'closing' quote of 9.5 from the test
book ``zz_test_book`` for five players (two listed Out, one Doubtful, one Probable, one not listed) into
this module's private warehouse copy only: it is test scaffolding, never product data. The statuses, the
report time, the box scores and the models are real.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from nbaprops.api import create_app
from nbaprops.config import DEFAULT_BOOK_PRIORITY, Settings
from nbaprops.evaluate.grade import grade_dates
from nbaprops.ingest import injuries
from nbaprops.pipeline.builds import run_phases
from nbaprops.predict.coordinator import start_batch
from nbaprops.predict.recommend import LISTED_OUT, recommend
from nbaprops.warehouse import connect

pytestmark = pytest.mark.integration

DAY = dt.date(2024, 1, 4)
REPORT_TIME = dt.datetime(2024, 1, 4, 17, 30, tzinfo=dt.UTC)     # 12:30 PM ET, as printed on the report
TEST_BOOK = "zz_test_book"
COLLINS, GREEN = 1628380, 203110         # listed Out (SAS: ankle; GSW: league suspension); both did not play
BRANHAM = 1631103                        # listed Doubtful; did not play
JACKSON = 202704                         # listed Probable; played
JOKIC = 203999                           # not listed; played
QUOTED = [COLLINS, GREEN, BRANHAM, JACKSON, JOKIC]


@pytest.fixture(scope="module", autouse=True)
def _open_thresholds(opened_thresholds: None) -> None:
    """Recommend a side whenever the model leans (see conftest.open_thresholds): the OUT rule must have
    something to withhold."""


@dataclass
class Built:
    db: Path
    models: Path
    batch_id: str
    rows: pd.DataFrame

    def settings(self) -> Settings:
        return Settings(db=self.db, model_dir=self.models, book_priority=[TEST_BOOK, *DEFAULT_BOOK_PRIORITY])


def _add_test_quotes(con: duckdb.DuckDBPyConnection) -> int:
    """TEST FIXTURE: one 9.5 'closing' quote of the test book per QUOTED player (no real line that day)."""
    row = con.execute(f"""
        INSERT INTO prop_line_snapshots (snapshot_id, source, event_id, game_id, game_date, sportsbook,
            player_name, player_lookup, player_id, match_method, player_team, home_team, away_team, market, line,
            over_price, under_price, quoted_at, tipoff_at, minutes_before_tipoff, quote_basis, is_void, loaded_at)
        SELECT 'test-' || c.game_id || '-' || c.player_id, 'odds_api', 'test-' || c.game_id, c.game_id,
               c.game_date, '{TEST_BOOK}', 'player ' || c.player_id, 'player' || c.player_id, c.player_id, 'test',
               c.team_abbr, CASE WHEN c.is_home THEN c.team_abbr ELSE c.opponent_abbr END,
               CASE WHEN c.is_home THEN c.opponent_abbr ELSE c.team_abbr END, 'player_points', 9.5, -110, -110,
               NULL, NULL, NULL, 'closing', FALSE, now()
        FROM upcoming_player_game_context c
        WHERE c.game_date = ? AND list_contains(?, c.player_id)""", [DAY, QUOTED]).fetchone()
    assert row is not None
    return int(row[0])


def _rows(con: duckdb.DuckDBPyConnection, batch_id: str) -> pd.DataFrame:
    return con.execute("SELECT * FROM player_prop_predictions WHERE batch_id = ? ORDER BY player_id, system_id",
                       [batch_id]).df()


@pytest.fixture(scope="module")
def built(warehouse_copy: Path, nbaprops_json: Callable[[list[str]], Any]) -> Iterator[Built]:
    db = warehouse_copy
    models = db.parent / "models"
    with pytest.MonkeyPatch.context() as mp:
        for var in ("NBAPROPS_DB", "NBAPROPS_MODEL_DIR"):
            mp.delenv(var, raising=False)
        nbaprops_json(["--db", str(db), "train", "--until", str(DAY), "--json"])
    b = Built(db, models, "", pd.DataFrame())
    con = connect(db)
    try:
        assert _add_test_quotes(con) == len(QUOTED)
        run_phases(con, b.settings(), DAY, DAY)
        res = start_batch(con, b.settings(), DAY)
        b.batch_id, b.rows = res.batch_id, _rows(con, res.batch_id)
    finally:
        con.close()
    yield b


def _player(rows: pd.DataFrame, player_id: int) -> pd.DataFrame:
    mine = rows[rows["player_id"] == player_id]
    assert len(mine) >= 5, f"player {player_id} was not predicted by every system"
    return mine


def test_the_real_report_is_in_the_warehouse(built: Built) -> None:
    con = connect(built.db)
    try:
        got = con.execute("""SELECT count(*), count(player_id), min(report_time), max(report_time)
                             FROM injury_reports WHERE game_date = ?""", [DAY]).fetchone()
    finally:
        con.close()
    assert got == (15, 14, REPORT_TIME, REPORT_TIME)     # 14 players + Milwaukee not yet submitted


def test_out_players_get_no_over_or_under_and_the_reason_is_stored(built: Built) -> None:
    rows = built.rows
    for pid in (COLLINS, GREEN):
        mine = _player(rows, pid)
        assert (mine["injury_status"] == "OUT").all()
        assert not mine["recommendation"].isin(["OVER", "UNDER"]).any()
        assert (mine["recommendation"] == "PASS").all()             # they have a line: PASS, not NO_LINE
        assert (mine["decision_reason"] == LISTED_OUT).all()
        assert (mine["injury_report_time"] == pd.Timestamp(REPORT_TIME)).all()
    # the rule made a difference: the model's own recommendation (same stored numbers) takes a side
    out = rows[rows["player_id"].isin([COLLINS, GREEN])]
    model_rec, _, _ = recommend(out["predicted_points"], out["p_over"], out["line"].astype(float),
                                out["over_price"].astype(float), out["under_price"].astype(float),
                                min_edge=0.0, min_ev=-1.0)
    assert np.isin(model_rec, ["OVER", "UNDER"]).any()
    # nobody else is held back, and the as-of time is each game's tip-off (the report's printed time)
    others = rows[~rows["player_id"].isin([COLLINS, GREEN])]
    assert others["decision_reason"].isna().all()
    assert rows.loc[rows["player_id"].isin([JACKSON, JOKIC, GREEN]), "injury_as_of"].eq(
        pd.Timestamp("2024-01-05 03:00", tz="UTC")).all()                          # DEN@GSW 10:00 PM ET
    assert rows.loc[rows["player_id"].isin([COLLINS, BRANHAM]), "injury_as_of"].eq(
        pd.Timestamp("2024-01-05 00:30", tz="UTC")).all()                          # MIL@SAS 07:30 PM ET


def test_other_statuses_are_stored_and_flagged_not_withheld(built: Built) -> None:
    rows = built.rows
    assert (_player(rows, BRANHAM)["injury_status"] == "DOUBTFUL").all()
    assert (_player(rows, JACKSON)["injury_status"] == "PROBABLE").all()
    jokic = _player(rows, JOKIC)
    assert jokic["injury_status"].isna().all() and jokic["injury_report_time"].notna().all()   # not listed
    assert rows["injury_report_time"].notna().all()        # the report covers both games of the date
    settings = built.settings()
    with TestClient(create_app(settings)) as client:
        r = client.get("/predictions", params={"date": str(DAY), "limit": 1000})
        assert r.status_code == 200, r.text
        items = {(i["player_id"], i["system_id"]): i for i in r.json()["items"]}
        page = client.get("/slate", params={"date": str(DAY), "system": "all"})
        assert page.status_code == 200, page.text
    branham = [i for (pid, _), i in items.items() if pid == BRANHAM]
    assert branham and all(i["injury_status"] == "DOUBTFUL" and i["injury_flag"] for i in branham)
    green = [i for (pid, _), i in items.items() if pid == GREEN]
    assert all(i["decision_reason"] == LISTED_OUT and not i["injury_flag"] for i in green)
    assert all(not i["injury_flag"] for (pid, _), i in items.items() if pid in (JOKIC, JACKSON))
    assert f'data-player-id="{BRANHAM}"' in page.text and 'data-injury-flag="DOUBTFUL"' in page.text
    assert "listed OUT on the injury report of 2024-01-04 12:30 PM ET" in page.text


def test_a_later_report_leaves_the_predictions_unchanged(built: Built, tmp_path: Path) -> None:
    """Leakage: a report published after both tip-offs (11 PM ET) listing a not-listed player Out and an
    Out player Available changes nothing a prediction of that date reads, whenever it is re-run."""
    late = tmp_path / "late_report.csv"
    with late.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(injuries.ARCHIVE_COLUMNS)
        w.writerow(["2024-01-04T23:00:00-05:00", "2024-01-04", "10:00 (ET)", "DEN@GSW", "Denver Nuggets",
                    "Jokic, Nikola", "Out", "Injury/Illness - Test"])
        w.writerow(["2024-01-04T23:00:00-05:00", "2024-01-04", "07:30 (ET)", "MIL@SAS", "San Antonio Spurs",
                    "Collins, Zach", "Available", ""])
    scratch = tmp_path / "wh" / built.db.name
    scratch.parent.mkdir()
    con = connect(built.db)
    try:
        con.execute("CHECKPOINT")
    finally:
        con.close()
    scratch.write_bytes(built.db.read_bytes())
    settings = Settings(db=scratch, model_dir=built.models, book_priority=[TEST_BOOK, *DEFAULT_BOOK_PRIORITY])
    con = connect(scratch)
    try:
        assert injuries.load_injury_archive(con, late)["loaded"] == 2
        res = start_batch(con, settings, DAY)
        again = _rows(con, res.batch_id)
    finally:
        con.close()
    cols = ["player_id", "system_id", "recommendation", "injury_status", "injury_report_time", "injury_as_of",
            "decision_reason", "predicted_points"]
    pd.testing.assert_frame_equal(again[cols].reset_index(drop=True), built.rows[cols].reset_index(drop=True))


def test_a_dnp_is_graded_void_with_what_the_report_said(built: Built) -> None:
    con = connect(built.db)
    try:
        n = grade_dates(con, DAY, DAY)
        grades = con.execute("""SELECT g.*, p.injury_status FROM prediction_grades g
                                JOIN player_prop_predictions p USING (game_id, player_id, system_id, line_key)
                                WHERE g.game_date = ?""", [DAY]).df()
        played = {int(p) for (p,) in con.execute(
            "SELECT player_id FROM player_boxscores WHERE game_date = ? AND minutes > 0", [DAY]).fetchall()}
    finally:
        con.close()
    assert n == len(built.rows) == len(grades)
    by = grades.set_index(["player_id", "system_id"])
    for pid, reason in ((COLLINS, "dnp_listed_out"), (GREEN, "dnp_listed_out"), (BRANHAM, "dnp_listed_doubtful")):
        assert pid not in played
        mine = grades[grades["player_id"] == pid]
        assert mine["is_void"].all() and (mine["void_reason"] == reason).all()
        assert not mine["result"].isin(["WIN", "LOSS"]).any() and mine["correct"].isna().all()
    # a void bet of a doubtful player (the rule keeps their recommendation) is VOID, not a win or loss
    branham_bets = grades[(grades["player_id"] == BRANHAM) & grades["recommendation"].isin(["OVER", "UNDER"])]
    assert (branham_bets["result"] == "VOID").all()
    # every played row has no void reason; every void row has one, consistent with the stored status
    assert grades.loc[~grades["is_void"], "void_reason"].isna().all()
    void = grades[grades["is_void"]]
    expected = np.where(void["injury_status"].notna(),
                        "dnp_listed_" + void["injury_status"].fillna("").str.lower(), "dnp_not_listed")
    assert (void["void_reason"].to_numpy() == expected).all()
    assert (void["void_reason"] == "dnp_not_listed").any()          # a DNP the report did not list
    assert by.loc[(JOKIC, "catboost"), "void_reason"] is None or pd.isna(by.loc[(JOKIC, "catboost"), "void_reason"])


def test_a_csv_archive_is_imported_by_the_backfill_cli(warehouse: Path, tmp_path: Path,
                                                       nbaprops_json: Callable[[list[str]], Any]) -> None:
    """`nbaprops backfill --data DIR` on an existing warehouse picks up an archive of the documented format
    (docs/injury-reports.md) by its columns; an unknown team's line is quarantined, not loaded."""
    db = tmp_path / "wh" / warehouse.name
    db.parent.mkdir()
    con = connect(warehouse)
    try:
        con.execute("CHECKPOINT")
    finally:
        con.close()
    db.write_bytes(warehouse.read_bytes())
    data = tmp_path / "archives"
    data.mkdir()
    archive = data / "reports_2024-01-04.csv"
    with archive.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(injuries.ARCHIVE_COLUMNS)
        w.writerow(["2024-01-04T11:00:00-05:00", "2024-01-04", "07:30 (ET)", "MIL@SAS", "San Antonio Spurs",
                    "Collins, Zach", "Out", "Injury/Illness - Right Ankle; Sprain"])
        w.writerow(["2024-01-04T11:00:00-05:00", "2024-01-04", "07:30 (ET)", "MIL@SAS", "MIL", "",
                    "NOT YET SUBMITTED", ""])
        w.writerow(["2024-01-04T11:00:00-05:00", "2024-01-04", "10:00 (ET)", "DEN@GSW", "Seattle SuperSonics",
                    "Kemp, Shawn", "Out", ""])
    report = nbaprops_json(["--db", str(db), "backfill", "--data", str(data), "--from", str(DAY), "--to", str(DAY),
                            "--json"])
    assert report["loaded"]["injury_reports"] == 2
    assert report["quarantined"][str(archive)]["rows"] == 1
    con = connect(db)
    try:
        rows = con.execute("""SELECT team_abbr, player_id, status FROM injury_reports WHERE source_file = ?
                              ORDER BY file_row""", [str(archive)]).fetchall()
        reason = con.execute("SELECT reason FROM quarantine_rows WHERE file = ?", [str(archive)]).fetchall()
        times = con.execute("SELECT DISTINCT report_time FROM injury_reports WHERE game_date = ? ORDER BY 1",
                            [DAY]).fetchall()
    finally:
        con.close()
    assert rows == [("SAS", COLLINS, "Out"), ("MIL", None, "NOT_YET_SUBMITTED")]
    assert reason == [("unknown team 'Seattle SuperSonics'",)]
    assert [t for (t,) in times] == [dt.datetime(2024, 1, 4, 16, 0, tzinfo=dt.UTC), REPORT_TIME]  # beside the PDF's
