"""The prediction phase end to end on the real data in ../shared/data.

One warehouse copy and one trained model set per module (``train --until 2024-04-10`` through the CLI);
tests that break something (a crash, a fake book, a damaged model) work on a copy of the db file.

Proves: one row per key with versions and line provenance on every row; a kill -9 inside
consolidation loses nothing and a re-run gives exactly the clean rows; a second concurrent batch
(thread or process) is refused; a missing or corrupt model fails loudly or flags every row;
a failing system is stopped by its breaker without stopping the others; placeholder lines are
quarantined while a real 20.0 line is kept; re-runs of a range replace rows; bad input is a clear error.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from crash import preamble
from nbaprops import Project, __version__
from nbaprops.api.models import PredictionRow
from nbaprops.config import DEFAULT_BOOK_PRIORITY, Settings
from nbaprops.errors import BatchConflictError, FallbackRefusedError, ModelError, NbapropsError
from nbaprops.features.definitions import FEATURE_VERSION, MARKET_FEATURES
from nbaprops.models.registry import read_manifest
from nbaprops.models.training import SYSTEM_IDS
from nbaprops.pipeline.builds import run_phases
from nbaprops.predict.coordinator import BatchResult, start_batch
from nbaprops.predict.line_gate import CROSS_BOOK_REASONS, validate_lines
from nbaprops.predict.queue import InlineQueue
from nbaprops.predict.slate import load_slate
from nbaprops.predict.worker import WorkUnit, run_unit
from nbaprops.warehouse import connect

pytestmark = pytest.mark.integration

@pytest.fixture(scope="module", autouse=True)
def _open_thresholds(opened_thresholds: None) -> None:
    """Bets must exist for the invariants below to mean anything (see conftest.open_thresholds)."""


DAY = dt.date(2024, 4, 10)          # the README's slate; the model is trained strictly before it
OTHER_DAY = dt.date(2024, 4, 9)     # a second slate inside the Odds API window
NO_GAMES = dt.date(2024, 7, 15)     # off-season
RANGE = (dt.date(2024, 4, 6), dt.date(2024, 4, 10))
MIN_MINUTES = 15.0
KEY = ["game_id", "player_id", "system_id", "line_key"]
FAKE_BOOK = "zz_placeholder_book"
CLI = "from nbaprops.cli import main; main()"
CRASH = preamble(crash_in="player_prop_predictions") + """
import datetime as dt, sys
from nbaprops.config import Settings
from nbaprops.predict.coordinator import start_batch
from nbaprops.warehouse import connect
s = Settings(db=sys.argv[1], model_dir=sys.argv[2])
start_batch(connect(s.db), s, dt.date.fromisoformat(sys.argv[3]))
print("consolidation committed: the crash hook did not fire")
"""
CONNECT = """
import sys
from nbaprops.warehouse import connect
try:
    connect(sys.argv[1])
except Exception as exc:
    print(type(exc).__name__ + ": " + str(exc))
"""


# ------------------------------------------------------------------------------------- helpers
def _env(**extra: str) -> dict[str, str]:
    """The environment of a child process: no NBAPROPS_* leaking in from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBAPROPS_")}
    return {**env, **extra}


def _run(args: list[str], *, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=_env(**env), capture_output=True, text=True,
                          timeout=600, check=False)


def _cli(*args: str, cwd: Path, models: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``nbaprops`` console entry point (``main()``) exactly as a user would."""
    env = {"NBAPROPS_MODEL_DIR": str(models)} if models else {}
    return _run(["-c", CLI, *args], cwd=cwd, **env)


def _json(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    return json.loads(proc.stdout)


def _assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Non-zero exit, no traceback, exactly one ``error: ...`` line naming what went wrong."""
    assert proc.returncode == 1, f"exit {proc.returncode}\nstderr: {proc.stderr}"
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one error line, got {len(lines)}:\n{proc.stderr}"
    assert lines[0].startswith("error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


def _copy_db(src: Path, dst_dir: Path) -> Path:
    dst_dir.mkdir(parents=True, exist_ok=True)
    dst = dst_dir / src.name
    shutil.copyfile(src, dst)
    wal = src.with_name(src.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, dst.with_name(dst.name + ".wal"))
    return dst


@contextmanager
def _open(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection that is always closed: CLI subprocesses need the file lock free."""
    con = connect(db)
    try:
        yield con
    finally:
        con.close()


def _settings(db: Path, models: Path, **kw: Any) -> Settings:
    return Settings(db=db, model_dir=models, **kw)


def _batch_rows(con: duckdb.DuckDBPyConnection, batch_id: str) -> pd.DataFrame:
    return con.execute("SELECT * FROM player_prop_predictions WHERE batch_id = ? ORDER BY ALL",
                       [batch_id]).df()


def _date_rows(con: duckdb.DuckDBPyConnection, d: dt.date) -> pd.DataFrame:
    return con.execute("""SELECT game_id, player_id, system_id, line_key, predicted_points, batch_id
                          FROM player_prop_predictions WHERE game_date = ? ORDER BY ALL""", [d]).df()


def _assert_unique_keys(rows: pd.DataFrame) -> None:
    dup = rows[rows.duplicated(KEY, keep=False)]
    assert dup.empty, f"{len(dup)} rows share a key:\n{dup[KEY].head()}"


def _keys_and_points(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[[*KEY, "predicted_points"]].sort_values(KEY).reset_index(drop=True)


def _assert_same_predictions(got: pd.DataFrame, want: pd.DataFrame) -> None:
    a, b = _keys_and_points(got), _keys_and_points(want)
    assert len(a) == len(b)
    pd.testing.assert_frame_equal(a[KEY], b[KEY])
    np.testing.assert_allclose(a["predicted_points"].to_numpy(float), b["predicted_points"].to_numpy(float),
                               rtol=0, atol=1e-9)


# ------------------------------------------------------------------------------------- fixtures
@dataclass
class Built:
    dir: Path
    db: Path
    models: Path
    manifest: dict[str, Any]
    version: dict[str, Any]
    models_listing: list[dict[str, Any]]
    batch: dict[str, Any]              # `nbaprops predict --date DAY --json`
    rows: pd.DataFrame                 # the rows that batch stored
    slate: pd.DataFrame                # load_slate(DAY) after the min-minutes filter
    skips: pd.DataFrame                # prediction_skips of the batch
    quarantine: pd.DataFrame           # line_quarantine of the batch
    snapshots: pd.DataFrame            # prop_line_snapshots behind the stored lines
    range_dates: list[dt.date]         # dates with games in RANGE

    def settings(self, **kw: Any) -> Settings:
        return _settings(self.db, self.models, **kw)


@pytest.fixture(scope="module")
def built(warehouse_copy: Path, nbaprops_json: Callable[[list[str]], Any]) -> Iterator[Built]:
    """This module's copy of the session warehouse, a model set trained on it, and one clean run."""
    db = warehouse_copy
    models = db.parent / "models"   # the CLI's default registry beside the db; private to this module
    with pytest.MonkeyPatch.context() as mp:
        for var in ("NBAPROPS_DB", "NBAPROPS_MODEL_DIR"):
            mp.delenv(var, raising=False)
        manifest = nbaprops_json(["--db", str(db), "train", "--until", str(DAY), "--json"])
        batch = nbaprops_json(["--db", str(db), "predict", "--date", str(DAY), "--json"])
        version = nbaprops_json(["version", "--json"])
        listing = nbaprops_json(["--db", str(db), "models", "--json"])
    with _open(db) as con:
        rows = _batch_rows(con, batch["batch_id"])
        slate, _ = load_slate(con, DAY)
        slate = slate[slate["line"].notna() | (slate["minutes_avg_last_10"].fillna(0) >= MIN_MINUTES)]
        skips = con.execute("SELECT * FROM prediction_skips WHERE batch_id = ?", [batch["batch_id"]]).df()
        quarantine = con.execute("SELECT * FROM line_quarantine WHERE batch_id = ?", [batch["batch_id"]]).df()
        snapshots = con.execute("""SELECT snapshot_id AS line_snapshot_id, source, sportsbook AS snap_book,
                                          line AS snap_line, quoted_at AS snap_quoted_at,
                                          tipoff_at AS snap_tipoff_at, quote_basis AS snap_basis
                                   FROM prop_line_snapshots WHERE snapshot_id IN
                                   (SELECT line_snapshot_id FROM player_prop_predictions WHERE batch_id = ?)""",
                                [batch["batch_id"]]).df()
        range_dates = [d for (d,) in con.execute(
            "SELECT DISTINCT game_date FROM games WHERE game_date BETWEEN ? AND ? ORDER BY 1", list(RANGE)).fetchall()]
    yield Built(db.parent, db, models, manifest, version, listing, batch, rows, slate.reset_index(drop=True),
                skips, quarantine, snapshots, range_dates)
    shutil.rmtree(db.parent, ignore_errors=True)   # ~0.3 GB


@pytest.fixture
def scratch(built: Built, tmp_path: Path) -> Iterator[Path]:
    """A throw-away copy of the module's warehouse (for destructive tests)."""
    db = _copy_db(built.db, tmp_path / "wh")
    yield db
    shutil.rmtree(db.parent, ignore_errors=True)


@pytest.fixture
def broken_models(built: Built, tmp_path: Path) -> Callable[[str], Path]:
    """Copy the model registry and damage one file: 'missing' deletes it, 'truncated' halves it."""

    def make(how: str) -> Path:
        dst = tmp_path / f"models-{how}"
        shutil.copytree(built.models, dst)
        target = dst / built.manifest["model_set"] / "catboost" / "model.cbm"
        assert target.is_file(), sorted(p.name for p in target.parent.iterdir())
        if how == "missing":
            target.unlink()
        else:
            data = target.read_bytes()
            target.write_bytes(data[: len(data) // 2])
        return dst

    return make


# ------------------------------------------------------------------------------------- 1. the slate
def test_predict_stores_one_row_per_key_with_versions_and_line_provenance(built: Built) -> None:
    rows, batch = built.rows, built.batch
    assert batch["status"] == "complete" and batch["failed_players"] == 0
    assert len(rows) == batch["rows"] > 0
    _assert_unique_keys(rows)
    assert not rows.duplicated(["game_id", "player_id", "system_id", "line"]).any()
    assert set(rows["system_id"]) == set(SYSTEM_IDS) and len(SYSTEM_IDS) == 7
    assert (rows["game_date"].dt.date == DAY).all()

    # every slate player x system is stored, or skipped with a recorded reason: nothing silently dropped
    slate_players = set(built.slate["player_id"].astype(int))
    assert batch["expected_players"] == len(slate_players)
    stored = set(zip(rows["player_id"].astype(int), rows["system_id"], strict=True))
    skipped = set(zip(built.skips["player_id"].astype(int), built.skips["system_id"], strict=True))
    missing = {(p, s) for p in slate_players for s in SYSTEM_IDS} - stored - skipped
    assert not missing, f"{len(missing)} (player, system) pairs neither predicted nor skipped: {sorted(missing)[:5]}"
    assert set(rows["player_id"].astype(int)) <= slate_players
    assert built.skips["reason"].notna().all()

    # probabilities and confidence on one 0-1 scale
    for col in ("p_over", "confidence"):
        vals = rows[col].dropna()
        assert ((vals >= 0) & (vals <= 1)).all(), f"{col} outside [0, 1]"
    has_line = rows["line"].notna()
    assert rows.loc[has_line, "p_over"].notna().all()
    assert rows.loc[~has_line, ["p_over", "confidence"]].isna().all().all()

    # provenance on every row
    for col in ("model_version", "feature_version", "package_version", "line_source", "batch_id",
                "recommendation", "created_at"):
        assert rows[col].notna().all(), f"{col} has NULLs"
    assert (rows["batch_id"] == batch["batch_id"]).all()
    assert (~rows["is_fallback"]).all() and rows["fallback_reason"].isna().all()
    assert set(rows["line_source"]) <= {"ACTUAL_PROP", "NO_PROP_LINE"}
    assert (rows["line_source"] == "ACTUAL_PROP").eq(has_line).all()
    assert (rows.loc[~has_line, "recommendation"] == "NO_LINE").all()
    assert rows.loc[has_line, ["sportsbook", "line_snapshot_id", "line_quote_basis"]].notna().all().all()

    # line_quoted_at for Odds API lines: the snapshot's own quote time, before tip-off
    lines = rows[has_line].merge(built.snapshots, on="line_snapshot_id", how="left", validate="many_to_one")
    assert lines["source"].notna().all(), "a stored line points at no prop_line_snapshots row"
    assert (lines["snap_book"] == lines["sportsbook"]).all()
    assert np.allclose(lines["snap_line"].to_numpy(float), lines["line"].to_numpy(float))
    odds = lines[lines["source"] == "odds_api"]
    assert len(odds) > 0, "the 2024-04-10 slate should carry Odds API lines"
    assert odds["line_quoted_at"].notna().all()
    assert (odds["line_quoted_at"] == odds["snap_quoted_at"]).all()
    assert (odds["line_quoted_at"] < odds["snap_tipoff_at"]).all()

    # no OVER/UNDER without a valid ACTUAL_PROP line
    bets = rows[rows["recommendation"].isin(["OVER", "UNDER"])]
    assert len(bets) > 0
    assert (bets["line_source"] == "ACTUAL_PROP").all() and bets["line"].notna().all()
    # (another book's quote quarantined by the cross-book gate does not take the player's line away)
    own = built.quarantine[~built.quarantine["reason"].isin(CROSS_BOOK_REASONS)]
    assert not set(zip(bets["game_id"], bets["player_id"], strict=True)) & set(
        zip(own["game_id"], own["player_id"], strict=True))
    quotes = lines[lines["recommendation"].isin(["OVER", "UNDER"])].drop_duplicates(["game_id", "player_id"])
    checked = validate_lines(pd.DataFrame({
        "game_date": quotes["game_date"], "line": quotes["line"].astype(float), "sportsbook": quotes["sportsbook"],
        "quoted_at": quotes["snap_quoted_at"], "tipoff_at": quotes["snap_tipoff_at"],
        "quote_basis": quotes["snap_basis"], "over_price": quotes["over_price"].astype(float),
        "under_price": quotes["under_price"].astype(float), "line_source": quotes["line_source"]}))
    assert checked["is_valid"].all(), checked.loc[~checked["is_valid"], "reject_reason"].value_counts()

    # versions equal what `nbaprops version --json` and `nbaprops models --json` print
    assert set(rows["package_version"]) == {built.version["package"]} == {__version__}
    assert set(rows["feature_version"]) == {FEATURE_VERSION}
    assert FEATURE_VERSION in built.version["feature_versions"]
    served = [m["model_set"] for m in built.models_listing if m["served"]]
    assert served == [built.manifest["model_set"]] == [built.batch["model_set"]]
    assert set(rows["model_version"].str.split(":").str[0]) == set(served)
    want = {sid: f"{served[0]}:{v}" for sid, v in built.manifest["model_versions"].items()}
    got = dict(rows[["system_id", "model_version"]].drop_duplicates().itertuples(index=False, name=None))
    assert got == want


# ------------------------------------------------------------------------------------- 2. kill -9
def test_kill_during_consolidation_loses_nothing_and_rerun_gives_one_row_per_key(built: Built,
                                                                                 scratch: Path) -> None:
    with _open(scratch) as con:
        before = _date_rows(con, DAY)
    assert len(before) > 0

    proc = _run(["-c", CRASH, str(scratch), str(built.models), str(DAY)], cwd=scratch.parent)
    assert proc.returncode == 137, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"

    s = _settings(scratch, built.models)
    with _open(scratch) as con:
        # the uncommitted transaction is gone: the date's previous predictions are intact
        after_crash = _date_rows(con, DAY)
        pd.testing.assert_frame_equal(after_crash, before)
        crashed = con.execute("""SELECT batch_id, status, owner FROM prediction_batches
                                 WHERE game_date = ? AND status IN ('running', 'consolidating')""", [DAY]).fetchall()
        assert len(crashed) == 1 and crashed[0][1] == "consolidating", crashed
        crashed_id = crashed[0][0]

        # the re-run is not blocked by the dead coordinator's batch (no --force needed)
        res = start_batch(con, s, DAY)
        assert res.status == "complete"
        status = dict(con.execute("SELECT batch_id, status FROM prediction_batches WHERE game_date = ?",
                                  [DAY]).fetchall())
        assert status[crashed_id] == "abandoned"
        assert status[res.batch_id] == "complete"
        assert not [b for b, st in status.items() if st in ("running", "consolidating")]
        rerun = _date_rows(con, DAY)
    _assert_unique_keys(rerun)
    assert set(rerun["batch_id"]) == {res.batch_id}
    assert len(rerun) == res.rows
    _assert_same_predictions(rerun, built.rows)


def test_process_pool_workers_store_the_same_rows_as_inline(built: Built) -> None:
    # a forked pool deadlocked here (the coordinator holds DuckDB/OpenMP threads); workers must start clean
    with _open(built.db) as con:
        res = start_batch(con, built.settings(), DAY, workers=2)
        rows = _batch_rows(con, res.batch_id)
    assert res.status == "complete" and res.rows == len(rows)
    _assert_unique_keys(rows)
    _assert_same_predictions(rows, built.rows)


def _proc_stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) of a process from /proc, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), fields[0], int(fields[19])


def _descendants(root: int) -> dict[int, int]:
    """{pid: start time} of every living descendant of ``root``."""
    parents: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _proc_stat(int(entry.name))) is not None and st[1] != "Z":
            parents[int(entry.name)] = (st[0], st[2])
    found: dict[int, int] = {}
    todo = [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, started) in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = started
                todo.append(pid)
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_kill_9_of_predict_with_workers_leaves_no_process_behind(built: Built, scratch: Path) -> None:
    """Item 7: ``kill -9`` of ``predict --workers 2`` takes its fork server, workers and resource tracker
    with it (they held each other's pipes open and ran on for minutes)."""
    code = preamble(slow_pool_units_s=60) + CLI
    log = scratch.parent / "predict.stderr"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-c", code, "--db", str(scratch), "predict", "--date", str(DAY),
                                 "--workers", "2"], cwd=scratch.parent,
                                env=_env(NBAPROPS_MODEL_DIR=str(built.models)), stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 300
        while True:
            family = _descendants(proc.pid)
            workers = [pid for pid in family if (st := _proc_stat(pid)) and st[0] != proc.pid]
            if len(workers) >= 2:
                break
            assert proc.poll() is None, f"predict ended before its workers were seen: {log.read_text()}"
            assert time.monotonic() < deadline, "the pool's workers never appeared"
            time.sleep(0.1)
        assert len(family) >= 4, family   # fork server, resource tracker and the two workers
        time.sleep(1.0)                   # workers initialised and holding their units
        family = _descendants(proc.pid)
    finally:
        proc.kill()
        proc.wait(30)
    left: list[int] = []
    for _ in range(150):   # 15 s at most
        left = [pid for pid, started in family.items() if (st := _proc_stat(pid)) and st[1] != "Z" and st[2] == started]
        if not left:
            break
        time.sleep(0.1)
    for pid in left:   # do not leak them into the rest of the session
        os.kill(pid, 9)
    assert not left, f"{len(left)} of {len(family)} child processes outlived the killed coordinator"


# ------------------------------------------------------------------------------------- 3. concurrency
class _GatedQueue(InlineQueue):
    """Inline queue that holds its results until released: a batch that is still running."""

    def __init__(self, started: threading.Event, release: threading.Event) -> None:
        super().__init__()
        self.started, self.release = started, release

    def results(self) -> Iterator[Any]:
        self.started.set()
        assert self.release.wait(120), "the test never released the batch"
        yield from super().results()


def test_second_concurrent_batch_for_a_date_is_refused_in_process(built: Built) -> None:
    s = built.settings()
    started, release = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}
    with _open(built.db) as con:
        first_con = con.cursor()

        def first() -> None:
            try:
                outcome["result"] = start_batch(first_con, s, OTHER_DAY, queue=_GatedQueue(started, release))
            except BaseException as exc:  # reported by the main thread
                outcome["error"] = exc
                started.set()

        t = threading.Thread(target=first, daemon=True)
        t.start()
        try:
            assert started.wait(120), "the first batch never reached its queue"
            assert "error" not in outcome, outcome.get("error")
            with pytest.raises(BatchConflictError, match="already running"):
                start_batch(con, s, OTHER_DAY)
        finally:
            release.set()
            t.join(120)
            first_con.close()
        assert "error" not in outcome, outcome.get("error")
        res: BatchResult = outcome["result"]
        assert res.status == "complete"
        status = con.execute("SELECT status, count(*) FROM prediction_batches WHERE game_date = ? GROUP BY 1",
                             [OTHER_DAY]).fetchall()
        rows = _date_rows(con, OTHER_DAY)
    assert "running" not in dict(status) and "consolidating" not in dict(status)
    _assert_unique_keys(rows)
    assert set(rows["batch_id"]) == {res.batch_id}


def test_batch_of_another_host_blocks_while_its_heartbeat_is_fresh(built: Built, scratch: Path) -> None:
    s = _settings(scratch, built.models)
    insert = """INSERT INTO prediction_batches (batch_id, game_date, status, started_at, heartbeat_at, owner)
                VALUES (?, ?, 'running', now(), now() - to_minutes(CAST(? AS BIGINT)), 'another-host:4242')"""
    with _open(scratch) as con:
        con.execute(insert, ["b-fresh", OTHER_DAY, 1])
        with pytest.raises(BatchConflictError, match="b-fresh"):
            start_batch(con, s, OTHER_DAY)
        forced = start_batch(con, s, OTHER_DAY, force=True)
        con.execute(insert, ["b-stale", OTHER_DAY, 30])   # heartbeat older than BATCH_STALE_AFTER_S
        normal = start_batch(con, s, OTHER_DAY)
        status = dict(con.execute("SELECT batch_id, status FROM prediction_batches WHERE game_date = ?",
                                  [OTHER_DAY]).fetchall())
    assert status["b-fresh"] == "superseded"
    assert status["b-stale"] == "abandoned"
    assert status[forced.batch_id] == status[normal.batch_id] == "complete"


def test_second_process_opening_the_warehouse_gets_a_clear_lock_error(built: Built) -> None:
    with _open(built.db):   # this process holds DuckDB's write lock on the file
        direct = _run(["-c", CONNECT, str(built.db)], cwd=built.dir)
        cli = _cli("--db", str(built.db), "predict", "--date", str(DAY), cwd=built.dir, models=built.models)
    assert direct.stdout.startswith("LockError: "), direct.stdout + direct.stderr
    assert "in use by another process" in direct.stdout
    _assert_one_line_error(cli, "in use by another process", str(built.db))


# ------------------------------------------------------------------------------------- 4. models
@pytest.mark.parametrize(("how", "message"), [("missing", "is missing"), ("truncated", "SHA-256")])
def test_missing_or_corrupt_model_fails_loudly(built: Built, broken_models: Callable[[str], Path],
                                               how: str, message: str) -> None:
    models = broken_models(how)
    with _open(built.db) as con:
        n_batches = con.execute("SELECT count(*) FROM prediction_batches").fetchone()
        with pytest.raises(ModelError, match=message) as info:
            start_batch(con, _settings(built.db, models), DAY)
        assert "catboost" in str(info.value) and ("retrain" in str(info.value) or "roll back" in str(info.value))
        # refused before a batch is claimed: nothing half-started
        assert con.execute("SELECT count(*) FROM prediction_batches").fetchone() == n_batches
    if how == "missing":
        cli = _cli("--db", str(built.db), "predict", "--date", str(DAY), cwd=built.dir, models=models)
        _assert_one_line_error(cli, "is missing", "model.cbm")


def test_fallback_without_a_model_flags_every_row(built: Built, broken_models: Callable[[str], Path],
                                                  scratch: Path) -> None:
    models = broken_models("missing")
    with _open(scratch) as con:
        # the date holds the module's healthy rows: replacing them with fallback rows needs --force
        res = start_batch(con, _settings(scratch, models), DAY, allow_fallback=True, force=True)
        rows = _batch_rows(con, res.batch_id)
        everything = _date_rows(con, DAY)
    assert res.model_set is None and res.status == "complete"
    assert len(rows) == res.rows > 0 and len(everything) == len(rows)   # the date holds only this batch
    _assert_unique_keys(rows)
    assert rows["is_fallback"].all()
    assert rows["fallback_reason"].notna().all()
    assert rows["fallback_reason"].str.contains("model unavailable").all()
    assert rows[["p_over", "confidence"]].isna().all().all()
    assert not rows["recommendation"].isin(["OVER", "UNDER"]).any()
    assert rows["model_version"].str.startswith("fallback").all()


def test_fallback_never_replaces_healthy_rows_without_force(built: Built, broken_models: Callable[[str], Path],
                                                            scratch: Path) -> None:
    """Item 10: ``--allow-fallback`` with a broken model refuses to replace the date's healthy stored rows
    (naming the date and how many) unless ``--force``; fallback rows may still replace fallback rows."""
    models = broken_models("truncated")
    with _open(scratch) as con:
        before = _date_rows(con, DAY)
        healthy = len(before)
        n_batches = con.execute("SELECT count(*) FROM prediction_batches").fetchone()
        with pytest.raises(FallbackRefusedError, match=rf"refusing to replace {healthy} healthy .* of {DAY}") as info:
            start_batch(con, _settings(scratch, models), DAY, allow_fallback=True)
        assert "--force" in str(info.value)
        pd.testing.assert_frame_equal(_date_rows(con, DAY), before)   # nothing replaced
        assert con.execute("SELECT count(*) FROM prediction_batches").fetchone() == n_batches   # nothing claimed
    cli = _cli("--db", str(scratch), "predict", "--date", str(DAY), "--allow-fallback", cwd=scratch.parent,
               models=models)
    _assert_one_line_error(cli, f"refusing to replace {healthy} healthy", str(DAY), "--force")
    with _open(scratch) as con:
        pd.testing.assert_frame_equal(_date_rows(con, DAY), before)
        forced = start_batch(con, _settings(scratch, models), DAY, allow_fallback=True, force=True)
        again = start_batch(con, _settings(scratch, models), DAY, allow_fallback=True)  # fallback over fallback
        rows = _date_rows(con, DAY)
    assert forced.status == again.status == "complete"
    assert set(rows["batch_id"]) == {again.batch_id}


# ------------------------------------------------------------------------------------- 5. breaker
def test_circuit_breaker_stops_one_system_and_keeps_the_others(built: Built) -> None:
    with _open(built.db) as con:
        res = start_batch(con, built.settings(), DAY, fail_systems=("xgboost",))
        rows = _batch_rows(con, res.batch_id)
        events = con.execute("SELECT system_id, state, last_error FROM system_circuit_events WHERE batch_id = ?",
                             [res.batch_id]).fetchall()
    assert res.status == "complete"
    assert set(res.system_failures) == {"xgboost"}
    assert [(sid, state) for sid, state, _ in events] == [("xgboost", "open")]
    assert "forced failure" in events[0][2]
    assert set(rows["system_id"]) == set(SYSTEM_IDS) - {"xgboost"}
    _assert_unique_keys(rows)
    clean = built.rows
    for sid in set(SYSTEM_IDS) - {"xgboost"}:
        assert (rows["system_id"] == sid).sum() == (clean["system_id"] == sid).sum(), sid
    members = rows[rows["system_id"] != "ensemble"].merge(clean, on=KEY, suffixes=("", "_clean"))
    np.testing.assert_allclose(members["predicted_points"], members["predicted_points_clean"], atol=1e-9)
    ens = rows[rows["system_id"] == "ensemble"]
    assert ens["predicted_points"].notna().all() and ens["p_over"].dropna().between(0, 1).all()


# ------------------------------------------------------------------------------------- 5b. model-only
def test_model_only_forecasts_are_stored_beside_the_blended_ones(built: Built) -> None:
    manifest = read_manifest(built.models, built.manifest["model_set"])
    mo = manifest["model_only"]
    assert set(mo) == set(SYSTEM_IDS)
    # CatBoost reads the vegas features: its model-only twin is trained without them and saved with a SHA-256
    assert mo["catboost"]["source"] == "model_only/catboost"
    assert {"model_only/catboost/model.cbm", "model_only/catboost/params.json",
            "calibrators/catboost.model_only.json"} <= set(manifest["files"])
    # the others read no line or price: each is its own model-only forecast
    for sid in ("moving_average", "zone_matchup", "similarity", "xgboost", "minutes_ppm"):
        assert mo[sid] == {"source": "system", "model_version": manifest["model_versions"][sid]}, sid
    assert mo["ensemble"]["source"] == "model_only/ensemble"
    assert manifest["market_features"] == sorted(MARKET_FEATURES)

    rows = built.rows
    assert rows["model_only_points"].notna().all() and (rows["model_only_points"] >= 0).all()
    has_line = rows["line"].notna()
    assert rows.loc[has_line, "model_only_p_over"].between(0, 1).all()
    assert rows.loc[~has_line, "model_only_p_over"].isna().all()
    cat = rows[rows["system_id"] == "catboost"]
    assert (cat["model_only_points"] - cat["predicted_points"]).abs().max() > 0.01   # a different forecast

    # the predictions frame of the Python API and the /predictions rows carry both columns (the date's
    # rows as stored now: another test of this module may have predicted it again)
    with _open(built.db) as con:
        stored = con.execute("SELECT * FROM player_prop_predictions WHERE game_date = ?", [DAY]).df()
    with Project(Settings(db=built.db, model_dir=built.models)) as p:
        frame = p.predictions(DAY, DAY)
    assert len(frame) == len(stored) > 0 and stored["model_only_points"].notna().all()
    got = frame.set_index(KEY)[["model_only_points", "model_only_p_over"]].sort_index()
    want = stored.set_index(KEY)[["model_only_points", "model_only_p_over"]].sort_index()
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert {"model_only_points", "model_only_p_over"} <= set(PredictionRow.model_fields)


def test_model_only_forecasts_do_not_look_at_the_market(built: Built, tmp_path: Path) -> None:
    """Leakage: every line- and price-derived input of the rows changed, the model-only columns do not move."""
    with _open(built.db) as con:
        _, history = load_slate(con, DAY)
    rows = built.slate.copy()
    model_set = built.manifest["model_set"]

    def run(frame: pd.DataFrame, tag: str) -> pd.DataFrame:
        unit = WorkUnit(f"leak-{tag}", 0, frame.reset_index(drop=True), history, str(built.models), model_set, None,
                        str(tmp_path / tag), 0.0, -1.0)
        res = run_unit(unit)
        assert res.error is None and not res.system_failures, (res.error, res.system_failures)
        assert res.path is not None
        return pd.read_parquet(res.path).sort_values(["player_id", "system_id"]).reset_index(drop=True)

    moved = rows.copy()
    quoted = moved["vegas_points_line"].notna()
    moved.loc[quoted, "vegas_points_line"] = moved.loc[quoted, "vegas_points_line"] + 6.0
    moved["vegas_opening_line"] = moved["vegas_opening_line"].fillna(12.5) - 5.0
    moved["vegas_line_move"] = moved["vegas_line_move"].fillna(0.0) + 3.0
    moved["has_vegas_line"] = 1.0 - moved["has_vegas_line"].fillna(0.0)
    moved["over_price"] = moved["over_price"].where(moved["over_price"].isna(), -180.0)
    moved["under_price"] = moved["under_price"].where(moved["under_price"].isna(), 150.0)
    assert quoted.sum() > 50

    base, market_moved = run(rows, "base"), run(moved, "moved")
    assert len(base) == len(market_moved) > 0
    np.testing.assert_allclose(market_moved["model_only_points"], base["model_only_points"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(market_moved["model_only_p_over"], base["model_only_p_over"], rtol=0, atol=1e-9)
    # the blended forecast does see the market: the change is one the inputs carry
    cat_b, cat_m = (f[f["system_id"] == "catboost"] for f in (base, market_moved))
    assert (np.abs(cat_m["predicted_points"].to_numpy() - cat_b["predicted_points"].to_numpy()).max() > 0.01
            or np.nanmax(np.abs(cat_m["p_over"].to_numpy() - cat_b["p_over"].to_numpy())) > 0.01)

    # the line itself moved too: the model-only mean still does not (its P(over) is of the new line)
    moved_line = moved.copy()
    moved_line["line"] = moved_line["line"] + 2.0
    again = run(moved_line, "line")
    np.testing.assert_allclose(again["model_only_points"], base["model_only_points"], rtol=0, atol=1e-9)


# ------------------------------------------------------------------------------------- 6. line gate
def _add_quotes(con: duckdb.DuckDBPyConnection, d: dt.date, players: list[int], line: float) -> int:
    """Quotes from FAKE_BOOK for ``players`` on ``d``: priced, quoted two hours before tip-off."""
    row = con.execute(f"""
        INSERT INTO prop_line_snapshots (snapshot_id, source, event_id, game_id, game_date, sportsbook,
            player_name, player_lookup, player_id, match_method, player_team, home_team, away_team, market, line,
            over_price, under_price, quoted_at, tipoff_at, minutes_before_tipoff, quote_basis, is_void, loaded_at)
        SELECT 'fake-' || c.game_id || '-' || c.player_id, 'odds_api', 'fake-' || c.game_id, c.game_id,
               c.game_date, '{FAKE_BOOK}', 'player ' || c.player_id, 'player' || c.player_id, c.player_id, 'test',
               c.team_abbr, CASE WHEN c.is_home THEN c.team_abbr ELSE c.opponent_abbr END,
               CASE WHEN c.is_home THEN c.opponent_abbr ELSE c.team_abbr END, 'player_points', ?, -110, -110,
               c.tipoff_at - INTERVAL 2 HOUR, c.tipoff_at, 120.0, 'quoted_at', FALSE, now()
        FROM upcoming_player_game_context c
        WHERE c.game_date = ? AND list_contains(?, c.player_id)""", [line, d, players]).fetchone()
    assert row is not None
    return int(row[0])


def test_placeholder_lines_are_quarantined_and_a_real_20_line_is_kept(built: Built, scratch: Path) -> None:
    s = _settings(scratch, built.models, book_priority=[FAKE_BOOK, *DEFAULT_BOOK_PRIORITY])
    with _open(scratch) as con:
        # DAY: a constant 20.0 for every expected player, from the preferred book
        everyone = [int(p) for (p,) in con.execute(
            "SELECT player_id FROM upcoming_player_game_context WHERE game_date = ? AND is_expected", [DAY]).fetchall()]
        assert _add_quotes(con, DAY, everyone, 20.0) == len(everyone) > 100
        # OTHER_DAY: one real-looking 20.0 quote for one ~20-point scorer; the rest of the slate as it was
        # (one the real books also quote near 20: a 20.0 far from every book's line is rightly quarantined
        # by the cross-book gate)
        one = con.execute("""SELECT f.player_id FROM feature_store f WHERE f.game_date = ? AND f.is_expected
                             AND f.feature_version = ? AND f.has_line
                             AND f.features[list_position(f.feature_names, 'points_avg_last_10')] BETWEEN 15 AND 25
                             AND f.player_id IN (SELECT player_id FROM line_quotes WHERE game_date = f.game_date
                                                 GROUP BY player_id HAVING median(line) BETWEEN 19.5 AND 20.5)
                             ORDER BY f.player_id LIMIT 1""", [OTHER_DAY, FEATURE_VERSION]).fetchone()
        assert one, "no 15-25 point scorer with a line on the second slate"
        assert _add_quotes(con, OTHER_DAY, [int(one[0])], 20.0) == 1
        for d in (DAY, OTHER_DAY):
            run_phases(con, s, d, d)
        chosen = con.execute("""SELECT count(*) FROM upcoming_player_game_context
                                WHERE game_date = ? AND sportsbook = ?""", [DAY, FAKE_BOOK]).fetchone()
        assert chosen == (len(everyone),), "the fake book should be the preferred line of every player"

        res = start_batch(con, s, DAY)
        rows = _batch_rows(con, res.batch_id)
        all_quarantined = con.execute("SELECT * FROM line_quarantine WHERE batch_id = ?", [res.batch_id]).df()
        real = start_batch(con, s, OTHER_DAY)
        real_rows = _batch_rows(con, real.batch_id)
        real_q = con.execute("SELECT * FROM line_quarantine WHERE batch_id = ?", [real.batch_id]).df()

    # the placeholder pattern: every fake line quarantined, every such player NO_LINE (other books'
    # quotes the cross-book gate quarantines are counted too, and kept apart here)
    assert res.quarantined_lines == len(all_quarantined) > 0
    quarantined = all_quarantined[~all_quarantined["reason"].isin(CROSS_BOOK_REASONS)]
    assert (quarantined["sportsbook"] == FAKE_BOOK).all() and (quarantined["line"] == 20.0).all()
    reasons = quarantined["reason"].value_counts()
    assert reasons.get("placeholder_pattern", 0) >= 0.5 * len(quarantined), reasons
    # a 20.0 far from a bench player's average fails the plausibility check first; still quarantined
    assert set(reasons.index) <= {"placeholder_pattern", "implausible_for_player"}, reasons
    predicted = set(rows["player_id"].astype(int))
    assert predicted <= set(quarantined["player_id"].astype(int))
    assert (rows["recommendation"] == "NO_LINE").all()
    assert (rows["line_source"] == "NO_PROP_LINE").all() and rows["line"].isna().all()
    assert rows["sportsbook"].isna().all()

    # a single real 20.0 quote is a line
    mine = real_rows[real_rows["player_id"] == int(one[0])]
    assert set(mine["system_id"]) == set(SYSTEM_IDS)
    assert (mine["line"].astype(float) == 20.0).all() and (mine["line_source"] == "ACTUAL_PROP").all()
    assert (mine["sportsbook"] == FAKE_BOOK).all() and mine["p_over"].notna().all()
    assert not (mine["recommendation"] == "NO_LINE").any()
    assert int(one[0]) not in set(real_q.loc[~real_q["reason"].isin(CROSS_BOOK_REASONS), "player_id"].astype(int))
    assert (real_rows["line_source"] == "ACTUAL_PROP").sum() > len(SYSTEM_IDS)   # the rest of the slate kept lines


# ------------------------------------------------------------------------------------- 7. re-runs
def test_predict_range_twice_replaces_rows(built: Built, nbaprops_json: Callable[[list[str]], Any]) -> None:
    assert len(built.range_dates) >= 3
    args = ["--db", str(built.db), "predict", "--from", str(RANGE[0]), "--to", str(RANGE[1]), "--json"]
    counts, batches = [], []
    for _ in range(2):
        results = nbaprops_json(args)
        assert [r["game_date"] for r in results] == [str(d) for d in built.range_dates]
        assert all(r["status"] == "complete" for r in results)
        with _open(built.db) as con:
            rows = con.execute("""SELECT game_id, player_id, system_id, line_key, batch_id
                                  FROM player_prop_predictions WHERE game_date BETWEEN ? AND ?""", list(RANGE)).df()
        _assert_unique_keys(rows)
        assert len(rows) == sum(r["rows"] for r in results)
        assert set(rows["batch_id"]) == {r["batch_id"] for r in results}   # only this run's rows remain
        counts.append(len(rows))
        batches.append({r["batch_id"] for r in results})
    assert counts[0] == counts[1] > 0
    assert not batches[0] & batches[1]


# ------------------------------------------------------------------------------------- 8. bad input
def test_a_date_without_games_is_a_clear_error(built: Built) -> None:
    with _open(built.db) as con:
        with pytest.raises(NbapropsError, match=f"no expected players on {NO_GAMES}"):
            start_batch(con, built.settings(), NO_GAMES)
        status = con.execute("SELECT status FROM prediction_batches WHERE game_date = ?", [NO_GAMES]).fetchall()
    assert status and {st for (st,) in status} == {"failed"}   # recorded, never left 'running'
    cli = _cli("--db", str(built.db), "predict", "--date", str(NO_GAMES), cwd=built.dir, models=built.models)
    _assert_one_line_error(cli, f"no expected players on {NO_GAMES}")


@pytest.mark.parametrize("bad", ["2024-13-45", "04/10/2024"])
def test_a_bad_date_is_a_clear_cli_error(built: Built, bad: str) -> None:
    proc = _cli("--db", str(built.db), "predict", "--date", bad, cwd=built.dir, models=built.models)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    flat = re.sub(r"[\s│╭╮╰╯─]+", " ", proc.stderr)
    assert f"'{bad}' is not a date" in flat and "YYYY-MM-DD" in flat, proc.stderr
