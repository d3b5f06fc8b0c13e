"""ingest.injuries + warehouse.injuries: landing injury reports and reading them point in time.

The real report (``../shared/data/injuries/Injury-Report_2024-01-04_12PM.pdf``) and the nba_api reference
tables are read in place (skipped when ../shared is absent); everything else is built in tmp_path: tiny
PDFs (``tests/injury_pdf.py``) and CSV archives in the documented format (docs/injury-reports.md).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from injury_pdf import make_pdf, report_pdf
from nbaprops.errors import InputError, MissingColumnsError, UnreadableFileError
from nbaprops.ingest import injuries, reference
from nbaprops.ingest.sources.base import RawPayload
from nbaprops.ingest.sources.files import classify
from nbaprops.ingest.sources.injury_report import EASTERN, NOT_YET_SUBMITTED, SOURCE
from nbaprops.pipeline.backfill import BackfillReport, load_files
from nbaprops.warehouse import connect
from nbaprops.warehouse.injuries import REPORT_STATUS_COLUMNS, latest_report_status, latest_report_time

REPORT_NAME = "Injury-Report_2024-01-04_12PM.pdf"
T1 = dt.datetime(2024, 1, 4, 17, 30, tzinfo=dt.UTC)    # 12:30 PM ET, the real report's printed time
JAN4, JAN5 = dt.date(2024, 1, 4), dt.date(2024, 1, 5)
PLAYER_IDS = {"Barlow, Dominick": 1631230, "Bassey, Charles": 1629646, "Branham, Malaki": 1631103,
              "Cissoko, Sidy": 1631321, "Collins, Zach": 1628380, "Diakite, Mamadi": 1629603,
              "Duke Jr., David": 1630561, "McDermott, Doug": 203926, "Cancar, Vlatko": 1628427,
              "Jackson, Reggie": 202704, "Pickett, Jalen": 1629618, "Tyson, Hunter": 1641816,
              "Green, Draymond": 203110, "Payton II, Gary": 1627780}


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    return connect(":memory:")


@pytest.fixture
def real(shared_data: Path) -> Path:
    path = shared_data / "injuries" / REPORT_NAME
    if not path.is_file():
        pytest.skip(f"needs the real injury report at {path}")
    return path


@pytest.fixture
def reference_con(con: duckdb.DuckDBPyConnection, shared_data: Path) -> duckdb.DuckDBPyConnection:
    reference.load_teams(con, shared_data / "reference" / "nba_teams.csv")
    reference.load_players(con, shared_data / "reference" / "nba_players.csv")
    return con


def write_archive(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(injuries.ARCHIVE_COLUMNS)
        w.writerows(rows)
    return path


def table(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute("""SELECT report_time, game_date, game_time, matchup, team_abbr, player_name, player_lookup,
                                 player_id, match_method, status, reason, source_file, file_row
                          FROM injury_reports ORDER BY report_time, file_row""").fetchall()


def quarantined(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute("""SELECT file, file_row, field, reason FROM quarantine_rows
                          WHERE source = ? ORDER BY file, file_row""", [SOURCE]).fetchall()


# --------------------------------------------------------------------------- the real report


def test_real_report_lands_with_player_ids(reference_con: duckdb.DuckDBPyConnection, real: Path) -> None:
    con = reference_con
    stats = injuries.load_injury_report(con, real)
    assert stats == {"rows": 43, "loaded": 43, "quarantined": 0, "reports": 1, "players": 14,
                     "not_yet_submitted": 29, "matched": 14, "unmatched": 0}
    rows = con.execute("""SELECT player_name, player_id, player_lookup, team_abbr, status FROM injury_reports
                          WHERE player_name IS NOT NULL ORDER BY file_row""").fetchall()
    assert {r[0]: r[1] for r in rows} == PLAYER_IDS
    assert ("Payton II, Gary", 1627780, "garypaytonii", "GSW", "Out") in rows
    assert con.execute("SELECT DISTINCT report_time, source_file FROM injury_reports").fetchall() == [
        (T1, str(real))]
    nys = con.execute("""SELECT game_date, team_abbr FROM injury_reports WHERE status = ?
                         ORDER BY file_row""", [NOT_YET_SUBMITTED]).fetchall()
    assert nys[0] == (JAN4, "MIL") and len(nys) == 29 and {d for d, _ in nys[1:]} == {JAN5}
    assert quarantined(con) == []


def test_loading_the_same_report_again_replaces_it(reference_con: duckdb.DuckDBPyConnection, real: Path) -> None:
    con = reference_con
    injuries.load_injury_report(con, real)
    first = table(con)
    injuries.load_injury_report(con, real)
    injuries.load_injury_report(con, real.read_bytes(), name=str(real))
    assert table(con) == first and len(first) == 43
    # only backfill records report files
    assert con.execute("SELECT count(*) FROM raw_files WHERE kind = ?", [injuries.PDF_KIND]).fetchone() == (0,)


def test_same_report_from_an_archive_replaces_the_pdf_rows(reference_con: duckdb.DuckDBPyConnection, real: Path,
                                                           tmp_path: Path) -> None:
    con = reference_con
    injuries.load_injury_report(con, real)
    archive = write_archive(tmp_path / "archive.csv", [
        ["2024-01-04T12:30:00-05:00", "2024-01-04", "07:30 (ET)", "MIL@SAS", "Milwaukee Bucks", "Lillard, Damian",
         "Questionable", "Injury/Illness - Left Ankle; Sprain"]])
    assert injuries.load_injury_archive(con, archive)["loaded"] == 1
    assert con.execute("SELECT count(*), min(source_file) FROM injury_reports").fetchone() == (1, str(archive))


def test_without_team_tables_the_full_names_resolve(con: duckdb.DuckDBPyConnection, real: Path) -> None:
    stats = injuries.load_injury_report(con, real)
    assert (stats["loaded"], stats["quarantined"], stats["unmatched"]) == (43, 0, 14)  # no players table rows
    assert con.execute("SELECT count(DISTINCT team_abbr) FROM injury_reports").fetchone() == (30,)


# --------------------------------------------------------------------------- refused and quarantined


def test_malformed_pdfs_are_refused_naming_the_file_and_write_nothing(con: duckdb.DuckDBPyConnection,
                                                                      tmp_path: Path) -> None:
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(UnreadableFileError, match=r"junk\.pdf: not a PDF"):
        injuries.load_injury_report(con, junk)
    no_table = tmp_path / "Injury-Report_2024-01-04_12PM.pdf"
    no_table.write_bytes(make_pdf([[(40, 40, "Game schedule"), (40, 70, "Nothing else")]]))
    with pytest.raises(InputError, match=r"Injury-Report_2024-01-04_12PM\.pdf: no injury report table"):
        injuries.load_injury_report(con, no_table)
    assert con.execute("SELECT count(*) FROM injury_reports").fetchone() == (0,)
    assert quarantined(con) == []


def test_unknown_team_and_unreadable_rows_are_quarantined(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    reference.load_teams(con, _teams_csv(tmp_path))
    pdf = tmp_path / "Injury-Report_2024-01-04_05PM.pdf"
    pdf.write_bytes(report_pdf([
        {"game_date": "01/04/2024", "game_time": "07:30 (ET)", "matchup": "SEA@BOS", "team": "Seattle SuperSonics",
         "player_name": "Kemp, Shawn", "status": "Out", "reason": "Injury/Illness - Left Knee; Sprain"},
        {"team": "Boston Celtics", "player_name": "Tatum, Jayson", "status": "Questionable", "reason": "Rest"},
        {"team": "New York Knicks", "player_name": "Brunson, Jalen", "status": "Out", "reason": "Rest"},
        {"team": "Boston Celtics", "player_name": "Brown, Jaylen", "status": "Hurt", "reason": "Rest"},
    ], title="Injury Report: 01/04/24 05:00 PM"))
    stats = injuries.load_injury_report(con, pdf)
    assert (stats["loaded"], stats["quarantined"]) == (1, 3)
    assert con.execute("SELECT team_abbr, player_name, status, report_time FROM injury_reports").fetchall() == [
        ("BOS", "Tatum, Jayson", "Questionable", dt.datetime(2024, 1, 4, 22, 0, tzinfo=dt.UTC))]
    rows = quarantined(con)
    assert [(r[0], r[1], r[2]) for r in rows] == [(str(pdf), 1, "team"), (str(pdf), 3, "team"),
                                                 (str(pdf), 4, "status")]
    assert "unknown team 'Seattle SuperSonics'" in str(rows[0][3])
    assert "is not in the matchup SEA@BOS" in str(rows[1][3])
    raw = json.loads(con.execute("SELECT raw FROM quarantine_rows WHERE file_row = 1").fetchone()[0])  # type: ignore[index]
    assert raw["player_name"] == "Kemp, Shawn" and raw["team"] == "Seattle SuperSonics"
    # a re-load replaces the file's quarantine rows instead of adding to them
    injuries.load_injury_report(con, pdf)
    assert len(quarantined(con)) == 3


def _teams_csv(tmp_path: Path) -> Path:
    path = tmp_path / "teams.csv"
    path.write_text("team_id,abbreviation,nickname,year_founded,city,full_name\n"
                    "1610612738,BOS,Celtics,1946,Boston,Boston Celtics\n"
                    "1610612752,NYK,Knicks,1946,New York,New York Knicks\n", encoding="utf-8")
    return path


def test_archive_rows_are_checked_line_by_line(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "injury_archive.csv", [
        ["2024-01-04T17:00:00", "2024-01-04", "07:30 (ET)", "NYK@BOS", "Boston Celtics", "Tatum, Jayson", "Out", "Rest"],
        ["2024-01-04T17:00:00", "2024-01-04", "07:30 (ET)", "NYK@BOS", "NYK", "", "NOT YET SUBMITTED", ""],
        ["yesterday", "2024-01-04", "", "NYK@BOS", "BOS", "Brown, Jaylen", "Out", ""],
        ["2024-01-04T17:00:00", "Jan 4", "", "NYK@BOS", "BOS", "Brown, Jaylen", "Out", ""],
        ["2024-01-04T17:00:00", "2024-01-04", "", "NYK@BOS", "Seattle SuperSonics", "Kemp, Shawn", "Out", ""],
        ["2024-01-04T17:00:00", "2024-01-04", "", "NYK@BOS", "BOS", "Brown, Jaylen", "Injured", ""],
        ["2024-01-04T17:00:00", "2024-01-04", "", "NYK@BOS", "BOS", "", "Out", "Rest"],
        ["2024-01-04T17:00:00", "2024-01-04", "", "NYK@BOS", "Boston Celtics", "Jayson Tatum", "Out", "Rest"],
    ])
    stats = injuries.load_injury_archive(con, archive)
    assert (stats["rows"], stats["loaded"], stats["quarantined"], stats["reports"]) == (8, 2, 6, 1)
    assert con.execute("SELECT team_abbr, player_name, status, report_time FROM injury_reports ORDER BY file_row"
                       ).fetchall() == [
        ("BOS", "Tatum, Jayson", "Out", dt.datetime(2024, 1, 4, 22, 0, tzinfo=dt.UTC)),   # naive = US/Eastern
        ("NYK", None, NOT_YET_SUBMITTED, dt.datetime(2024, 1, 4, 22, 0, tzinfo=dt.UTC))]
    assert [(r[1], r[2]) for r in quarantined(con)] == [
        (4, "report_time"), (5, "game_date"), (6, "team"), (7, "status"), (8, "player_name"), (9, "player_name")]
    assert "duplicate" in str(quarantined(con)[-1][3])


def test_a_file_of_bad_rows_never_erases_a_report(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    injuries.load_injury_archive(con, write_archive(tmp_path / "good.csv", EARLY))
    bad = write_archive(tmp_path / "bad.csv", [[*EARLY[0][:4], "Seattle SuperSonics", "Kemp, Shawn", "Out", ""]])
    assert injuries.load_injury_archive(con, bad)["quarantined"] == 1
    assert con.execute("SELECT count(*) FROM injury_reports").fetchone() == (3,)


def test_archive_is_recognised_by_its_columns_and_missing_ones_are_named(con: duckdb.DuckDBPyConnection,
                                                                        tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "whatever_name.csv", [])
    assert classify(con, archive).kind == "injury_reports"
    short = tmp_path / "short.csv"
    short.write_text("report_time,game_date,game_time,matchup,team,player_name,status\n", encoding="utf-8")
    assert classify(con, short).kind is None
    with pytest.raises(MissingColumnsError, match=r"short\.csv.*missing columns \['reason'\]"):
        injuries.load_injury_archive(con, short)


# --------------------------------------------------------------------------- point in time


def _report(report_time: str, rows: list[tuple[str, str, str, str]]) -> list[list[str]]:
    """(team, player, status, reason) rows of one report of MIL@SAS on 2024-01-04."""
    return [[report_time, "2024-01-04", "07:30 (ET)", "MIL@SAS", team, player, status, reason]
            for team, player, status, reason in rows]


EARLY = _report("2024-01-04T12:30:00-05:00", [
    ("Milwaukee Bucks", "", NOT_YET_SUBMITTED, ""),
    ("San Antonio Spurs", "Barlow, Dominick", "Questionable", "G League - Two-Way"),
    ("San Antonio Spurs", "Collins, Zach", "Out", "Injury/Illness - Right Ankle; Sprain")])
LATE = _report("2024-01-04T17:30:00-05:00", [
    ("Milwaukee Bucks", "Lillard, Damian", "Probable", "Injury/Illness - Left Calf; Tightness"),
    ("San Antonio Spurs", "Collins, Zach", "Out", "Injury/Illness - Right Ankle; Sprain")])


def test_a_later_report_does_not_change_what_an_earlier_as_of_sees(con: duckdb.DuckDBPyConnection,
                                                                   tmp_path: Path) -> None:
    injuries.load_injury_archive(con, write_archive(tmp_path / "early.csv", EARLY))
    before = dt.datetime(2024, 1, 4, 12, 29, tzinfo=EASTERN)
    at_one = dt.datetime(2024, 1, 4, 13, 0, tzinfo=EASTERN)
    evening = dt.datetime(2024, 1, 4, 18, 0, tzinfo=EASTERN)

    assert latest_report_status(con, before, JAN4).empty                 # no report yet: nothing, not "available"
    assert latest_report_time(con, before, JAN4) is None
    seen = latest_report_status(con, at_one, JAN4)
    assert list(seen.columns) == list(REPORT_STATUS_COLUMNS)
    assert [(r.team_abbr, r.player_name, r.status) for r in seen.itertuples()] == [
        ("MIL", None, NOT_YET_SUBMITTED), ("SAS", "Barlow, Dominick", "Questionable"),
        ("SAS", "Collins, Zach", "Out")]

    injuries.load_injury_archive(con, write_archive(tmp_path / "late.csv", LATE))
    assert latest_report_status(con, at_one, JAN4).equals(seen)
    assert latest_report_time(con, at_one, JAN4) == dt.datetime(2024, 1, 4, 17, 30, tzinfo=dt.UTC)
    late = latest_report_status(con, evening, JAN4)
    # the later report is taken whole: Barlow is no longer listed, Milwaukee has submitted
    assert [(r.team_abbr, r.player_name, r.status) for r in late.itertuples()] == [
        ("MIL", "Lillard, Damian", "Probable"), ("SAS", "Collins, Zach", "Out")]
    assert set(late["report_time"]) == {dt.datetime(2024, 1, 4, 22, 30, tzinfo=dt.UTC)}
    assert latest_report_status(con, evening, JAN5).empty               # a date no report lists
    with pytest.raises(InputError, match="timezone-aware"):
        latest_report_status(con, dt.datetime(2024, 1, 4, 18, 0), JAN4)


def test_point_in_time_on_the_real_report(con: duckdb.DuckDBPyConnection, real: Path) -> None:
    injuries.load_injury_report(con, real)
    # published 12:30 PM ET although its file name says 12PM: not visible at 12:15
    assert latest_report_status(con, dt.datetime(2024, 1, 4, 12, 15, tzinfo=EASTERN), JAN4).empty
    jan4 = latest_report_status(con, T1, JAN4)
    assert len(jan4) == 15 and jan4["player_name"].notna().sum() == 14
    jan5 = latest_report_status(con, T1, JAN5)
    assert len(jan5) == 28 and set(jan5["status"]) == {NOT_YET_SUBMITTED} and jan5["player_name"].isna().all()


# --------------------------------------------------------------------------- fetched payloads and backfill


def test_a_fetched_payload_lands_with_its_rows(con: duckdb.DuckDBPyConnection) -> None:
    pdf = report_pdf([{"game_date": "01/04/2024", "game_time": "07:30 (ET)", "matchup": "MIL@SAS",
                       "team": "Milwaukee Bucks", "reason": "NOT YET SUBMITTED"}])
    payload = RawPayload(source=SOURCE, endpoint="injury_report",
                         params={"report_time": "2024-01-04T12:00:00-05:00",
                                 "file": "Injury-Report_2024-01-04_12PM.pdf", "body_encoding": "base64"},
                         fetched_at=dt.datetime(2024, 1, 4, 17, 31, tzinfo=dt.UTC), status_code=200,
                         body=base64.b64encode(pdf).decode())
    assert injuries.load_injury_payload(con, payload)["loaded"] == 1
    assert injuries.load_injury_payload(con, payload)["loaded"] == 1
    assert con.execute("SELECT count(*) FROM raw_payloads WHERE source = ?", [SOURCE]).fetchone() == (1,)
    assert con.execute("SELECT source_file, report_time FROM injury_reports").fetchall() == [
        ("https://ak-static.cms.nba.com/referee/injury/Injury-Report_2024-01-04_12PM.pdf", T1)]
    bad = RawPayload(source=SOURCE, endpoint="injury_report", params=payload.params,
                     fetched_at=payload.fetched_at, status_code=200, body=base64.b64encode(b"<html/>").decode())
    with pytest.raises(UnreadableFileError, match="not a PDF"):
        injuries.load_injury_payload(con, bad)
    assert con.execute("SELECT count(*) FROM raw_payloads").fetchone() == (1,)


def test_backfill_loads_pdfs_and_archives_and_reports_bad_files(con: duckdb.DuckDBPyConnection, real: Path,
                                                                tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "injuries").mkdir(parents=True)
    (data / "injuries" / REPORT_NAME).symlink_to(real)          # read in place, never copied
    (data / "reference").mkdir()
    for name in ("nba_teams.csv", "nba_players.csv"):
        (data / "reference" / name).symlink_to(real.parent.parent / "reference" / name)
    (data / "injuries" / "Injury-Report_2024-01-04_05PM.pdf").write_bytes(b"<html>403 Forbidden</html>")
    write_archive(data / "archive.csv", LATE)

    report = BackfillReport()
    load_files(con, data, report)
    assert report.loaded["injury_reports"] == 2 + 43            # the archive's lines read + the PDF's rows
    assert [Path(f).name for f, _ in report.skipped] == ["Injury-Report_2024-01-04_05PM.pdf"]
    assert "not a PDF" in report.skipped[0][1]
    assert con.execute("SELECT count(*), count(DISTINCT report_time) FROM injury_reports").fetchone() == (45, 2)
    assert con.execute("SELECT count(player_id) FROM injury_reports WHERE source_file LIKE '%.pdf'").fetchone() == (14,)
    assert con.execute("""SELECT file_row, reason FROM quarantine_rows WHERE source = ? AND file LIKE '%05PM.pdf'""",
                       [SOURCE]).fetchall()[0][0] is None
    assert con.execute("SELECT kind FROM raw_files WHERE file_path LIKE '%12PM.pdf'").fetchall() == [
        (injuries.PDF_KIND,)]
    first = table(con)

    again = BackfillReport()
    load_files(con, data, again)
    assert table(con) == first
    assert len(quarantined(con)) == 1
    assert again.loaded == report.loaded and again.skipped == report.skipped
    pdfs = injuries.load_injury_pdfs(con, data)
    assert (pdfs.unchanged, pdfs.rows, len(pdfs.skipped)) == (1, 43, 1)
    loaded_at = con.execute("SELECT max(loaded_at) FROM injury_reports WHERE source_file LIKE '%.pdf'").fetchone()
    assert injuries.load_injury_pdfs(con, data, reload=True).unchanged == 0
    assert table(con) == first
    assert con.execute("SELECT max(loaded_at) FROM injury_reports WHERE source_file LIKE '%.pdf'").fetchone() != loaded_at
