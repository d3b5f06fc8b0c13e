"""The prediction coordinator: one batch per date, one query for the slate, work units on a queue,
one atomic consolidation.

    start -> refuse a concurrent batch (unless force) -> load served models (or fail loudly)
          -> load slate + history in one query -> line validation gate (quarantine)
          -> units on the TaskQueue -> workers write staging files
          -> consolidate: replace the date's predictions in one transaction, verify unique keys
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from nbaprops import leases
from nbaprops.config import Settings
from nbaprops.errors import (
    BatchConflictError,
    FallbackRefusedError,
    InputError,
    ModelError,
    NbapropsError,
    QueueStalledError,
)
from nbaprops.features.definitions import SERVED_FEATURE_VERSION
from nbaprops.features.market_rows import load_market_slate
from nbaprops.markets import MARKETS, POINTS, Market, get_market
from nbaprops.models.registry import load_model_set, served_markets, served_model_set
from nbaprops.predict.line_gate import CROSS_BOOK_REASONS, validate_lines
from nbaprops.predict.market import MARKET_AT, MARKET_COLUMNS, open_lines, slate_market
from nbaprops.predict.queue import ReportsStatus, TaskQueue
from nbaprops.predict.queues import make_queue
from nbaprops.predict.worker import UnitResult, WorkUnit, run_unit
from nbaprops.progress import Progress, no_progress
from nbaprops.warehouse.connection import transaction
from nbaprops.warehouse.injuries import player_availability

__all__ = ["BatchResult", "attach_availability", "consolidate", "start_batch"]

UNIT_SIZE = 60
_start_lock = threading.Lock()


@dataclass
class BatchResult:
    batch_id: str
    game_date: dt.date
    status: str
    expected_players: int = 0
    completed_players: int = 0
    failed_players: int = 0
    skipped_players: int = 0
    rows: int = 0
    quarantined_lines: int = 0
    model_set: str | None = None
    system_failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    #: the markets the batch predicted (registry keys), points first
    markets: list[str] = field(default_factory=lambda: [POINTS.key])
    #: per market, its model set and the rows stored
    model_sets: dict[str, str | None] = field(default_factory=dict)
    rows_by_market: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["game_date"] = str(self.game_date)
        return d


def _claim(con: duckdb.DuckDBPyConnection, game_date: dt.date, force: bool, min_minutes: float) -> str:
    """Register a new running batch for the date, refusing if a live one exists (unless force)."""
    with _start_lock:
        live = con.execute("""SELECT batch_id, owner, heartbeat_at FROM prediction_batches
                              WHERE game_date = ? AND (status IN ('running', 'consolidating')
                                    OR (status = 'stalled' AND finished_at IS NULL))""",
                           [game_date]).fetchall()
        for batch_id, owner, hb in live:
            if leases.is_stale(owner, hb, after=leases.BATCH_STALE_AFTER_S):
                con.execute("UPDATE prediction_batches SET status = 'abandoned', finished_at = now(), "
                            "error = 'coordinator died (stale heartbeat or dead process)' WHERE batch_id = ?", [batch_id])
            elif not force:
                raise BatchConflictError(f"prediction batch {batch_id} for {game_date} is already running "
                                         f"(owner {owner}); wait for it or use --force")
            else:
                con.execute("UPDATE prediction_batches SET status = 'superseded', finished_at = now() "
                            "WHERE batch_id = ?", [batch_id])
        batch_id = f"b-{game_date:%Y%m%d}-{uuid.uuid4().hex[:10]}"
        con.execute("""INSERT INTO prediction_batches (batch_id, game_date, status, min_minutes, forced, started_at,
                                                       heartbeat_at, owner)
                       VALUES (?, ?, 'running', ?, ?, now(), now(), ?)""",
                    [batch_id, game_date, min_minutes, force, leases.owner_id()])
        return batch_id


def _quarantine(con: duckdb.DuckDBPyConnection, batch_id: str, rows: pd.DataFrame, snapshot_col: str,
                reason_col: str) -> None:
    if rows.empty:
        return
    q = pd.DataFrame({"batch_id": batch_id, "game_date": pd.to_datetime(rows["game_date"]).dt.date,
                      "game_id": rows["game_id"], "player_id": rows["player_id"],
                      "line_snapshot_id": rows[snapshot_col], "sportsbook": rows["sportsbook"],
                      "line": rows["line"], "reason": rows[reason_col]})
    con.register("_lq", q)
    try:
        con.execute("INSERT INTO line_quarantine SELECT *, now() FROM _lq")
    finally:
        con.unregister("_lq")


def _at_open(con: duckdb.DuckDBPyConnection, game_date: dt.date, slate: pd.DataFrame,
             market: Market = POINTS) -> pd.DataFrame:
    """The slate re-priced at each player-game's first snapshot (``market_at='open'``): the line, prices,
    book and quote of the open replace the chosen ones, and so do the line features built from them."""
    _, judged = slate_market(con, game_date, slate, first_snapshot=True, market=market)
    opened = open_lines(slate, judged)
    out = slate.copy()
    quoted = out["line"].notna()
    for c in opened.columns:
        out.loc[quoted, c] = opened.loc[quoted, c]
    if "vegas_points_line" in out.columns:
        out.loc[quoted, "vegas_points_line"] = out.loc[quoted, "line"]
        if {"vegas_line_move", "vegas_opening_line"} <= set(out.columns):
            out.loc[quoted, "vegas_line_move"] = out.loc[quoted, "line"] - out.loc[quoted, "vegas_opening_line"]
    return out


def _gate(con: duckdb.DuckDBPyConnection, batch_id: str, slate: pd.DataFrame,
          game_date: dt.date | None = None, market_at: str = "close", market: Market = POINTS
          ) -> tuple[pd.DataFrame, int]:
    """Run the validation gates; quarantine rejected lines and predict those players as NO_LINE.

    With ``game_date``, every book's quote of the slate players is judged too (cross-book sanity,
    :mod:`nbaprops.predict.market`): a chosen quote the cross-book gate rejects is rejected like any
    other, the other books' rejects are quarantined, and the market columns (consensus, best prices)
    are added to the slate. ``market_at='open'`` prices the slate at each player-game's first
    snapshot instead (:data:`nbaprops.predict.market.MARKET_AT`). ``market``: the prop market of the
    slate (its quotes, and the line gate's parameters of that market).
    """
    quoted = slate["line"].notna()
    if market_at == "open" and game_date is not None and quoted.any():
        slate = _at_open(con, game_date, slate, market)
        quoted = slate["line"].notna()
    books, judged = (slate_market(con, game_date, slate, first_snapshot=market_at == "open", market=market)
                     if game_date is not None and quoted.any() else (None, pd.DataFrame()))
    if not quoted.any():
        return slate, 0
    cand = slate.loc[quoted].copy()
    cand["line_source"] = "ACTUAL_PROP"
    cand["market"] = market.key
    if market != POINTS:
        # the market rows carry the stat's averages under the points names (features.market_rows)
        cand["stat_avg_last_10"] = cand["points_avg_last_10"]
        cand["stat_avg_season"] = cand["points_avg_season"]
    checked = validate_lines(cand)
    n_other = 0
    if len(judged):
        xb = judged[judged["gate_reason"].isin(CROSS_BOOK_REASONS)]
        by_snapshot = dict(zip(xb["snapshot_id"], xb["gate_reason"], strict=True))
        hit = checked["is_valid"] & checked["line_snapshot_id"].map(by_snapshot).notna()
        checked.loc[hit, "reject_reason"] = checked.loc[hit, "line_snapshot_id"].map(by_snapshot)
        checked.loc[hit, "is_valid"] = False
        others = xb[~xb["snapshot_id"].isin(set(checked["line_snapshot_id"].dropna()))]
        _quarantine(con, batch_id, others, "snapshot_id", "gate_reason")
        n_other = len(others)
    out = slate.copy()
    if books is not None:
        for c in MARKET_COLUMNS:
            out[c] = books[c]
    bad = checked[~checked["is_valid"]]
    if len(bad):
        _quarantine(con, batch_id, bad, "line_snapshot_id", "reject_reason")
        for c in ("line", "over_price", "under_price"):
            out.loc[bad.index, c] = np.nan
        for c in ("sportsbook", "quoted_at", "quote_basis", "line_snapshot_id"):
            out.loc[bad.index, c] = None
        # a rejected quote must not reach the models as a feature either
        for c in ("vegas_points_line", "vegas_opening_line", "vegas_line_move"):
            if c in out.columns:
                out.loc[bad.index, c] = np.nan
        if "has_vegas_line" in out.columns:
            out.loc[bad.index, "has_vegas_line"] = 0.0
    return out, len(bad) + n_other


def attach_availability(con: duckdb.DuckDBPyConnection, slate: pd.DataFrame, game_date: dt.date,
                        now: dt.datetime) -> pd.DataFrame:
    """The slate with ``injury_status``, ``injury_report_time`` and ``injury_as_of`` per player: what the
    latest injury report published by the game's as-of time (``min(now, tip-off)``) said
    (:func:`nbaprops.warehouse.injuries.player_availability`). Not listed: status None with the report's
    time; no report by then (or no known tip-off): all three None."""
    avail = player_availability(con, game_date, now)
    out = slate.copy()
    games = avail[avail["player_id"].isna()].set_index("game_id")
    listed = avail[avail["player_id"].notna()].astype({"player_id": "int64"})
    key = pd.MultiIndex.from_arrays([out["game_id"].astype(str), out["player_id"].astype("int64")])
    by_player = listed.set_index(["game_id", "player_id"])
    status = by_player["injury_status"].reindex(key)
    out["injury_status"] = pd.Series([v if isinstance(v, str) else None for v in status.to_numpy(dtype=object)],
                                     index=out.index, dtype=object)
    for col in ("injury_report_time", "injury_as_of"):
        values = games[col].reindex(out["game_id"].astype(str)) if len(games) else pd.Series(
            [None] * len(out), dtype=object)
        out[col] = pd.to_datetime(pd.Series(values.to_numpy(), index=out.index), utc=True)
    return out


def start_batch(con: duckdb.DuckDBPyConnection, settings: Settings, game_date: dt.date, *,
                min_minutes: float = 15.0, force: bool = False, workers: int = 1, allow_fallback: bool = False,
                queue: TaskQueue | None = None, progress: Progress = no_progress,
                fail_systems: tuple[str, ...] = (),
                model_dir: Path | None = None, model_set: str | None = None,
                now: dt.datetime | None = None, market_at: str = "close",
                markets: tuple[Market, ...] | None = None,
                model_sets: dict[str, str] | None = None) -> BatchResult:
    """Predict every expected player of ``game_date`` with every system, in every market, and consolidate.

    Every player carries what the official injury report said at the game's as-of time,
    ``min(now, tip-off)`` (:func:`attach_availability`); a player listed OUT gets no OVER/UNDER
    (:func:`nbaprops.predict.recommend.apply_availability`). ``now`` is the prediction time (default: the
    clock); a past date therefore reads the reports published before its games began.

    Markets (``markets``; default: points and every other market with a served model set): points
    rows are every expected player (NO_LINE without a line), as always; another market's rows are
    the expected players quoted in that market, each predicted by that market's model set.
    Consolidation replaces the date's rows of the batch's markets only.

    ``model_dir``/``model_set`` override the served points model set and ``model_sets`` (market key ->
    set) another market's (the walk-forward backtest uses them); ``market_at`` is when the market is
    read (:data:`nbaprops.predict.market.MARKET_AT`).
    With ``allow_fallback`` and an unusable points model, fallback rows are stored only when the date holds
    no healthy (non-fallback) predictions, unless ``force``: a fallback never silently replaces a
    good slate.

    Raises:
        ModelError: a model set is unusable (and no fallback was allowed), or a market named in
            ``markets`` has no model set.
        FallbackRefusedError: fallback rows would replace healthy stored rows of the date (no ``force``).
        BatchConflictError: a batch of the date is running (no ``force``).
    """
    t0 = time.perf_counter()
    if market_at not in MARKET_AT:
        raise InputError(f"market_at must be one of {MARKET_AT}, got {market_at!r}", field="market_at")
    model_dir = model_dir or settings.model_path
    wanted = _batch_markets(model_dir, markets, model_sets)
    fallback: str | None = None
    sets: dict[str, str | None] = {}
    for m in wanted:
        if m == POINTS:
            continue
        name = (model_sets or {}).get(m.key) or served_model_set(model_dir, market=m.key)
        load_model_set(model_dir, name, feature_version=SERVED_FEATURE_VERSION, market=m.key)
        sets[m.key] = name
    if POINTS in wanted:
        try:
            model_set = model_set or served_model_set(model_dir)
            load_model_set(model_dir, model_set, feature_version=SERVED_FEATURE_VERSION)  # verify files + version now
        except ModelError as exc:
            if not allow_fallback:
                raise
            model_set, fallback = None, f"model unavailable: {exc}"
            if not force:
                _refuse_fallback_over_healthy(con, game_date, fallback)
        sets = {POINTS.key: model_set, **sets}
    batch_id = _claim(con, game_date, force, min_minutes)
    result = BatchResult(batch_id, game_date, "running", model_set=sets.get(POINTS.key) or next(iter(sets.values())),
                         markets=[m.key for m in wanted], model_sets=sets)
    try:
        units: list[tuple[Market, pd.DataFrame, pd.DataFrame]] = []
        players: set[int] = set()
        for market in wanted:
            slate, history = load_market_slate(con, market, game_date)
            if market == POINTS and slate.empty:
                raise NbapropsError(f"no expected players on {game_date}: is it a game date, and has "
                                    f"`nbaprops backfill`/`run` built its features?")
            if slate.empty:
                continue
            keep = slate["line"].notna() | (slate["minutes_avg_last_10"].fillna(0) >= min_minutes)
            slate = slate[keep].reset_index(drop=True)
            slate, quarantined = _gate(con, batch_id, slate, game_date, market_at, market)
            result.quarantined_lines += quarantined
            slate = attach_availability(con, slate, game_date, now or dt.datetime.now(dt.UTC))
            players |= {int(p) for p in slate["player_id"]}
            units += [(market, slate.iloc[i:i + UNIT_SIZE], history) for i in range(0, len(slate), UNIT_SIZE)]
        result.expected_players = len(players)
        staging = Path(settings.db).parent / "staging"
        _sweep_staging(con, staging)
        con.execute("UPDATE prediction_batches SET expected_players = ?, units_total = ?, model_set = ?, "
                    "heartbeat_at = now() WHERE batch_id = ?",
                    [result.expected_players, len(units), result.model_set, batch_id])
        q = queue or make_queue(workers)
        if isinstance(q, ReportsStatus):
            # a broker-backed queue says when units wait with no consumer: record it on the batch
            # ('stalled', never 'complete') and go back to 'running' when a worker picks them up
            def on_status(status: str, detail: str | None) -> None:
                con.execute("UPDATE prediction_batches SET status = ?, error = ?, heartbeat_at = now() "
                            "WHERE batch_id = ? AND status IN ('running', 'stalled')", [status, detail, batch_id])

            q.set_status_hook(on_status)
        try:
            for i, (market, rows, history) in enumerate(units):
                ids = set(rows["player_id"])
                q.submit(run_unit, WorkUnit(batch_id, i, rows.reset_index(drop=True),
                                            history[history["player_id"].isin(ids)].reset_index(drop=True),
                                            str(model_dir), sets.get(market.key),
                                            fallback if market == POINTS else None, str(staging),
                                            settings.min_edge, settings.min_ev, fail_systems, market.key))
            results: list[UnitResult] = []
            for done, r in enumerate(q.results(), start=1):
                results.append(r)
                progress(f"predict {game_date}", done, len(units))
                con.execute("UPDATE prediction_batches SET units_done = ?, heartbeat_at = now() WHERE batch_id = ?",
                            [done, batch_id])
        finally:
            q.close()
        failed = [r for r in results if r.error]
        for r in results:
            result.system_failures.update(r.system_failures)
        _record_skips(con, batch_id, game_date, results)
        _record_breaker(con, batch_id, result.system_failures)
        result.failed_players = len({p for r in failed for p in r.players})
        result.completed_players = result.expected_players - result.failed_players
        result.skipped_players = len({p for r in results for p, _, _ in r.skips})
        paths = [r.path for r in results if r.path and not r.error]
        with _start_lock:
            state = con.execute("SELECT status FROM prediction_batches WHERE batch_id = ?", [batch_id]).fetchone()
            if state and state[0] == "superseded":
                shutil.rmtree(staging / batch_id, ignore_errors=True)
                result.status = "superseded"
                result.seconds = round(time.perf_counter() - t0, 3)
                return result   # a forced newer batch owns the date now: never consolidate over it
            con.execute("UPDATE prediction_batches SET status = 'consolidating', heartbeat_at = now() "
                        "WHERE batch_id = ?", [batch_id])
        result.rows = consolidate(con, game_date, batch_id, paths, keep_healthy_of=None if force else fallback,
                                  markets=tuple(result.markets))
        result.rows_by_market = {str(k): int(n) for k, n in con.execute(
            "SELECT market, count(*) FROM player_prop_predictions WHERE game_date = ? AND batch_id = ? GROUP BY 1",
            [game_date, batch_id]).fetchall()}
        result.status = "complete" if not failed else "complete_with_failures"
        shutil.rmtree(staging / batch_id, ignore_errors=True)
    except Exception as exc:
        final = "stalled" if isinstance(exc, QueueStalledError) else "failed"
        con.execute("UPDATE prediction_batches SET status = ?, finished_at = now(), error = ? WHERE batch_id = ?",
                    [final, str(exc)[:2000], batch_id])
        raise
    result.seconds = round(time.perf_counter() - t0, 3)
    con.execute("""UPDATE prediction_batches SET status = ?, completed_players = ?, failed_players = ?,
                   skipped_players = ?, finished_at = now(), heartbeat_at = now()
                   WHERE batch_id = ? AND status <> 'superseded'""",
                [result.status, result.completed_players, result.failed_players, result.skipped_players, batch_id])
    return result


def _healthy_rows(con: duckdb.DuckDBPyConnection, game_date: dt.date) -> int:
    row = con.execute("""SELECT count(*) FROM player_prop_predictions
                         WHERE game_date = ? AND NOT coalesce(is_fallback, FALSE)""", [game_date]).fetchone()
    return int(row[0]) if row else 0


def _fallback_refused(game_date: dt.date, healthy: int, why: str) -> FallbackRefusedError:
    return FallbackRefusedError(
        f"refusing to replace {healthy} healthy stored prediction(s) of {game_date} with fallback rows "
        f"({why}); fix or roll back the model set (`nbaprops models rollback`), "
        "or pass --force to store fallback rows anyway")


def _refuse_fallback_over_healthy(con: duckdb.DuckDBPyConnection, game_date: dt.date, why: str) -> None:
    """Raise before anything is claimed when the date holds healthy (non-fallback) predictions."""
    healthy = _healthy_rows(con, game_date)
    if healthy:
        raise _fallback_refused(game_date, healthy, why)


def _sweep_staging(con: duckdb.DuckDBPyConnection, staging: Path) -> None:
    """Remove staging directories left by batches that are no longer running (crash, kill -9)."""
    if not staging.is_dir():
        return
    live = {r[0] for r in con.execute("""SELECT batch_id FROM prediction_batches
                                         WHERE status IN ('running', 'consolidating', 'stalled')""").fetchall()}
    for d in staging.iterdir():
        if d.is_dir() and d.name not in live:
            shutil.rmtree(d, ignore_errors=True)


def _record_skips(con: duckdb.DuckDBPyConnection, batch_id: str, game_date: dt.date,
                  results: list[UnitResult]) -> None:
    rows = [(batch_id, game_date, p, s, why) for r in results for p, s, why in r.skips]
    rows += [(batch_id, game_date, p, None, f"unit failed: {r.error}") for r in results if r.error for p in r.players]
    if rows:
        con.executemany("INSERT INTO prediction_skips VALUES (?, ?, ?, ?, ?)", rows)


def _record_breaker(con: duckdb.DuckDBPyConnection, batch_id: str, failures: dict[str, str]) -> None:
    for sid, err in failures.items():
        con.execute("INSERT INTO system_circuit_events VALUES (?, ?, 'open', 1, ?, now())", [batch_id, sid, err])


def consolidate(con: duckdb.DuckDBPyConnection, game_date: dt.date, batch_id: str, paths: list[str], *,
                keep_healthy_of: str | None = None, markets: tuple[str, ...] = (POINTS.key,)) -> int:
    """Replace the date's predictions of ``markets`` with the staged rows in ONE transaction; verify
    unique keys. Rows of the date's other markets are kept.

    A crash at any point before COMMIT leaves the previous predictions of the date untouched.

    Args:
        keep_healthy_of: set for a fallback batch without ``force`` (the reason the model is unusable):
            the transaction is rolled back with :class:`FallbackRefusedError` if the date holds healthy
            rows by then (checked again here, inside the transaction that would delete them).
    """
    with transaction(con) as tx:
        if keep_healthy_of is not None and (healthy := _healthy_rows(tx, game_date)):
            raise _fallback_refused(game_date, healthy, keep_healthy_of)
        tx.execute("DELETE FROM player_prop_predictions WHERE game_date = ? AND market IN (SELECT unnest(?::VARCHAR[]))",
                   [game_date, list(markets)])
        if paths:
            lst = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
            tx.execute(f"""INSERT INTO player_prop_predictions BY NAME
                SELECT * REPLACE (CAST(line AS DECIMAL(6, 1)) AS line, CAST(over_price AS INTEGER) AS over_price,
                                  CAST(under_price AS INTEGER) AS under_price,
                                  CAST(best_price AS INTEGER) AS best_price,
                                  CAST(books_quoting AS INTEGER) AS books_quoting,
                                  CAST(game_date AS DATE) AS game_date)
                FROM read_parquet([{lst}], union_by_name = true)""")
        dup = tx.execute("""SELECT count(*) FROM (SELECT game_id, player_id, system_id, line_key
                            FROM player_prop_predictions WHERE game_date = ? GROUP BY ALL HAVING count(*) > 1)""",
                         [game_date]).fetchone()
        if dup and dup[0]:
            raise NbapropsError(f"consolidation of {batch_id} would create {dup[0]} duplicate keys; rolled back")
        n = tx.execute("SELECT count(*) FROM player_prop_predictions WHERE game_date = ? AND market IN "
                       "(SELECT unnest(?::VARCHAR[]))", [game_date, list(markets)]).fetchone()
    return int(n[0]) if n else 0


def _batch_markets(model_dir: Path, markets: tuple[Market, ...] | None,
                   model_sets: dict[str, str] | None) -> tuple[Market, ...]:
    """The markets a batch predicts, points first: the ones named, else points plus every market
    with a served model set (or one given in ``model_sets``)."""
    if markets:
        named = {m.key for m in markets}
        return tuple(m for m in MARKETS if m.key in named)   # registry order: points first
    others = [get_market(k) for k in served_markets(model_dir) if k != POINTS.key]
    others += [get_market(k) for k in (model_sets or {}) if k != POINTS.key and get_market(k) not in others]
    return (POINTS, *others)
