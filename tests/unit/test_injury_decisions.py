"""Decisions from the injury report: the point-in-time status of each player at a prediction's as-of
time (warehouse.injuries.player_availability), the OUT rule (predict.recommend.apply_availability), the
void reasons of a graded DNP (evaluate.grading) and the prediction columns (migration 008).

Reports are CSV archives in the documented format (docs/injury-reports.md) and two games on 2024-01-04
(tip-off unknown in ``games``, as in the bulk files: the report's printed game time is the tip-off).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from nbaprops.errors import InputError
from nbaprops.evaluate.grading import VOID_REASONS, grade_predictions
from nbaprops.ingest import injuries
from nbaprops.ingest.sources.injury_report import EASTERN
from nbaprops.predict.coordinator import attach_availability
from nbaprops.predict.recommend import LISTED_OUT, apply_availability
from nbaprops.warehouse import connect
from nbaprops.warehouse.injuries import game_tipoffs, player_availability, printed_game_time

JAN4 = dt.date(2024, 1, 4)
MIL_SAS, DEN_GSW = "0022300477", "0022300478"
COLLINS, BARLOW, LILLARD, GREEN, JOKIC = 1628380, 1631230, 203081, 203110, 203999


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = connect(":memory:")
    c.execute("""INSERT INTO players (player_id, full_name, first_name, last_name, player_lookup) VALUES
                 (1628380, 'Zach Collins', 'Zach', 'Collins', 'zachcollins'),
                 (1631230, 'Dominick Barlow', 'Dominick', 'Barlow', 'dominickbarlow'),
                 (203081, 'Damian Lillard', 'Damian', 'Lillard', 'damianlillard'),
                 (203110, 'Draymond Green', 'Draymond', 'Green', 'draymondgreen'),
                 (203999, 'Nikola Jokic', 'Nikola', 'Jokic', 'nikolajokic')""")
    c.execute("""INSERT INTO games (game_id, game_date, season, season_year, season_type, home_abbr, away_abbr,
                                    status, source)
                 VALUES ('0022300477', DATE '2024-01-04', '2023-24', 2023, 'Regular Season', 'SAS', 'MIL', 'final', 't'),
                        ('0022300478', DATE '2024-01-04', '2023-24', 2023, 'Regular Season', 'GSW', 'DEN', 'final', 't')""")
    return c


def archive(path: Path, report_time: str, rows: list[tuple[str, str, str, str, str, str]]) -> Path:
    """One report: (game_time, matchup, team, player, status, reason) rows of 2024-01-04."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(injuries.ARCHIVE_COLUMNS)
        for game_time, matchup, team, player, status, reason in rows:
            w.writerow([report_time, "2024-01-04", game_time, matchup, team, player, status, reason])
    return path


NOON = [("07:30 (ET)", "MIL@SAS", "SAS", "Collins, Zach", "Out", "Injury/Illness - Right Ankle; Sprain"),
        ("07:30 (ET)", "MIL@SAS", "SAS", "Barlow, Dominick", "Questionable", "G League - Two-Way"),
        ("07:30 (ET)", "MIL@SAS", "MIL", "", "NOT YET SUBMITTED", ""),
        ("10:00 (ET)", "DEN@GSW", "GSW", "Green, Draymond", "Out", "League Suspension")]


def status_of(frame: pd.DataFrame, game_id: str, player_id: int) -> tuple[object, ...]:
    rows = frame[(frame["game_id"] == game_id) & (frame["player_id"] == player_id)]
    assert len(rows) == 1, rows
    r = rows.iloc[0]
    return r["injury_status"], r["injury_report_time"]


def test_printed_game_time_is_the_evening_tip_off() -> None:
    assert printed_game_time(JAN4, "07:30 (ET)") == dt.datetime(2024, 1, 5, 0, 30, tzinfo=dt.UTC)
    assert printed_game_time(JAN4, "10:00 (ET)") == dt.datetime(2024, 1, 5, 3, 0, tzinfo=dt.UTC)
    assert printed_game_time(JAN4, "12:00 (ET)") == dt.datetime(2024, 1, 4, 17, 0, tzinfo=dt.UTC)
    assert printed_game_time(JAN4, "11:00 (ET)") == dt.datetime(2024, 1, 4, 16, 0, tzinfo=dt.UTC)
    assert printed_game_time(JAN4, None) is None and printed_game_time(JAN4, "TBD") is None


def test_status_at_tip_off_and_a_later_report_changes_nothing(con: duckdb.DuckDBPyConnection,
                                                               tmp_path: Path) -> None:
    """The leakage test: a report published after the as-of time never changes what a prediction reads."""
    later_run = dt.datetime(2026, 12, 2, tzinfo=dt.UTC)                 # a backtest run long after the games
    assert player_availability(con, JAN4, later_run)["player_id"].notna().sum() == 0   # no report at all
    injuries.load_injury_archive(con, archive(tmp_path / "noon.csv", "2024-01-04T12:30:00-05:00", NOON))
    tips = game_tipoffs(con, JAN4)
    assert tips == {MIL_SAS: dt.datetime(2024, 1, 5, 0, 30, tzinfo=dt.UTC),
                    DEN_GSW: dt.datetime(2024, 1, 5, 3, 0, tzinfo=dt.UTC)}
    before = player_availability(con, JAN4, later_run)
    noon = dt.datetime(2024, 1, 4, 17, 30, tzinfo=dt.UTC)
    assert status_of(before, MIL_SAS, COLLINS) == ("OUT", noon)
    assert status_of(before, MIL_SAS, BARLOW) == ("QUESTIONABLE", noon)
    assert status_of(before, DEN_GSW, GREEN) == ("OUT", noon)
    assert set(before["injury_as_of"]) == set(tips.values())            # as of each game's tip-off

    # published at 8 PM ET: after MIL@SAS tipped (7:30), before DEN@GSW (10:00)
    evening = [("07:30 (ET)", "MIL@SAS", "SAS", "Barlow, Dominick", "Out", "Injury/Illness - Ankle"),
               ("07:30 (ET)", "MIL@SAS", "MIL", "Lillard, Damian", "Out", "Rest"),
               ("10:00 (ET)", "DEN@GSW", "DEN", "Jokic, Nikola", "Questionable", "Injury/Illness - Wrist")]
    injuries.load_injury_archive(con, archive(tmp_path / "evening.csv", "2024-01-04T20:00:00-05:00", evening))
    after = player_availability(con, JAN4, later_run)
    mil_sas = lambda f: f[f["game_id"] == MIL_SAS].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(mil_sas(after), mil_sas(before))      # the late report is not seen
    # ... while the later game reads it whole (Green no longer listed, Jokic questionable)
    eight = dt.datetime(2024, 1, 5, 1, 0, tzinfo=dt.UTC)
    assert status_of(after, DEN_GSW, JOKIC) == ("QUESTIONABLE", eight)
    assert GREEN not in set(after.loc[after["game_id"] == DEN_GSW, "player_id"].dropna())

    # a live prediction at 1 PM ET reads the noon report for both games, whatever came later
    live = player_availability(con, JAN4, dt.datetime(2024, 1, 4, 13, 0, tzinfo=EASTERN))
    assert status_of(live, DEN_GSW, GREEN) == ("OUT", noon)
    assert JOKIC not in set(live["player_id"].dropna())
    # before the first report: nothing, never "available"
    early = player_availability(con, JAN4, dt.datetime(2024, 1, 4, 12, 0, tzinfo=EASTERN))
    assert early["player_id"].notna().sum() == 0 and early["injury_report_time"].isna().all()
    with pytest.raises(InputError, match="timezone-aware"):
        player_availability(con, JAN4, dt.datetime(2024, 1, 4, 13, 0))


def test_a_game_without_a_known_tip_off_reads_no_report(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # the report lists only MIL@SAS: DEN@GSW has no tip-off anywhere
    injuries.load_injury_archive(con, archive(tmp_path / "noon.csv", "2024-01-04T12:30:00-05:00", NOON[:3]))
    got = player_availability(con, JAN4, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert set(got["game_id"]) == {MIL_SAS}
    con.execute("UPDATE games SET tipoff_at = TIMESTAMPTZ '2024-01-05 03:00:00+00' WHERE game_id = ?", [DEN_GSW])
    got = player_availability(con, JAN4, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    den = got[got["game_id"] == DEN_GSW]
    assert len(den) == 1 and den["player_id"].isna().all()       # a report covers the date; nobody of DEN@GSW listed
    assert den["injury_report_time"].notna().all()


def test_attach_availability_tells_not_listed_from_no_report(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    slate = pd.DataFrame({"game_id": [MIL_SAS, MIL_SAS, DEN_GSW, DEN_GSW],
                          "player_id": [COLLINS, LILLARD, GREEN, JOKIC], "line": [9.5, 24.5, 8.5, 26.5]})
    at = dt.datetime(2024, 1, 4, 14, 0, tzinfo=EASTERN)
    none = attach_availability(con, slate, JAN4, at)
    assert none["injury_status"].isna().all() and none["injury_report_time"].isna().all()
    injuries.load_injury_archive(con, archive(tmp_path / "noon.csv", "2024-01-04T12:30:00-05:00", NOON))
    got = attach_availability(con, slate, JAN4, at)
    assert got["injury_status"].tolist() == ["OUT", None, "OUT", None]
    assert got["injury_report_time"].notna().all()                # Lillard and Jokic: a report, not listed
    assert (got["injury_as_of"] == pd.Timestamp(at)).all()        # live: now, before either tip-off
    assert got[["game_id", "player_id", "line"]].equals(slate)


def test_out_players_get_no_over_or_under() -> None:
    rec = np.array(["OVER", "UNDER", "PASS", "NO_LINE", "OVER", "UNDER", "OVER", "OVER"], dtype=object)
    status = np.array(["OUT", "OUT", "OUT", "OUT", "QUESTIONABLE", "DOUBTFUL", None, np.nan], dtype=object)
    out, reason = apply_availability(rec, status)
    assert out.tolist() == ["PASS", "PASS", "PASS", "NO_LINE", "OVER", "UNDER", "OVER", "OVER"]
    assert reason.tolist() == [LISTED_OUT] * 4 + [None] * 4
    assert rec[0] == "OVER"                                       # the input is not modified


def test_a_dnp_is_a_void_with_what_the_report_said() -> None:
    base = {"game_id": "g", "game_date": "2024-01-04", "system_id": "s", "predicted_points": 10.0,
            "line": 9.5, "line_source": "ACTUAL_PROP", "line_valid": True, "over_price": -110.0,
            "under_price": -110.0}
    t = pd.Timestamp("2024-01-04 17:30", tz="UTC")
    preds = pd.DataFrame([
        {**base, "player_id": 1, "recommendation": "PASS", "injury_status": "OUT", "injury_report_time": t},
        {**base, "player_id": 2, "recommendation": "OVER", "injury_status": "QUESTIONABLE", "injury_report_time": t},
        {**base, "player_id": 3, "recommendation": "UNDER", "injury_status": "DOUBTFUL", "injury_report_time": t},
        {**base, "player_id": 4, "recommendation": "OVER", "injury_status": None, "injury_report_time": t},
        {**base, "player_id": 5, "recommendation": "OVER", "injury_status": None, "injury_report_time": pd.NaT},
        {**base, "player_id": 6, "recommendation": "OVER", "injury_status": "QUESTIONABLE", "injury_report_time": t},
    ])
    actuals = pd.DataFrame({"game_id": ["g", "g"], "player_id": [3, 6], "points": [0, 12], "minutes": [0.0, 25.0]})
    g = grade_predictions(preds, actuals)
    assert [None if pd.isna(v) else v for v in g["void_reason"]] == ["dnp_listed_out", "dnp_listed_questionable", "dnp_listed_doubtful",
                                         "dnp_not_listed", "dnp_no_report", None]
    assert set(g["void_reason"].dropna()) <= set(VOID_REASONS)
    assert g["result"].tolist() == ["NO_BET", "VOID", "VOID", "VOID", "VOID", "WIN"]
    assert g["correct"].isna().tolist() == [True] * 5 + [False]
    assert (g.loc[:4, "profit_units"] == 0).all()                 # a void bet's stake comes back
    # without the injury columns (older predictions) a DNP is still void, with no report known
    old = grade_predictions(preds.drop(columns=["injury_status", "injury_report_time"]), actuals)
    assert [None if pd.isna(v) else v for v in old["void_reason"]] == ["dnp_no_report"] * 5 + [None]


def test_migration_008_adds_the_columns() -> None:
    c = connect(":memory:")
    cols = {(t, n): d for t, n, d in c.execute("""SELECT table_name, column_name, data_type
        FROM information_schema.columns WHERE table_name IN ('player_prop_predictions', 'prediction_grades')""")
        .fetchall()}
    assert cols[("player_prop_predictions", "injury_status")] == "VARCHAR"
    assert cols[("player_prop_predictions", "injury_report_time")] == "TIMESTAMP WITH TIME ZONE"
    assert cols[("player_prop_predictions", "injury_as_of")] == "TIMESTAMP WITH TIME ZONE"
    assert cols[("player_prop_predictions", "decision_reason")] == "VARCHAR"
    assert cols[("prediction_grades", "void_reason")] == "VARCHAR"
