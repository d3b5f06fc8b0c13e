"""sources.injury_report: the official NBA injury report PDF parser, its URL patterns and the fetcher.

The parser is checked against the real report ``../shared/data/injuries/Injury-Report_2024-01-04_12PM.pdf``
(read in place, never copied; skipped when ../shared is absent): its 14 player rows were written out by
hand from the rendered PDF. Malformed inputs use tiny PDFs built by ``tests/injury_pdf.py``. The fetcher is
respx-mocked: no network.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx
import stamina

from injury_pdf import make_pdf, report_pdf
from nbaprops.errors import InputError, MissingReportError, SourceError, UnreadableFileError
from nbaprops.ingest.sources.base import SnapshotStore
from nbaprops.ingest.sources.injury_report import (
    BASE_URL,
    EASTERN,
    NOT_YET_SUBMITTED,
    SOURCE,
    InjuryReportLive,
    InjuryReportSnapshot,
    first_last,
    normalize_status,
    parse_injury_report,
    pdf_bytes,
    report_time_from_name,
    report_url,
)

REPORT_NAME = "Injury-Report_2024-01-04_12PM.pdf"

# (game_date, game_time, matchup, team as printed, team_abbr, player "Last, First", status, reason)
EXPECTED_PLAYERS = [
    ("2024-01-04", "07:30 (ET)", "MIL@SAS", "San Antonio Spurs", "SAS", "Barlow, Dominick", "Questionable",
     "G League - Two-Way"),
    ("2024-01-04", "07:30 (ET)", "MIL@SAS", "San Antonio Spurs", "SAS", "Bassey, Charles", "Out",
     "Injury/Illness - Left Acl; Tear"),
    ("2024-01-04", "07:30 (ET)", "MIL@SAS", "San Antonio Spurs", "SAS", "Branham, Malaki", "Doubtful",
     "Injury/Illness - Right Ankle; Sprain"),
    ("2024-01-04", "07:30 (ET)", "MIL@SAS", "San Antonio Spurs", "SAS", "Cissoko, Sidy", "Out",
     "G League - On Assignment"),
    ("2024-01-04", "07:30 (ET)", "MIL@SAS", "San Antonio Spurs", "SAS", "Collins, Zach", "Out",
     "Injury/Illness - Right Ankle; Sprain"),
    ("2024-01-04", "07:30 (ET)", "MIL@SAS", "San Antonio Spurs", "SAS", "Diakite, Mamadi", "Questionable",
     "G League - Two-Way"),
    ("2024-01-04", "07:30 (ET)", "MIL@SAS", "San Antonio Spurs", "SAS", "Duke Jr., David", "Out",
     "G League - Two-Way"),
    # the reason wraps over two text lines, above and below the name
    ("2024-01-04", "07:30 (ET)", "MIL@SAS", "San Antonio Spurs", "SAS", "McDermott, Doug", "Out",
     "Injury/Illness - Right Forearm; Contusion"),
    ("2024-01-04", "10:00 (ET)", "DEN@GSW", "Denver Nuggets", "DEN", "Cancar, Vlatko", "Out",
     "Injury/Illness - Left Knee; Surgery"),
    ("2024-01-04", "10:00 (ET)", "DEN@GSW", "Denver Nuggets", "DEN", "Jackson, Reggie", "Probable",
     "Injury/Illness - Left Calf; Tightness"),
    ("2024-01-04", "10:00 (ET)", "DEN@GSW", "Denver Nuggets", "DEN", "Pickett, Jalen", "Out",
     "G League - On Assignment"),
    ("2024-01-04", "10:00 (ET)", "DEN@GSW", "Denver Nuggets", "DEN", "Tyson, Hunter", "Out",
     "G League - On Assignment"),
    ("2024-01-04", "10:00 (ET)", "DEN@GSW", "Golden State Warriors", "GSW", "Green, Draymond", "Out",
     "League Suspension"),
    ("2024-01-04", "10:00 (ET)", "DEN@GSW", "Golden State Warriors", "GSW", "Payton II, Gary", "Out",
     "Injury/Illness - Left Hamstring; Strain"),
]
# (game_date, game_time, matchup, team_abbr) of every team printed "NOT YET SUBMITTED", in printed order
EXPECTED_NOT_SUBMITTED = [("2024-01-04", "07:30 (ET)", "MIL@SAS", "MIL")] + [
    ("2024-01-05", t, m, team)
    for t, m in [("07:00 (ET)", "ATL@IND"), ("07:00 (ET)", "UTA@BOS"), ("07:30 (ET)", "NYK@PHI"),
                 ("07:30 (ET)", "OKC@BKN"), ("07:30 (ET)", "WAS@CLE"), ("08:00 (ET)", "CHA@CHI"),
                 ("08:00 (ET)", "LAC@NOP"), ("08:00 (ET)", "MIN@HOU"), ("08:30 (ET)", "POR@DAL"),
                 ("09:00 (ET)", "MIA@PHX"), ("09:00 (ET)", "ORL@DEN"), ("10:00 (ET)", "DET@GSW"),
                 ("10:00 (ET)", "MEM@LAL"), ("10:00 (ET)", "TOR@SAC")]
    for team in m.split("@")
]


@pytest.fixture
def report_pdf_path(shared_data: Path) -> Path:
    """The real report, read in place (skipped when ../shared/data is absent)."""
    path = shared_data / "injuries" / REPORT_NAME
    if not path.is_file():
        pytest.skip(f"needs the real injury report at {path}")
    return path


# --------------------------------------------------------------------------- the real report


def test_the_real_report_has_exactly_its_14_player_rows(report_pdf_path: Path) -> None:
    report = parse_injury_report(report_pdf_path)
    got = [(str(r.game_date), r.game_time, r.matchup, r.team, r.team_abbr, r.player_name, r.status, r.reason)
           for r in report.players]
    assert got == EXPECTED_PLAYERS
    assert Counter(r.status for r in report.players) == {"Out": 10, "Questionable": 2, "Doubtful": 1, "Probable": 1}
    assert report.problems == []


def test_the_real_report_lists_the_teams_not_yet_submitted(report_pdf_path: Path) -> None:
    report = parse_injury_report(report_pdf_path)
    nys = report.not_yet_submitted
    assert [(str(r.game_date), r.game_time, r.matchup, r.team_abbr) for r in nys] == EXPECTED_NOT_SUBMITTED
    assert all(r.player_name is None and r.reason is None and r.status == NOT_YET_SUBMITTED for r in nys)
    assert len(report.rows) == 14 + 29
    assert {r.team for r in nys} >= {"Milwaukee Bucks", "LA Clippers", "Philadelphia 76ers"}
    # carried over from page 2 to page 3: ORL@DEN's second team is the first row of page 3
    denver = [r for r in nys if r.matchup == "ORL@DEN" and r.team_abbr == "DEN"]
    assert len(denver) == 1 and denver[0].page == 3 and denver[0].game_time == "09:00 (ET)"
    assert [r.file_row for r in report.rows] == list(range(1, 44))


def test_report_time_is_the_printed_time_not_earlier_than_the_file_name(report_pdf_path: Path) -> None:
    report = parse_injury_report(report_pdf_path)
    assert report.name_time == datetime(2024, 1, 4, 12, 0, tzinfo=EASTERN)
    assert report.printed_time == datetime(2024, 1, 4, 12, 30, tzinfo=EASTERN)
    assert report.report_time == datetime(2024, 1, 4, 17, 30, tzinfo=UTC)
    assert {r.report_time for r in report.rows} == {report.report_time}
    # bytes parse the same; an explicit report time wins
    pinned = parse_injury_report(report_pdf_path.read_bytes(), report_time=datetime(2024, 1, 4, 13, 0))
    assert pinned.report_time == datetime(2024, 1, 4, 18, 0, tzinfo=UTC)
    assert [r.player_name for r in pinned.players] == [p[5] for p in EXPECTED_PLAYERS]


def test_names_and_statuses_normalise() -> None:
    assert first_last("Payton II, Gary") == "Gary Payton II"
    assert first_last("Duke Jr., David") == "David Duke Jr."
    assert first_last("Cancar,  Vlatko") == "Vlatko Cancar"
    assert first_last("Gary Payton II") == "Gary Payton II"
    assert normalize_status(" out ") == "Out"
    assert normalize_status("NOT YET SUBMITTED") == normalize_status("not_yet_submitted") == NOT_YET_SUBMITTED
    assert normalize_status("Injured") is None and normalize_status(None) is None


# --------------------------------------------------------------------------- malformed reports


def test_random_bytes_are_refused_naming_the_file() -> None:
    with pytest.raises(UnreadableFileError, match=r"file junk\.pdf: not a PDF"):
        parse_injury_report(bytes(range(256)) * 4, name="junk.pdf")
    with pytest.raises(UnreadableFileError, match=r"file broken\.pdf: not a readable PDF"):
        parse_injury_report(b"%PDF-1.4\n" + bytes(range(256)) * 4, name="broken.pdf")


def test_a_pdf_without_the_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "Injury-Report_2024-01-04_12PM.pdf"
    path.write_bytes(make_pdf([[(50, 50, "Quarterly newsletter"), (50, 80, "Nothing to see here")]]))
    with pytest.raises(InputError, match=r"Injury-Report_2024-01-04_12PM\.pdf: no injury report table"):
        parse_injury_report(path)
    # the header but no row: an empty report is refused, never read as "nobody injured"
    with pytest.raises(InputError, match="has no rows"):
        parse_injury_report(report_pdf([]), name="empty.pdf")
    # no time in the title nor in the name
    with pytest.raises(InputError, match="no report time"):
        parse_injury_report(report_pdf([{"game_date": "01/04/2024", "game_time": "07:30 (ET)",
                                         "matchup": "MIL@SAS", "team": "Milwaukee Bucks",
                                         "reason": "NOT YET SUBMITTED"}], title="Report"), name="x.pdf")


def test_unreadable_rows_are_returned_as_problems_not_dropped() -> None:
    pdf = report_pdf([
        {"game_date": "01/04/2024", "game_time": "07:30 (ET)", "matchup": "SEA@BOS", "team": "Seattle SuperSonics",
         "player_name": "Kemp, Shawn", "status": "Out", "reason": "Injury/Illness - Left Knee; Sprain"},
        {"team": "Boston Celtics", "player_name": "Tatum, Jayson", "status": "Questionable", "reason": "Rest"},
        {"player_name": "Brown, Jaylen", "status": "Hurt", "reason": "Rest"},
        {"status": "Out", "reason": "Rest"},
    ])
    report = parse_injury_report(pdf, name="synthetic.pdf")
    assert [(r.team, r.team_abbr, r.player_name, r.status) for r in report.rows] == [
        ("Seattle SuperSonics", None, "Kemp, Shawn", "Out"),   # an unknown team: the loader quarantines it
        ("Boston Celtics", "BOS", "Tatum, Jayson", "Questionable")]
    assert [(p.file_row, p.field) for p in report.problems] == [(3, "status"), (4, "player_name")]
    assert "unknown status 'Hurt'" in report.problems[0].reason
    assert report.problems[0].raw["player_name"] == "Brown, Jaylen"


# --------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(("when", "name"), [
    (datetime(2024, 1, 4, 12, 0, tzinfo=EASTERN), "Injury-Report_2024-01-04_12PM.pdf"),
    (datetime(2024, 1, 4, 17, 0, tzinfo=UTC), "Injury-Report_2024-01-04_12PM.pdf"),
    (datetime(2025, 4, 10, 17, 0), "Injury-Report_2025-04-10_05PM.pdf"),          # naive = US/Eastern
    (datetime(2025, 12, 22, 9, 0), "Injury-Report_2025-12-22_09AM.pdf"),
    # 03:00 UTC on the 23rd is still the 22nd in New York: the old pattern
    (datetime(2025, 12, 23, 3, 0, tzinfo=UTC), "Injury-Report_2025-12-22_10PM.pdf"),
    (datetime(2025, 12, 23, 13, 30, tzinfo=EASTERN), "Injury-Report_2025-12-23_01_30PM.pdf"),
    (datetime(2026, 1, 10, 17, 0, tzinfo=UTC), "Injury-Report_2026-01-10_12_00PM.pdf"),
    (datetime(2026, 1, 10, 11, 15), "Injury-Report_2026-01-10_11_15AM.pdf"),
    (datetime(2026, 1, 10, 0, 45), "Injury-Report_2026-01-10_12_45AM.pdf"),
])
def test_report_url_uses_the_pattern_of_the_date(when: datetime, name: str) -> None:
    assert report_url(when) == BASE_URL + name
    assert report_time_from_name(name) == (when.replace(tzinfo=EASTERN) if when.tzinfo is None else when)


def test_old_pattern_has_no_minutes() -> None:
    with pytest.raises(InputError, match="on the hour"):
        report_url(datetime(2024, 1, 4, 12, 30, tzinfo=EASTERN))
    assert report_time_from_name("notes.pdf") is None
    assert report_time_from_name("Injury-Report_2024-01-04_13PM.pdf") is None


# --------------------------------------------------------------------------- the fetcher

FETCHED = datetime(2024, 1, 4, 17, 31, tzinfo=UTC)
AT = datetime(2024, 1, 4, 12, 0, tzinfo=EASTERN)
OLD_URL = BASE_URL + "Injury-Report_2024-01-04_12PM.pdf"
PDF = report_pdf([{"game_date": "01/04/2024", "game_time": "07:30 (ET)", "matchup": "MIL@SAS",
                   "team": "Milwaukee Bucks", "reason": "NOT YET SUBMITTED"}])


@pytest.fixture
def no_backoff() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3, cap=True):
        yield


@pytest.fixture
def cdn() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def live(**kw: object) -> InjuryReportLive:
    return InjuryReportLive(client=httpx.Client(), now=lambda: FETCHED, **kw)  # type: ignore[arg-type]


def test_fetch_lands_the_pdf_with_its_time(cdn: respx.MockRouter, tmp_path: Path) -> None:
    route = cdn.get(OLD_URL).mock(return_value=httpx.Response(
        200, content=PDF, headers={"content-type": "application/pdf", "set-cookie": "a=b"}))
    payload = live(store=SnapshotStore(tmp_path)).fetch_report(AT)
    assert route.call_count == 1
    assert (payload.source, payload.endpoint, payload.status_code, payload.fetched_at) == (
        SOURCE, "injury_report", 200, FETCHED)
    assert payload.params == {"report_time": "2024-01-04T12:00:00-05:00",
                              "file": "Injury-Report_2024-01-04_12PM.pdf", "body_encoding": "base64"}
    assert "set-cookie" not in payload.headers and payload.headers["content-type"] == "application/pdf"
    assert pdf_bytes(payload) == PDF == base64.b64decode(payload.body)
    assert parse_injury_report(pdf_bytes(payload), name=payload.params["file"]).rows[0].team_abbr == "MIL"
    # saved for replay
    assert pdf_bytes(InjuryReportSnapshot(tmp_path).fetch_report(AT)) == PDF


def test_fetch_after_the_change_uses_the_new_pattern(cdn: respx.MockRouter) -> None:
    new = cdn.get(BASE_URL + "Injury-Report_2025-12-23_01_30PM.pdf").mock(
        return_value=httpx.Response(200, content=PDF))
    live().fetch_report(datetime(2025, 12, 23, 13, 30, tzinfo=EASTERN))
    assert new.call_count == 1


@pytest.mark.parametrize("status", [403, 404])
def test_403_and_404_are_a_missing_report_not_retried(cdn: respx.MockRouter, status: int,
                                                      no_backoff: None) -> None:
    route = cdn.get(OLD_URL).mock(return_value=httpx.Response(status, text="AccessDenied"))
    with pytest.raises(MissingReportError, match=rf"no injury report at .*_12PM\.pdf \(HTTP {status}\).*pattern"):
        live().fetch_report(AT)
    assert route.call_count == 1


def test_a_body_that_is_not_a_pdf_is_a_missing_report(cdn: respx.MockRouter, no_backoff: None) -> None:
    cdn.get(OLD_URL).mock(return_value=httpx.Response(200, text="<html>Moved</html>",
                                                      headers={"content-type": "text/html"}))
    with pytest.raises(MissingReportError, match="not a PDF.*text/html"):
        live().fetch_report(AT)


def test_an_empty_body_is_retried_then_a_missing_report(cdn: respx.MockRouter, no_backoff: None) -> None:
    route = cdn.get(OLD_URL).mock(return_value=httpx.Response(200, content=b""))
    with pytest.raises(MissingReportError, match="empty body"):
        live().fetch_report(AT)
    assert route.call_count == 3


def test_5xx_and_transport_errors_are_retried(cdn: respx.MockRouter, no_backoff: None) -> None:
    route = cdn.get(OLD_URL).mock(side_effect=[httpx.Response(503), httpx.ConnectError("reset"),
                                               httpx.Response(200, content=PDF)])
    assert pdf_bytes(live().fetch_report(AT)) == PDF
    assert route.call_count == 3
    cdn.get(OLD_URL).mock(return_value=httpx.Response(502))
    with pytest.raises(SourceError, match="failed after") as info:
        live().fetch_report(AT)
    assert not isinstance(info.value, MissingReportError)


def test_another_status_is_a_source_error(cdn: respx.MockRouter) -> None:
    cdn.get(OLD_URL).mock(return_value=httpx.Response(401))
    with pytest.raises(SourceError, match="HTTP 401") as info:
        live().fetch_report(AT)
    assert not isinstance(info.value, MissingReportError)


def test_snapshot_without_a_saved_report_says_so(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no nba_injury_report snapshot"):
        InjuryReportSnapshot(tmp_path).fetch_report(AT)
