"""The daily run on the real warehouse: gates, run records, locks, kill -9 recovery, alerts, doctor, versions.

One module fixture copies the session warehouse, trains a small model set (games 2024-02-15..04-08),
predicts 2024-04-09 (so the run of 04-10 has a date to grade) and writes a replay directory: the
payloads a live run of 2024-04-10 would fetch, in the upstreams' exact shapes (the recorded fixtures
of tests/fixtures/sources for 04-10, and real warehouse rows for the scoreboards and game logs of
04-03..04-09). ``run --replay DIR`` then exercises the same ingest code as the live path, offline.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import Result
from typer.testing import CliRunner

from crash import preamble
from nbaprops import cli
from nbaprops.config import Settings
from nbaprops.errors import PhaseGateError
from nbaprops.ingest.live import odds_window
from nbaprops.ingest.sources.base import RawPayload, SnapshotStore
from nbaprops.ingest.sources.files import file_sha256
from nbaprops.ingest.sources.nba_stats import player_game_logs_params, scoreboard_params
from nbaprops.ingest.sources.odds_api import event_odds_params, events_params
from nbaprops.models.training import train_models
from nbaprops.ops.versions import versions
from nbaprops.pipeline.builds import run_phases
from nbaprops.predict.coordinator import start_batch
from nbaprops.warehouse import connect

pytestmark = pytest.mark.integration

D = dt.date(2024, 4, 10)
PREV = dt.date(2024, 4, 9)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
EVENT = "7f12f126cd8d2b554b709ade5d43c5cd"        # MIN @ DEN, the recorded event-odds fixture
VOLATILE = frozenset({"loaded_at", "built_at", "quarantined_at", "applied_at", "batch_id", "created_at",
                      "graded_at"})
CLI_MAIN = "import sys; from nbaprops.cli import main; sys.argv[0] = 'nbaprops'; main()"

PHASE_TABLES = {
    "ingest": ("games", "player_boxscores", "official_player_game_logs", "prop_line_snapshots", "raw_payloads",
               "players"),
    "analytics": ("player_game_summary", "team_game_summary", "upcoming_player_game_context"),
    "precompute": ("team_defense", "player_scoring_profile", "player_daily_cache", "composite_factors",
                   "player_availability", "feature_values", "feature_store"),
    "predict": ("player_prop_predictions",),
    "grade": ("prediction_grades",),
}
# where each phase is killed: right before the COMMIT that writes this table
CRASH_AT = {"ingest": "player_boxscores", "analytics": "team_game_summary", "precompute": "player_daily_cache",
            "predict": "player_prop_predictions", "grade": "prediction_grades"}


# ------------------------------------------------------------------------------------- helpers


@dataclass
class Ops:
    db: Path
    replay: Path
    game_on_prev: str          # a game of 2024-04-09 whose box scores the tests delete and re-ingest

    @property
    def models(self) -> Path:
        return self.db.parent / "models"

    def settings(self) -> Settings:
        return Settings(_env_file=None, db=self.db, model_dir=self.models)  # type: ignore[call-arg]


@contextmanager
def _db(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with closing(connect(path)) as con:
        yield con


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBAPROPS_")}
    env.update(extra)
    return env


def _invoke(ops: Ops, *args: str, env: dict[str, str | None] | None = None) -> Result:
    """The CLI in-process."""
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("NBAPROPS_")}
    result = CliRunner().invoke(cli.app, ["--db", str(ops.db), *args], env={**unset, **(env or {})})
    return result


def _ok(result: Result) -> Any:
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.exception!r}\n{result.stdout[-2000:]}\n" \
                                  f"{result.stderr[-2000:]}"
    return json.loads(result.stdout) if result.stdout.lstrip().startswith(("{", "[")) else result.stdout


def _proc(ops: Ops, *args: str, crash_in: str | None = None, **env: str) -> subprocess.Popen[str]:
    """``nbaprops --db DB ARGS`` in a child process; ``crash_in``: it dies like kill -9 right before the
    COMMIT that writes that table (tests/crash.py)."""
    return subprocess.Popen([sys.executable, "-c", preamble(crash_in=crash_in) + CLI_MAIN, "--db", str(ops.db), *args],
                            env=_clean_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int]:
    """(rows, order-independent checksum) without wall-clock and batch-id columns; doubles to 6 decimals."""
    cols = con.execute("""SELECT column_name, data_type FROM information_schema.columns
                          WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position""",
                       [table]).fetchall()
    exprs = []
    for name, dtype in cols:
        if name in VOLATILE:
            continue
        q = f'"{name}"'
        exprs.append(f"round({q}, 6)" if dtype in ("DOUBLE", "FLOAT") else
                     f"list_transform({q}, lambda x: round(x, 6))" if dtype == "DOUBLE[]" else q)
    row = con.execute(f"SELECT count(*), coalesce(sum(hash({', '.join(exprs)})::HUGEINT), 0) FROM {table}").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _scoreboard_body(con: duckdb.DuckDBPyConnection, day: dt.date) -> str:
    """A ScoreboardV3 response for a day, from the warehouse's games (the fields the parser reads)."""
    games = []
    for gid, d, tip, hid, ha, aid, aa, hp, ap, st in con.execute(
            """SELECT game_id, game_date, tipoff_at, home_team_id, home_abbr, away_team_id, away_abbr, home_pts,
                      away_pts, status FROM games WHERE game_date = ? ORDER BY game_id""", [day]).fetchall():
        tip = tip or dt.datetime.combine(d, dt.time(23, 0), tzinfo=dt.UTC)
        games.append({"gameId": gid, "gameStatus": 3 if st == "final" else 1,
                      "gameTimeUTC": tip.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "homeTeam": {"teamId": hid, "teamTricode": ha, "score": hp},
                      "awayTeam": {"teamId": aid, "teamTricode": aa, "score": ap}})
    return json.dumps({"meta": {"version": 1}, "scoreboard": {"gameDate": str(day), "games": games}})


def _game_logs_body(con: duckdb.DuckDBPyConnection, lo: dt.date, hi: dt.date) -> str:
    """A PlayerGameLogs response for [lo, hi], from the warehouse's real box scores."""
    heads = ["SEASON_YEAR", "PLAYER_ID", "PLAYER_NAME", "TEAM_ABBREVIATION", "GAME_ID", "GAME_DATE", "MATCHUP",
             "WL", "MIN", "FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST", "TOV", "STL",
             "BLK", "PF", "PTS", "PLUS_MINUS"]
    rows = con.execute("""
        SELECT b.season, b.player_id, b.player_name, b.team_abbr, b.game_id, strftime(b.game_date, '%Y-%m-%dT00:00:00'),
               b.team_abbr || CASE WHEN b.is_home THEN ' vs. ' ELSE ' @ ' END || b.opp_abbr,
               CASE WHEN (g.home_pts > g.away_pts) = b.is_home THEN 'W' ELSE 'L' END, b.minutes,
               b.fgm, b.fga, b.fg3m, b.fg3a, b.ftm, b.fta, b.oreb, b.dreb, b.reb, b.ast, b.tov, b.stl, b.blk, b.pf,
               b.pts, coalesce(o.plus_minus, 0)
        FROM player_boxscores b JOIN games g USING (game_id)
        LEFT JOIN official_player_game_logs o ON o.game_id = b.game_id AND o.player_id = b.player_id
        WHERE b.game_date BETWEEN ? AND ? ORDER BY b.game_date, b.game_id, b.player_id""", [lo, hi]).fetchall()
    return json.dumps({"resource": "playergamelogs", "parameters": {},
                       "resultSets": [{"name": "PlayerGameLogs", "headers": heads, "rowSet": [list(r) for r in rows]}]})


def build_replay(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    """Every payload a live ingest of D requests, saved where the snapshot sources look for it."""
    store = SnapshotStore(out)
    at = dt.datetime(2024, 4, 10, 15, 0, tzinfo=dt.UTC)

    def save(source: str, endpoint: str, params: dict[str, str], body: str) -> None:
        store.save(RawPayload(source, endpoint, params, at, 200, {}, body))

    for i in range(8):
        day = D - dt.timedelta(days=7 - i)
        body = (FIXTURES / "scoreboardv3_2024-04-10.json").read_text() if day == D else _scoreboard_body(con, day)
        save("nba_stats", "scoreboardv3", scoreboard_params(day), body)
    lo, hi = D - dt.timedelta(days=7), PREV
    save("nba_stats", "playergamelogs", player_game_logs_params("2023-24", lo, hi, season_type="Regular Season"),
         _game_logs_body(con, lo, hi))
    start, end = odds_window(D)
    events = [e for e in json.loads((FIXTURES / "odds_events_2024-04-10.json").read_text()) if e["id"] == EVENT]
    save("odds_api", "events", events_params(start, end), json.dumps(events))
    save("odds_api", "event_odds", {"event_id": EVENT, **event_odds_params()},
         (FIXTURES / f"odds_event_{EVENT}_2024-04-10.json").read_text())


@pytest.fixture(scope="module")
def ops(warehouse_copy: Path) -> Ops:
    replay = warehouse_copy.parent / "replay"
    settings = Settings(_env_file=None, db=warehouse_copy, model_dir=warehouse_copy.parent / "models")  # type: ignore[call-arg]
    with _db(warehouse_copy) as con:
        build_replay(con, replay)
        train_models(con, settings.model_path, PREV, since=dt.date(2024, 2, 15))   # the first set is served
        start_batch(con, settings, PREV)
        row = con.execute("""SELECT game_id FROM games WHERE game_date = ? ORDER BY game_id LIMIT 1""",
                          [PREV]).fetchone()
    assert row is not None
    return Ops(warehouse_copy, replay, str(row[0]))


def _delete_game_boxscores(ops: Ops, game_id: str) -> dict[int, int]:
    with _db(ops.db) as con:
        pts = dict(con.execute("SELECT player_id, pts FROM player_boxscores WHERE game_id = ?", [game_id]).fetchall())
        con.execute("DELETE FROM player_boxscores WHERE game_id = ?", [game_id])
    assert pts
    return {int(k): int(v) for k, v in pts.items()}


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Hook", (_Hook,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/secret", received
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------------------------- tests


def test_daily_run_replays_a_day_end_to_end_and_records_every_phase(ops: Ops) -> None:
    """ingest (payloads landed, a deleted game's box scores re-ingested from the game logs) -> analytics ->
    precompute -> predict -> grade of the previous date -> verify; one run record per phase; then a
    second run skips what is done."""
    original = _delete_game_boxscores(ops, ops.game_on_prev)
    report = _ok(_invoke(ops, "run", "--date", str(D), "--replay", str(ops.replay), "--json"))
    assert report["status"] == "ok", report["problem"]
    status = {p["phase"]: (p["status"], p["game_date"]) for p in report["phases"]}
    assert status == {"ingest": ("ok", str(D)), "analytics": ("ok", str(D)), "precompute": ("ok", str(D)),
                      "predict": ("ok", str(D)), "grade": ("ok", str(PREV)), "verify": ("ok", str(D))}
    assert all(c["ok"] for c in report["checks"]) and {c["name"] for c in report["checks"]} >= {
        "predictions", "confidence", "fallback", "lines", "model_versions", "grading_coverage"}
    with _db(ops.db) as con:
        back = con.execute("""SELECT player_id, pts, source, fga_rim FROM player_boxscores WHERE game_id = ?""",
                           [ops.game_on_prev]).fetchall()
        assert {int(p): int(v) for p, v, _, _ in back} == original
        assert {(s, z) for _, _, s, z in back} == {("nba_api_playergamelogs", None)}
        assert con.execute("SELECT count(*) FROM raw_payloads").fetchone() == (11,)
        runs = con.execute("""SELECT phase, date_from, status, n_rows, finished_at IS NOT NULL FROM phase_runs
                              WHERE phase NOT LIKE '%:%' ORDER BY started_at""").fetchall()
        assert [(r[0], r[1], r[2]) for r in runs] == [
            ("ingest", D, "ok"), ("analytics", D, "ok"), ("precompute", D, "ok"), ("predict", D, "ok"),
            ("grade", PREV, "ok"), ("verify", D, "ok")]
        assert all(r[3] and r[4] for r in runs)
        # the per-table records of run_phases cover D-7..D
        steps = con.execute("""SELECT count(*) FROM phase_runs WHERE phase LIKE 'analytics:%' AND status = 'ok'
                               AND date_from = ? AND date_to = ?""", [D - dt.timedelta(days=7), D]).fetchone()
        assert steps == (3,)
        graded, predicted = con.execute("""SELECT (SELECT count(*) FROM prediction_grades WHERE game_date = ?),
            (SELECT count(*) FROM player_prop_predictions WHERE game_date = ?)""", [PREV, PREV]).fetchone() or (0, 0)
        assert graded == predicted > 0
        dup = con.execute("""SELECT count(*) FROM (SELECT 1 FROM player_prop_predictions WHERE game_date = ?
                             GROUP BY game_id, player_id, system_id, line_key HAVING count(*) > 1)""", [D]).fetchone()
        assert dup == (0,)

    again = _ok(_invoke(ops, "run", "--date", str(D), "--replay", str(ops.replay), "--json"))
    assert [(p["phase"], p["status"]) for p in again["phases"]] == [
        ("ingest", "skipped"), ("analytics", "skipped"), ("precompute", "skipped"), ("predict", "skipped"),
        ("grade", "skipped"), ("verify", "ok")]


def test_versions_stored_on_prediction_rows_equal_the_served_versions(ops: Ops) -> None:
    _ok(_invoke(ops, "run", "--date", str(D), "--replay", str(ops.replay), "--only", "predict", "--json"))
    info = versions(ops.settings())
    with _db(ops.db) as con:
        stored = con.execute("""SELECT DISTINCT system_id, model_version, feature_version, package_version
                                FROM player_prop_predictions WHERE game_date = ?""", [D]).fetchall()
    assert stored
    assert {(sid, mv) for sid, mv, _, _ in stored} == set(info["model_versions"].items())
    assert {fv for _, _, fv, _ in stored} == {info["feature_version"]} == {info["model_feature_version"]}
    assert {pv for _, _, _, pv in stored} == {info["package"]}


def test_version_command_prints_the_versions_stored_on_rows(ops: Ops) -> None:
    """`nbaprops version --json` includes the served model set and per-system model versions
    (needs cli.version to print ops.versions(settings))."""
    printed = _ok(_invoke(ops, "version", "--json"))
    assert printed == versions(ops.settings())
    with _db(ops.db) as con:
        stored = set(con.execute("""SELECT DISTINCT model_version FROM player_prop_predictions
                                    WHERE game_date = ?""", [D]).fetchall())
    assert stored and stored <= {(v,) for v in printed["model_versions"].values()}


def test_two_runs_for_one_date_at_once_one_runs_the_other_refuses_or_waits(ops: Ops) -> None:
    first = _proc(ops, "run", "--date", str(D), "--replay", str(ops.replay), "--force")
    try:
        assert first.stderr is not None
        seen = []
        while not any("run 2024-04-10: phases" in x for x in seen):   # printed once the run holds the warehouse
            line = first.stderr.readline()
            assert line, f"the first run ended early: {''.join(seen)}"
            seen.append(line)
        second = subprocess.run([sys.executable, "-c", CLI_MAIN, "--db", str(ops.db), "run", "--date", str(D),
                                 "--replay", str(ops.replay)], env=_clean_env(), capture_output=True, text=True,
                                timeout=120)
        assert second.returncode == 1
        assert "in use by another process" in second.stderr and "--wait" in second.stderr, second.stderr
        assert "Traceback" not in second.stderr
        t0 = time.monotonic()
        third = _ok(_invoke(ops, "run", "--date", str(D), "--replay", str(ops.replay), "--wait", "300", "--json"))
        waited = time.monotonic() - t0
    finally:
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-3000:]
    assert waited > 1.0
    assert [p["status"] for p in third["phases"]] == ["skipped"] * 5 + ["ok"]
    with _db(ops.db) as con:
        runs = con.execute("""SELECT phase, date_from, started_at, finished_at FROM phase_runs
                              WHERE phase NOT LIKE '%:%' AND status <> 'abandoned' ORDER BY phase, started_at""").fetchall()
    for a, b in zip(runs, runs[1:], strict=False):
        if (a[0], a[1]) == (b[0], b[1]):
            assert a[3] is not None and a[3] <= b[2], f"overlapping runs of {a[0]} {a[1]}"


@pytest.mark.parametrize("phase", ["ingest", "analytics", "precompute", "predict", "grade"])
def test_kill_9_in_the_middle_of_a_phase_then_rerun_matches_a_clean_run(ops: Ops, phase: str) -> None:
    only = ["--only", phase, "--force", "--replay", str(ops.replay)]
    if phase == "ingest":
        _delete_game_boxscores(ops, ops.game_on_prev)
    _ok(_invoke(ops, "run", "--date", str(D), *only))                       # the clean run
    with _db(ops.db) as con:
        clean = {t: fingerprint(con, t) for t in PHASE_TABLES[phase]}
    if phase == "ingest":
        _delete_game_boxscores(ops, ops.game_on_prev)

    crashed = _proc(ops, "run", "--date", str(D), *only, crash_in=CRASH_AT[phase])
    _, err = crashed.communicate(timeout=300)
    assert crashed.returncode == 137, err[-3000:]
    with _db(ops.db) as con:
        (running,) = con.execute("""SELECT count(*) FROM phase_runs WHERE phase = ? AND status = 'running'""",
                                 [phase]).fetchone() or (0,)
        assert running == 1                                            # the dead run's record is left behind
        if phase == "ingest":                                          # killed before its box scores committed
            assert con.execute("SELECT count(*) FROM player_boxscores WHERE game_id = ?",
                               [ops.game_on_prev]).fetchone() == (0,)

    _ok(_invoke(ops, "run", "--date", str(D), *only))                       # the re-run
    with _db(ops.db) as con:
        assert {t: fingerprint(con, t) for t in PHASE_TABLES[phase]} == clean
        assert con.execute("""SELECT count(*) FROM phase_runs WHERE phase = ? AND status = 'running'""",
                           [phase]).fetchone() == (0,)
        assert con.execute("""SELECT count(*) FROM phase_runs WHERE phase = ? AND status = 'abandoned'""",
                           [phase]).fetchone() >= (1,)
        if phase == "predict":
            assert con.execute("""SELECT count(*) FROM (SELECT 1 FROM player_prop_predictions GROUP BY game_id,
                                  player_id, system_id, line_key HAVING count(*) > 1)""").fetchone() == (0,)


def test_missing_box_scores_block_analytics_name_the_game_and_alert(ops: Ops,
                                                                    webhook: tuple[str, list[dict[str, Any]]]) -> None:
    url, received = webhook
    with _db(ops.db) as con:   # a final game of the week before D, other than the previous date's
        row = con.execute("""SELECT game_id, game_date FROM games WHERE game_date BETWEEN ? AND ?
                             ORDER BY game_date DESC, game_id LIMIT 1""",
                          [D - dt.timedelta(days=7), PREV - dt.timedelta(days=1)]).fetchone()
    assert row is not None
    game, victim_date = str(row[0]), row[1]
    _delete_game_boxscores(ops, game)
    res = _invoke(ops, "run", "--date", str(D), "--only", "analytics", "--force", "--json",
                  env={"NBAPROPS_SLACK_WEBHOOK_URL": url})
    assert res.exit_code == 1
    report = json.loads(res.stdout)
    assert report["status"] == "blocked"
    assert game in report["problem"] and str(victim_date) in report["problem"]
    assert game in res.stderr
    with _db(ops.db) as con:
        rec = con.execute("""SELECT status, error FROM phase_runs WHERE phase = 'analytics'
                             ORDER BY started_at DESC LIMIT 1""").fetchone()
    assert rec is not None and rec[0] == "blocked" and game in rec[1]
    assert len(received) == 1 and set(received[0]) == {"text"}
    assert "gate_blocked" in received[0]["text"] and game in received[0]["text"]
    # re-ingesting the day fills the gap and the gate opens
    fixed = _ok(_invoke(ops, "run", "--date", str(D), "--only", "ingest,analytics", "--force", "--replay",
                        str(ops.replay), "--json"))
    assert [p["status"] for p in fixed["phases"]] == ["ok", "ok"]


def test_precompute_on_a_date_without_analytics_is_refused_naming_table_and_date(ops: Ops) -> None:
    with _db(ops.db) as con:
        con.execute("DELETE FROM upcoming_player_game_context WHERE game_date = ?", [D])
        with pytest.raises(PhaseGateError, match=r"upcoming_player_game_context.*2024-04-10"):
            run_phases(con, ops.settings(), D, D, phases=("precompute",))
    res = _invoke(ops, "run", "--date", str(D), "--only", "precompute", "--force", "--json")
    assert res.exit_code == 1
    report = json.loads(res.stdout)
    assert report["status"] == "blocked"
    assert "upcoming_player_game_context" in report["problem"] and "2024-04-10" in report["problem"]
    with _db(ops.db) as con:
        assert con.execute("""SELECT status FROM phase_runs WHERE phase = 'precompute'
                              ORDER BY started_at DESC LIMIT 1""").fetchone() == ("blocked",)
    _ok(_invoke(ops, "run", "--date", str(D), "--only", "analytics,precompute", "--force"))


def test_a_slate_without_lines_is_predicted_no_line_with_a_warning(ops: Ops) -> None:
    with _db(ops.db) as con:
        row = con.execute("""SELECT max(f.game_date) FROM feature_store f WHERE f.game_date < '2024-03-01'
            AND f.is_expected AND f.feature_version = 'v2_33features' AND NOT EXISTS (SELECT 1 FROM prop_line_snapshots s WHERE s.game_date = f.game_date
                            AND s.market = 'player_points')""").fetchone()
    assert row is not None and row[0] is not None
    day = row[0]
    report = _ok(_invoke(ops, "run", "--date", str(day), "--only", "predict", "--force", "--json"))
    assert report["status"] == "ok"
    assert any("no lines" in w for w in report["warnings"]), report["warnings"]
    assert any(a["kind"] == "no_lines" for a in report["alerts"])
    with _db(ops.db) as con:
        recs = con.execute("""SELECT DISTINCT recommendation FROM player_prop_predictions WHERE game_date = ?""",
                           [day]).fetchall()
    assert recs == [("NO_LINE",)]


def test_doctor_fails_when_a_model_file_is_truncated_or_deleted(ops: Ops) -> None:
    def models_check() -> dict[str, Any]:
        res = _invoke(ops, "doctor", "--json")
        checks = {c["name"]: c for c in json.loads(res.stdout)}
        assert res.exit_code == (0 if all(c["ok"] for c in checks.values()) else 1)
        return checks["models"]

    assert models_check()["ok"]
    served = json.loads((ops.models / "served.json").read_text())["current"]
    victim = ops.models / served / "catboost" / "model.cbm"
    backup = victim.with_suffix(".bak")
    shutil.copyfile(victim, backup)
    try:
        with victim.open("r+b") as fh:
            fh.truncate(victim.stat().st_size // 2)
        check = models_check()
        assert not check["ok"] and "SHA-256" in check["detail"], check
        victim.unlink()
        check = models_check()
        assert not check["ok"] and "missing" in check["detail"], check
    finally:
        shutil.move(backup, victim)
    assert models_check()["ok"]


def test_run_with_a_data_directory_ingests_bulk_files(ops: Ops, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(FIXTURES / f"odds_event_{EVENT}_2024-04-10.expected.parquet", data / "odds_api_small.parquet")
    report = _ok(_invoke(ops, "run", "--date", str(D), "--data", str(data), "--only", "ingest", "--force",
                         "--json"))
    (ingest,) = report["phases"]
    assert ingest["status"] == "ok" and ingest["detail"].endswith("0 skipped"), ingest
    # a file is its content (docs/data-contract.md): this one may already be loaded, as the landing
    # file of the replayed day holds the same bytes; either way raw_files has it once
    assert "1 file(s) read" in ingest["detail"] or "1 unchanged" in ingest["detail"], ingest
    with _db(ops.db) as con:
        assert con.execute("SELECT count(*) FROM raw_files WHERE sha256 = ?",
                           [file_sha256(data / "odds_api_small.parquet")]).fetchone() == (1,)
