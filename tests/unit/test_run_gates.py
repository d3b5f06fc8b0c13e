"""The daily run's parts on a tmp warehouse: live ingest from snapshot sources (recorded fixtures),
gates, run records and locks, post-run verification, and a blocked run raising its alert."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from nbaprops import Project
from nbaprops.config import Settings
from nbaprops.errors import LockError, NbapropsError
from nbaprops.ingest.live import (
    GAME_LOG_SOURCE,
    ingest_live,
    make_sources,
    odds_window,
    upsert_player_game_logs,
)
from nbaprops.ingest.names import player_lookup
from nbaprops.ingest.sources.base import RawPayload, SnapshotStore
from nbaprops.ingest.sources.nba_stats import parse_player_game_logs, scoreboard_params
from nbaprops.ingest.sources.odds_api import event_odds_params, events_params
from nbaprops.ops.alerts import MemorySink
from nbaprops.ops.verify import alerts_from_checks, verify_date
from nbaprops.pipeline import gates
from nbaprops.pipeline.builds import run_phases
from nbaprops.pipeline.runner import run_daily
from nbaprops.warehouse import connect

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
SCOREBOARD = json.loads((FIXTURES / "scoreboardv3_2024-04-10.json").read_text())
LOGS_BODY = (FIXTURES / "playergamelogs_2023-24_2024-04-10.json").read_text()
EVENT = "7f12f126cd8d2b554b709ade5d43c5cd"
D = dt.date(2024, 4, 10)
AT = dt.datetime(2024, 4, 10, 19, 15, tzinfo=dt.UTC)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A migrated warehouse with the teams of the 2024-04-10 slate (tricodes and full names)."""
    c = connect(tmp_path / "wh" / "nbaprops.duckdb")
    for g in SCOREBOARD["scoreboard"]["games"]:
        for side in ("homeTeam", "awayTeam"):
            t = g[side]
            full = f"{t['teamCity']} {t['teamName']}"
            c.execute("INSERT OR IGNORE INTO teams VALUES (?, ?, ?, ?, ?)",
                      [t["teamId"], t["teamTricode"], full, t["teamCity"], t["teamName"]])
            for alias in (t["teamTricode"], full.upper()):
                c.execute("INSERT OR IGNORE INTO team_aliases VALUES (?, ?)", [alias, t["teamTricode"]])
    c.execute("""INSERT INTO players VALUES (203999, 'Nikola Jokić', 'Nikola', 'Jokić', ?, TRUE)""",
              [player_lookup("Nikola Jokić")])
    yield c
    c.close()


def _settings(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> Settings:
    db = Path(con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()")
              .fetchone()[0])  # type: ignore[index]
    return Settings(_env_file=None, db=db, model_dir=tmp_path / "models")  # type: ignore[call-arg]


def _replay_dir(tmp_path: Path) -> Path:
    """Saved payloads of a live ingest of 2024-04-10: the recorded scoreboard of D (empty ones for the
    week before), the 8 events of D, and the recorded odds of one of them (the other 7 are missing)."""
    store = SnapshotStore(tmp_path / "replay")

    def save(source: str, endpoint: str, params: dict[str, str], body: str) -> None:
        store.save(RawPayload(source, endpoint, params, AT, 200, {}, body))

    for i in range(8):
        day = D - dt.timedelta(days=7 - i)
        body = json.dumps(SCOREBOARD) if day == D else json.dumps({"scoreboard": {"gameDate": str(day), "games": []}})
        save("nba_stats", "scoreboardv3", scoreboard_params(day), body)
    start, end = odds_window(D)
    save("odds_api", "events", events_params(start, end), (FIXTURES / "odds_events_2024-04-10.json").read_text())
    save("odds_api", "event_odds", {"event_id": EVENT, **event_odds_params()},
         (FIXTURES / f"odds_event_{EVENT}_2024-04-10.json").read_text())
    return store.directory


# ------------------------------------------------------------------------------------- live ingest


def test_player_game_logs_become_box_scores_without_overwriting_bulk_rows(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""INSERT INTO player_boxscores (game_id, player_id, game_date, season, season_type, team_abbr,
                   opp_abbr, is_home, pts, fga_rim, source) VALUES ('0022301164', 203999, '2024-04-10', '2023-24',
                   'Regular Season', 'DEN', 'MIN', TRUE, 41, 6.0, 'bulk.parquet')""")
    logs = parse_player_game_logs(LOGS_BODY)
    names = {203999: "Nikola Jokić", 203932: "Aaron Gordon", 1630162: "Anthony Edwards"}
    stats = upsert_player_game_logs(con, logs, dt.date(2024, 4, 10), dt.date(2024, 4, 12), names)
    assert stats == {"written": 5, "kept": 1, "players_added": 2}
    rows = con.execute("""SELECT game_id, player_id, season, season_type, team_abbr, opp_abbr, is_home, pts, fga_rim,
                                 source, team_id FROM player_boxscores ORDER BY game_id, player_id""").fetchall()
    assert len(rows) == 6
    jokic = [r for r in rows if r[:2] == ("0022301164", 203999)][0]
    assert jokic[7:10] == (41, 6.0, "bulk.parquet")                      # the richer bulk row is kept
    live = [r for r in rows if r[9] == GAME_LOG_SOURCE]
    assert {(r[2], r[3]) for r in live} == {("2023-24", "Regular Season")}
    assert all(r[8] is None for r in live)                               # no shot zones from game logs
    assert ("0022301180", 203999, "2023-24", "Regular Season", "DEN", "SAS", False, 22) in [r[:8] for r in live]
    assert con.execute("SELECT player_lookup FROM players WHERE player_id = 1630162").fetchone() == ("anthonyedwards",)
    assert con.execute("SELECT count(*) FROM official_player_game_logs").fetchone() == (6,)
    again = upsert_player_game_logs(con, logs, dt.date(2024, 4, 10), dt.date(2024, 4, 12), names)
    assert again == {"written": 5, "kept": 1, "players_added": 0}
    assert con.execute("SELECT count(*) FROM player_boxscores").fetchone() == (6,)


def test_live_ingest_lands_payloads_upserts_games_and_loads_lines_like_the_bulk_file(
        con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # appearances on D let the book names resolve to player ids (as last week's box scores do live)
    upsert_player_game_logs(con, parse_player_game_logs(LOGS_BODY), D, D,
                            {203999: "Nikola Jokić", 203932: "Aaron Gordon", 1630162: "Anthony Edwards"})
    sources = make_sources(_settings(con, tmp_path), replay=_replay_dir(tmp_path))
    landing = tmp_path / "landing"
    report = ingest_live(con, D, sources, landing_dir=landing)

    assert report.payloads == 8 + 1 + 1 and report.games == 8
    assert report.events == 8 and report.event_odds == 1
    assert len(report.warnings) == 7 and all("not fetched" in w for w in report.warnings)
    assert con.execute("SELECT count(*), count(DISTINCT source) FROM raw_payloads").fetchone() == (10, 2)
    games = con.execute("""SELECT game_id, season, season_type, status, tipoff_at, home_pts, source FROM games
                           WHERE game_id = '0022301164'""").fetchone()
    assert games is not None
    assert games[:4] == ("0022301164", "2023-24", "Regular Season", "final")
    assert games[4] == dt.datetime(2024, 4, 11, 2, 10, tzinfo=dt.UTC) and games[5] == 116
    assert games[6] == "nba_api_scoreboardv3"
    # the landed file is exactly the bulk parquet's shape and rows
    assert report.landing_file is not None
    pd.testing.assert_frame_equal(pd.read_parquet(report.landing_file),
                                  pd.read_parquet(FIXTURES / f"odds_event_{EVENT}_2024-04-10.expected.parquet"))
    lines = con.execute("""SELECT count(*), count(player_id), count(DISTINCT player_id), min(game_date),
                                  count(game_id) FROM prop_line_snapshots WHERE market = 'player_points'""").fetchone()
    assert lines == (report.lines["snapshots"], report.lines["snapshots"], 3, D, report.lines["snapshots"])
    assert report.names["unmatched"] == 0

    before = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone() for t in
              ("games", "raw_payloads", "prop_line_snapshots", "player_boxscores")}
    ingest_live(con, D, sources, landing_dir=landing)                    # a re-run changes nothing
    assert before == {t: con.execute(f"SELECT count(*) FROM {t}").fetchone() for t in before}


def test_live_ingest_fetches_the_latest_injury_report_from_the_replay(con: duckdb.DuckDBPyConnection,
                                                                       tmp_path: Path) -> None:
    """The ingest phase lands the latest report saved by the live run (a missing one would be a warning)."""
    import base64

    from injury_pdf import report_pdf
    from nbaprops.ingest.sources.injury_report import EASTERN, SOURCE, report_params

    replay = _replay_dir(tmp_path)
    pdf = report_pdf([{"game_date": "04/10/2024", "game_time": "10:00 (ET)", "matchup": "DEN@MIN",
                       "team": "Denver Nuggets", "player_name": "Jokic, Nikola", "status": "Questionable",
                       "reason": "Injury/Illness - Lower Back; Inflammation"}],
                     title="Injury Report: 04/10/24 05:00 PM")
    SnapshotStore(replay).save(RawPayload(SOURCE, "injury_report",
                                          report_params(dt.datetime(2024, 4, 10, 17, 0, tzinfo=EASTERN)), AT, 200,
                                          {}, base64.b64encode(pdf).decode()))
    sources = make_sources(_settings(con, tmp_path), replay=replay)
    assert sources.injuries is not None
    report = ingest_live(con, D, sources, landing_dir=tmp_path / "landing",
                         now=dt.datetime(2024, 4, 10, 18, 40, tzinfo=EASTERN))
    assert report.injury_report is not None and report.injury_report["probes"] == 2   # 6 PM missing, 5 PM found
    assert report.injury_report["report_time"] == "2024-04-10T21:00:00+00:00"
    assert con.execute("SELECT team_abbr, player_id, status FROM injury_reports").fetchall() == [
        ("DEN", 203999, "Questionable")]
    assert len(report.warnings) == 7 and not any("injury" in w for w in report.warnings)
    # a replay without saved reports fetches none, silently
    assert make_sources(_settings(con, tmp_path), replay=_replay_dir(tmp_path / "other")).injuries is None


def test_a_scoreboard_never_downgrades_a_final_game_and_keeps_its_source(con: duckdb.DuckDBPyConnection) -> None:
    from nbaprops.ingest.live import upsert_games
    from nbaprops.ingest.sources.nba_stats import parse_scoreboard_v3

    con.execute("""INSERT INTO games (game_id, game_date, season, season_year, season_type, home_abbr, away_abbr,
                   home_pts, away_pts, tipoff_at, status, source) VALUES ('0022301164', '2024-04-10', '2023-24',
                   2023, 'Regular Season', 'DEN', 'MIN', 116, 107, '2024-04-11 02:00:00+00', 'final', 'team_logs.csv')""")
    stale = json.loads(json.dumps(SCOREBOARD))
    for g in stale["scoreboard"]["games"]:
        g["gameStatus"] = 1
    assert upsert_games(con, parse_scoreboard_v3(json.dumps(stale))) == 8
    assert con.execute("""SELECT status, source, home_pts, tipoff_at FROM games WHERE game_id = '0022301164'""").fetchone() \
        == ("final", "team_logs.csv", 116, dt.datetime(2024, 4, 11, 2, 0, tzinfo=dt.UTC))
    assert con.execute("SELECT count(*) FROM games WHERE status = 'scheduled'").fetchone() == (7,)


# ------------------------------------------------------------------------------------- gates


def _game(con: duckdb.DuckDBPyConnection, gid: str, day: dt.date, status: str = "final",
          home: str = "DEN", away: str = "MIN") -> None:
    con.execute("""INSERT INTO games (game_id, game_date, season, season_year, season_type, home_abbr, away_abbr,
                   status, source) VALUES (?, ?, '2023-24', 2023, 'Regular Season', ?, ?, ?, 't')""",
                [gid, day, home, away, status])


def _box(con: duckdb.DuckDBPyConnection, gid: str, day: dt.date, player: int = 1, pts: int = 10) -> None:
    con.execute("""INSERT INTO player_boxscores (game_id, player_id, game_date, season, season_type, team_abbr, opp_abbr,
                   is_home, pts, minutes, source) VALUES (?, ?, ?, '2023-24', 'Regular Season', 'DEN', 'MIN', TRUE, ?,
                   30, 't')""", [gid, player, day, pts])


def test_box_score_gate_names_every_final_game_without_box_scores(con: duckdb.DuckDBPyConnection) -> None:
    _game(con, "0022300101", D - dt.timedelta(days=1))
    _game(con, "0022300102", D - dt.timedelta(days=1), home="BOS", away="NYK")
    _game(con, "0022300103", D - dt.timedelta(days=3), home="MIA", away="ORL")
    _game(con, "0022300104", D - dt.timedelta(days=9))                   # outside the 7 days
    _game(con, "0022300105", D, status="scheduled")
    _box(con, "0022300101", D - dt.timedelta(days=1))
    res = gates.boxscore_gate(con, D)
    assert not res.ok
    msg = res.message()
    assert "2 final game(s) of 2024-04-03..2024-04-09" in msg
    assert "0022300102 (2024-04-09, NYK@BOS)" in msg and "0022300103 (2024-04-07, ORL@MIA)" in msg
    assert "0022300104" not in msg and "0022300101" not in msg
    assert gates.schedule_gate(con, D).ok
    assert not gates.schedule_gate(con, D + dt.timedelta(days=1)).ok
    assert "no games for 2024-04-11" in gates.schedule_gate(con, D + dt.timedelta(days=1)).message()
    today = gates.boxscore_gate(con, D, include_date=True)
    assert not today.ok and "1 game(s) of 2024-04-10 are not final yet" in today.message()


def test_lines_gate_warns_instead_of_blocking(con: duckdb.DuckDBPyConnection) -> None:
    res = gates.lines_gate(con, D)
    assert res.ok and res.warnings and "no lines" in res.warnings[0]
    grade = gates.grade_gate(con, D)
    assert not grade.ok and grade.missing[0] == f"no predictions for {D}"


# ------------------------------------------------------------------------------------- locks and records


def test_a_phase_and_date_cannot_be_claimed_twice(con: duckdb.DuckDBPyConnection) -> None:
    first = gates.claim_phase(con, "predict", D)
    with pytest.raises(LockError, match=rf"predict for 2024-04-10 is already running .*pid {os.getpid()}"):
        gates.claim_phase(con, "predict", D)
    other_date = gates.claim_phase(con, "predict", D + dt.timedelta(days=1))
    gates.finish_phase(con, first, "ok", 10)
    again = gates.claim_phase(con, "predict", D)
    for run in (other_date, again):
        gates.finish_phase(con, run, "ok", 1)
    assert gates.phase_done(con, "predict", D)


def test_a_waiting_claim_gets_the_lock_when_the_holder_finishes(con: duckdb.DuckDBPyConnection) -> None:
    holder = gates.claim_phase(con, "analytics", D)

    def release() -> None:
        time.sleep(0.4)
        gates.finish_phase(con.cursor(), holder, "ok", 5)

    t = threading.Thread(target=release)
    t.start()
    t0 = time.monotonic()
    waiter = gates.claim_phase(con.cursor(), "analytics", D, wait_s=10, poll_s=0.05)
    t.join()
    assert time.monotonic() - t0 >= 0.3
    gates.finish_phase(con, waiter, "ok", 5)


def test_a_record_left_running_by_a_dead_process_is_abandoned_not_blocking(con: duckdb.DuckDBPyConnection) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    host = socket.gethostname()
    con.execute("""INSERT INTO phase_runs VALUES (?, 'ingest', ?, ?, now(), NULL, NULL, 'running', NULL),
                   ('r0@elsewhere:1', 'ingest', ?, ?, now(), NULL, NULL, 'running', NULL),
                   ('r1@elsewhere:2', 'ingest', ?, ?, now() - INTERVAL 7 HOUR, NULL, NULL, 'running', NULL)""",
                [f"r2@{host}:{dead_pid}", D, D, D - dt.timedelta(days=1), D - dt.timedelta(days=1),
                 D - dt.timedelta(days=2), D - dt.timedelta(days=2)])
    run = gates.claim_phase(con, "ingest", D)                          # the dead local process: released
    gates.finish_phase(con, run, "ok", 0)
    assert con.execute("SELECT status FROM phase_runs WHERE run_id = ?", [f"r2@{host}:{dead_pid}"]).fetchone() == \
        ("abandoned",)
    with pytest.raises(LockError, match="elsewhere pid 1"):           # another host: alive until it ages out
        gates.claim_phase(con, "ingest", D - dt.timedelta(days=1))
    old = gates.claim_phase(con, "ingest", D - dt.timedelta(days=2))  # 7 hours old: abandoned
    gates.finish_phase(con, old, "ok", 0)


def _dead_pid() -> int:
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)


@pytest.mark.parametrize("entry", ["backfill", "run", "build", "status"])
def test_records_a_killed_backfill_left_running_are_abandoned_by_the_next_backfill_run_build_or_status(
        con: duckdb.DuckDBPyConnection, tmp_path: Path, entry: str) -> None:
    """Item 8: a backfill killed mid-phase leaves its per-table build records ``running`` over its whole
    range (not one phase and date that a claim would look at); whatever starts next releases them."""
    host, dead = socket.gethostname(), _dead_pid()
    lo = D - dt.timedelta(days=30)
    stuck = {f"a1@{host}:{dead}": ("analytics:player_game_summary", lo, D),
             f"a2@{host}:{dead}": ("precompute:feature_values", lo, D),
             f"a3@{host}:{dead}": ("feature_store:feature_store", lo, D),
             f"a4@{host}:{dead}": ("ingest", D - dt.timedelta(days=3), D - dt.timedelta(days=3))}
    alive = {f"l1@{host}:{os.getppid()}": ("analytics:team_game_summary", lo, D),   # a live process here
             "l2@elsewhere:1": ("analytics:team_game_summary", lo, D)}              # another host
    for run_id, (phase, d0, d1) in {**stuck, **alive}.items():
        con.execute("INSERT INTO phase_runs VALUES (?, ?, ?, ?, now(), NULL, NULL, 'running', NULL)",
                    [run_id, phase, d0, d1])
    settings = _settings(con, tmp_path)
    project = Project(settings, connection=con)
    shown: list[dict[str, object]] = []
    if entry == "backfill":
        (tmp_path / "empty").mkdir()
        with pytest.raises(NbapropsError, match="nothing to load"):
            project.backfill(tmp_path / "empty")
    elif entry == "run":
        run_daily(con, settings, D, only=("verify",), sink=MemorySink())
    elif entry == "build":
        run_phases(con, settings, D, D, phases=("analytics",))
    else:
        shown = project.run_records(lo, D, limit=50)
    status = dict(con.execute("SELECT run_id, status FROM phase_runs").fetchall())
    assert {status[r] for r in stuck} == {"abandoned"}
    assert {status[r] for r in alive} == {"running"}
    errors = {r[0] for r in con.execute("SELECT error FROM phase_runs WHERE status = 'abandoned'").fetchall()}
    assert errors == {gates.ABANDONED_ERROR}
    if entry == "status":
        by_phase = {(r["phase"], r["status"]) for r in shown}
        assert ("analytics:player_game_summary", "abandoned") in by_phase
        assert ("analytics:team_game_summary", "running") in by_phase


def test_phase_run_records_failures_with_their_error(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(RuntimeError), gates.phase_run(con, "grade", D):
        raise RuntimeError("boom")
    assert con.execute("""SELECT status, error, finished_at IS NOT NULL FROM phase_runs WHERE phase = 'grade'""") \
        .fetchone() == ("failed", "RuntimeError: boom", True)
    assert not gates.phase_done(con, "grade", D)
    with gates.phase_run(con, "grade", D) as run:
        run.rows = 7
    assert gates.phase_done(con, "grade", D)


# ------------------------------------------------------------------------------------- verify


def _pred(con: duckdb.DuckDBPyConnection, gid: str, player: int, system: str = "catboost", *, day: dt.date = D,
          line: float | None = 20.5, rec: str = "PASS", conf: float | None = 0.55, source: str = "ACTUAL_PROP",
          model: str = "ms-1:catboost-abc", fallback: bool = False) -> None:
    con.execute("""INSERT INTO player_prop_predictions (game_id, game_date, player_id, system_id, line, line_key,
                   predicted_points, confidence, recommendation, line_source, model_version, feature_version,
                   package_version, is_fallback, fallback_reason, batch_id, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, 20, ?, ?, ?, ?, 'v2_33features', '0.1.0', ?, ?, 'b1', now())""",
                [gid, day, player, system, line, "none" if line is None else f"{line:.1f}", conf, rec, source,
                 model, fallback, "model unavailable" if fallback else None])


@pytest.fixture
def slate(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> Settings:
    """Two games on D, each with predictions from a complete batch of the pinned model set ms-1."""
    settings = _settings(con, tmp_path)
    settings.model_path.mkdir(parents=True, exist_ok=True)
    (settings.model_path / "served.json").write_text(json.dumps({"current": "ms-1", "history": []}))
    _game(con, "0022300201", D)
    _game(con, "0022300202", D, home="BOS", away="NYK")
    for i, gid in enumerate(("0022300201", "0022300202")):
        for p in range(3):
            _pred(con, gid, 10 * i + p, conf=0.52 + 0.03 * p, rec="OVER" if p == 2 else "PASS")
    con.execute("""INSERT INTO prediction_batches (batch_id, game_date, status, failed_players, started_at,
                   heartbeat_at) VALUES ('b1', ?, 'complete', 0, now(), now())""", [D])
    return settings


def _failing(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, str]:
    return {c.name: c.detail for c in verify_date(con, settings, D) if not c.ok}


def test_verify_passes_a_healthy_slate(con: duckdb.DuckDBPyConnection, slate: Settings) -> None:
    assert _failing(con, slate) == {}


def test_verify_catches_each_problem_by_name(con: duckdb.DuckDBPyConnection, slate: Settings) -> None:
    _game(con, "0022300203", D, home="MIA", away="ORL")                 # a game without predictions
    _pred(con, "0022300202", 99, "xgboost", conf=0.5)                  # xgboost: one constant confidence
    _pred(con, "0022300202", 98, "xgboost", conf=0.5)
    _pred(con, "0022300202", 97, "moving_average", line=None, rec="UNDER", source="NO_PROP_LINE",
          model="ms-1:moving_average-x")                               # a side on no line
    _pred(con, "0022300202", 96, "similarity", model="ms-0:similarity-old")   # not the pinned set
    _pred(con, "0022300202", 95, "ensemble", fallback=True, model="fallback:points_avg_last_10")
    con.execute("UPDATE prediction_batches SET status = 'complete_with_failures', failed_players = 2")
    failing = _failing(con, slate)
    assert set(failing) == {"predictions", "batch", "confidence", "fallback", "lines", "model_versions"}
    assert "0022300203" in failing["predictions"]
    assert "xgboost = 0.5000 on 2 rows" in failing["confidence"]
    assert failing["fallback"] == "1 fallback row(s): model unavailable"
    assert "1 OVER/UNDER" in failing["lines"]
    assert "ms-0:similarity-old" in failing["model_versions"] and "fallback:points_avg_last_10" in failing["model_versions"]
    assert "failed for 2 player(s)" in failing["batch"]
    kinds = {a.kind for a in alerts_from_checks(verify_date(con, slate, D), D)}
    assert {"model_fallback", "batch_stalled", "verify_failed"} <= kinds


def test_verify_requires_95_percent_grading_of_the_previous_date(con: duckdb.DuckDBPyConnection,
                                                                 slate: Settings) -> None:
    prev = D - dt.timedelta(days=1)
    _game(con, "0022300199", prev)
    for p in range(20):
        _pred(con, "0022300199", 100 + p, day=prev)
    assert _failing(con, slate) == {}                                  # box scores not in yet: nothing owed
    _box(con, "0022300199", prev, player=100)
    assert "0 of 20 predictions graded" in _failing(con, slate)["grading_coverage"]
    con.execute("""INSERT INTO prediction_grades (game_id, game_date, player_id, system_id, line_key, recommendation,
                   is_void, has_valid_line, is_bet, result, graded_at)
                   SELECT game_id, game_date, player_id, system_id, line_key, recommendation, FALSE, TRUE, FALSE,
                          'NO_BET', now() FROM player_prop_predictions WHERE game_date = ? AND player_id < 118""", [prev])
    failing = _failing(con, slate)
    assert "18 of 20 predictions graded (90.0%, minimum 95%)" in failing["grading_coverage"]
    assert [a.kind for a in alerts_from_checks(verify_date(con, slate, D), D)] == ["grading_coverage"]
    con.execute("""INSERT INTO prediction_grades (game_id, game_date, player_id, system_id, line_key, recommendation,
                   is_void, has_valid_line, is_bet, result, graded_at)
                   SELECT game_id, game_date, player_id, system_id, line_key, recommendation, FALSE, TRUE, FALSE,
                          'NO_BET', now() FROM player_prop_predictions WHERE game_date = ? AND player_id = 118""", [prev])
    assert _failing(con, slate) == {}                                  # 19 of 20 = 95%


# ------------------------------------------------------------------------------------- the run


def test_a_blocked_phase_stops_the_run_records_it_and_alerts(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    _game(con, "0022300101", D - dt.timedelta(days=2))                  # final, no box scores
    _game(con, "0022300102", D, status="scheduled")
    sink = MemorySink()
    report = run_daily(con, _settings(con, tmp_path), D, only=("analytics", "precompute", "predict"), sink=sink)
    assert report.status == "blocked"
    assert [(p.phase, p.status) for p in report.phases] == [("analytics", "blocked")]
    assert report.problem is not None and "0022300101 (2024-04-08, MIN@DEN)" in report.problem
    assert [a.kind for a in sink.alerts] == ["gate_blocked"] and "0022300101" in sink.alerts[0].detail
    assert con.execute("""SELECT status, error LIKE '%0022300101%' FROM phase_runs
                          WHERE phase = 'analytics'""").fetchone() == ("blocked", True)
    blocked_sched = run_daily(con, _settings(con, tmp_path), D + dt.timedelta(days=3), only=("analytics",),
                              sink=sink)
    assert blocked_sched.problem is not None and "no games for 2024-04-13" in blocked_sched.problem


def test_an_off_day_is_not_an_error(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """The scoreboard of D lists no game (All-Star break): ingest runs, the slate phases are skipped, exit ok."""
    store = SnapshotStore(tmp_path / "offday")
    for i in range(8):
        day = D - dt.timedelta(days=7 - i)
        store.save(RawPayload("nba_stats", "scoreboardv3", scoreboard_params(day), AT, 200, {},
                              json.dumps({"scoreboard": {"gameDate": str(day), "games": []}})))
    start, end = odds_window(D)
    store.save(RawPayload("odds_api", "events", events_params(start, end), AT, 200, {}, "[]"))
    settings = _settings(con, tmp_path)
    sink = MemorySink()
    report = run_daily(con, settings, D, sources=make_sources(settings, replay=store.directory), sink=sink)
    assert report.status == "ok", report.problem
    assert [(p.phase, p.status) for p in report.phases] == [
        ("ingest", "ok"), ("analytics", "skipped"), ("precompute", "skipped"), ("predict", "skipped"),
        ("grade", "skipped"), ("verify", "skipped")]
    assert "no games on 2024-04-10" in report.phases[1].detail
    assert sink.alerts == []
