"""Fetching the latest official injury report on a schedule: ``ingest.injuries.fetch_latest_report``,
``nbaprops injuries`` (Project.fetch_injury_report) and the live ingest of the daily run.

The CDN is mocked with respx (tests/unit/test_injury_report.py does the same); the PDFs are the tiny
hand-built ones of tests/injury_pdf.py, or the real report read in place from ../shared/data.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest
import respx
from typer.testing import CliRunner

from injury_pdf import report_pdf
from nbaprops import cli
from nbaprops.errors import InputError, MissingReportError
from nbaprops.ingest.injuries import fetch_latest_report
from nbaprops.ingest.sources.base import SnapshotStore
from nbaprops.ingest.sources.injury_report import (
    BASE_URL,
    EASTERN,
    SOURCE,
    InjuryReportLive,
    InjuryReportSnapshot,
    report_slots,
)
from nbaprops.warehouse import connect

PDF_3PM = report_pdf([{"game_date": "01/04/2024", "game_time": "07:30 (ET)", "matchup": "MIL@SAS",
                       "team": "San Antonio Spurs", "player_name": "Collins, Zach", "status": "Out",
                       "reason": "Injury/Illness - Right Ankle; Sprain"},
                      {"team": "Milwaukee Bucks", "reason": "NOT YET SUBMITTED"}],
                     title="Injury Report: 01/04/24 03:00 PM")


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    return connect(":memory:")


@pytest.fixture
def cdn() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def live() -> InjuryReportLive:
    return InjuryReportLive(client=httpx.Client(), now=lambda: dt.datetime(2024, 1, 4, 21, 0, tzinfo=dt.UTC))


def test_candidate_times_follow_the_url_pattern_of_the_date() -> None:
    old = report_slots(dt.datetime(2024, 1, 4, 16, 40, tzinfo=EASTERN), 3)
    assert [t.strftime("%Y-%m-%d %H:%M") for t in old] == ["2024-01-04 16:00", "2024-01-04 15:00", "2024-01-04 14:00"]
    new = report_slots(dt.datetime(2025, 12, 23, 0, 20, tzinfo=EASTERN), 3)
    # 2025-12-23 uses quarter hours; stepping back into 2025-12-22 uses the hourly names again
    assert [t.strftime("%Y-%m-%d %H:%M") for t in new] == ["2025-12-23 00:15", "2025-12-23 00:00", "2025-12-22 23:00"]
    assert report_slots(dt.datetime(2024, 1, 4, 21, 0, tzinfo=dt.UTC), 1)[0] == dt.datetime(
        2024, 1, 4, 16, 0, tzinfo=EASTERN)                          # an aware time is read on the league's clock


def test_the_latest_published_report_is_fetched_and_landed(cdn: respx.MockRouter,
                                                            con: duckdb.DuckDBPyConnection) -> None:
    four = cdn.get(BASE_URL + "Injury-Report_2024-01-04_04PM.pdf").mock(return_value=httpx.Response(403))
    three = cdn.get(BASE_URL + "Injury-Report_2024-01-04_03PM.pdf").mock(
        return_value=httpx.Response(200, content=PDF_3PM))
    two = cdn.get(BASE_URL + "Injury-Report_2024-01-04_02PM.pdf").mock(return_value=httpx.Response(200, content=PDF_3PM))
    stats = fetch_latest_report(con, live(), dt.datetime(2024, 1, 4, 16, 40, tzinfo=EASTERN))
    assert (four.call_count, three.call_count, two.call_count) == (1, 1, 0)   # newest first, stops at the first
    assert stats["probes"] == 2 and stats["url"] == BASE_URL + "Injury-Report_2024-01-04_03PM.pdf"
    assert stats["report_time"] == "2024-01-04T20:00:00+00:00"
    assert (stats["players"], stats["not_yet_submitted"]) == (1, 1)
    assert con.execute("""SELECT team_abbr, player_name, status FROM injury_reports ORDER BY file_row""").fetchall() == [
        ("SAS", "Collins, Zach", "Out"), ("MIL", None, "NOT_YET_SUBMITTED")]
    assert con.execute("SELECT count(*) FROM raw_payloads WHERE source = ?", [SOURCE]).fetchone() == (1,)
    # fetched again (the next scheduled run): the same report replaces its rows, nothing doubles
    fetch_latest_report(con, live(), dt.datetime(2024, 1, 4, 16, 50, tzinfo=EASTERN))
    assert con.execute("SELECT count(*) FROM injury_reports").fetchone() == (2,)


def test_no_report_in_the_window_is_a_missing_report_not_an_empty_one(cdn: respx.MockRouter,
                                                                       con: duckdb.DuckDBPyConnection) -> None:
    cdn.get(url__startswith=BASE_URL).mock(return_value=httpx.Response(403))
    with pytest.raises(MissingReportError, match=r"no injury report published between 2024-01-04 14:00 and "
                                                 r"2024-01-04 16:00 ET \(3 candidate times tried\)"):
        fetch_latest_report(con, live(), dt.datetime(2024, 1, 4, 16, 40, tzinfo=EASTERN), max_probes=3)
    assert con.execute("SELECT count(*) FROM injury_reports").fetchone() == (0,)


def test_a_malformed_fetched_report_is_quarantined_with_a_clear_message(cdn: respx.MockRouter,
                                                                         con: duckdb.DuckDBPyConnection) -> None:
    url = BASE_URL + "Injury-Report_2024-01-04_04PM.pdf"
    cdn.get(url).mock(return_value=httpx.Response(200, content=b"%PDF-1.4\n garbage that is no PDF at all"))
    with pytest.raises(InputError, match=r"Injury-Report_2024-01-04_04PM\.pdf was not loaded and is quarantined: "
                                         r".*not a readable PDF"):
        fetch_latest_report(con, live(), dt.datetime(2024, 1, 4, 16, 0, tzinfo=EASTERN))
    rows = con.execute("SELECT source, file, file_row, reason, raw FROM quarantine_rows").fetchall()
    assert len(rows) == 1 and rows[0][:3] == (SOURCE, url, None)
    assert "report not loaded" in rows[0][3] and "not a readable PDF" in rows[0][3]
    assert json.loads(rows[0][4])["params"]["file"] == "Injury-Report_2024-01-04_04PM.pdf"
    assert con.execute("SELECT count(*) FROM raw_payloads").fetchone() == (1,)   # kept to inspect
    assert con.execute("SELECT count(*) FROM injury_reports").fetchone() == (0,)


def test_an_unknown_team_in_a_fetched_report_is_quarantined(cdn: respx.MockRouter,
                                                             con: duckdb.DuckDBPyConnection) -> None:
    pdf = report_pdf([{"game_date": "01/04/2024", "game_time": "07:30 (ET)", "matchup": "SEA@SAS",
                       "team": "Seattle SuperSonics", "player_name": "Kemp, Shawn", "status": "Out", "reason": "Rest"},
                      {"team": "San Antonio Spurs", "player_name": "Collins, Zach", "status": "Out", "reason": "Ankle"}],
                     title="Injury Report: 01/04/24 04:00 PM")
    cdn.get(BASE_URL + "Injury-Report_2024-01-04_04PM.pdf").mock(return_value=httpx.Response(200, content=pdf))
    stats = fetch_latest_report(con, live(), dt.datetime(2024, 1, 4, 16, 0, tzinfo=EASTERN))
    assert (stats["loaded"], stats["quarantined"]) == (1, 1)
    assert con.execute("SELECT field, reason FROM quarantine_rows").fetchall() == [
        ("team", "unknown team 'Seattle SuperSonics'")]


def test_the_cli_fetches_from_saved_payloads(cdn: respx.MockRouter, tmp_path: Path) -> None:
    cdn.get(BASE_URL + "Injury-Report_2024-01-04_03PM.pdf").mock(return_value=httpx.Response(200, content=PDF_3PM))
    saved = tmp_path / "saved"
    InjuryReportLive(client=httpx.Client(), store=SnapshotStore(saved)).fetch_report(
        dt.datetime(2024, 1, 4, 15, 0, tzinfo=EASTERN))
    assert InjuryReportSnapshot(saved).has_reports() and not InjuryReportSnapshot(tmp_path / "none").has_reports()
    db = tmp_path / "wh.duckdb"
    res = CliRunner().invoke(cli.app, ["--db", str(db), "injuries", "--date", "2024-01-04", "--replay", str(saved),
                                       "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    # a past date without --at: the date's last report (23:59 ET back), found among the saved ones
    assert out["report_time"] == "2024-01-04T20:00:00+00:00" and out["probes"] == 9 and out["loaded"] == 2
    res = CliRunner().invoke(cli.app, ["--db", str(db), "injuries", "--date", "2024-01-04", "--at", "14:30",
                                       "--replay", str(saved)])
    assert isinstance(res.exception, MissingReportError)              # main() prints it as an error, exit 1
    assert "no injury report published between" in str(res.exception)
    bad = CliRunner().invoke(cli.app, ["--db", str(db), "injuries", "--at", "half past"])
    assert bad.exit_code == 2 and "expected HH:MM" in bad.output
