"""Walk-forward backtest: for each block of dates, train only on games before the block, predict
the block with its pre-tip lines, grade it, roll forward."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from nbaprops.config import Settings
from nbaprops.errors import LeakageError, NbapropsError
from nbaprops.evaluate.grade import grade_dates, load_graded
from nbaprops.executors import Executor, make_executor, worker_stats
from nbaprops.markets import POINTS, Market
from nbaprops.models.registry import read_manifest
from nbaprops.models.training import TrainingData, fit_model_set, load_training_data
from nbaprops.predict.coordinator import start_batch
from nbaprops.predict.queues import ExecutorQueue
from nbaprops.progress import Progress, no_progress

__all__ = ["run_backtest"]


def _blocks(dates: list[dt.date], retrain_every_days: int) -> list[list[dt.date]]:
    """The retrain blocks: a new block starts when ``retrain_every_days`` have passed since the last start."""
    blocks: list[list[dt.date]] = []
    for d in dates:
        if not blocks or (d - blocks[-1][0]).days >= retrain_every_days:
            blocks.append([])
        blocks[-1].append(d)
    return blocks


def _fit_block(data: TrainingData | list[TrainingData], model_dir: str, thread_count: int) -> dict[str, Any]:
    """One retrain block's task: fit and save the model set of each market's ``data`` (no warehouse
    access); returns the manifests (``manifest``: the first market's, ``manifests``: every market's by
    key) and the pid / peak memory of the process that ran it."""
    frames = data if isinstance(data, list) else [data]
    manifests = {d.market: fit_model_set(d, Path(model_dir), thread_count=thread_count, promote_if_first=False)
                 for d in frames}
    return {"manifest": manifests[frames[0].market], "manifests": manifests, **worker_stats()}


def run_backtest(con: duckdb.DuckDBPyConnection, settings: Settings, lo: dt.date, hi: dt.date, *,
                 retrain_every_days: int = 7, progress: Progress = no_progress, workers: int = 1,
                 executor: str | Executor = "serial", markets: tuple[Market, ...] = (POINTS,),
                 market_at: str = "close") -> dict[str, Any]:
    """Walk forward over [lo, hi]; returns the graded frame's summary inputs and the blocks.

    ``markets``: each block trains one model set per market (on games before the block) and predicts
    the block's slates in every market with them (points first: its rows are the slate's players);
    those markets are graded and returned, each graded row with its ``market``.

    The retrain blocks are independent (each trains on games before its first date), so they run as
    tasks of ``executor`` (``serial``, ``ray`` or an :class:`~nbaprops.executors.Executor`): the driver
    reads each block's training frame once from the warehouse and hands it over (Ray: through the
    object store), a task fits and saves the model set under the shared model directory, and the driver
    predicts the block's dates with it as soon as it is saved (serial: ``workers`` local prediction
    processes; Ray: the slate's units as Ray tasks), then grades once. The rows stored are the same
    whatever the executor. ``market_at`` (``close`` or ``open``) is passed to every batch: when the
    market is read (docs/market.md).
    """
    t0 = time.perf_counter()
    dates = [r[0] for r in con.execute("""SELECT DISTINCT game_date FROM feature_store
                                          WHERE game_date BETWEEN ? AND ? AND is_expected ORDER BY 1""",
                                       [lo, hi]).fetchall()]
    if not dates:
        raise NbapropsError(f"no slates with features between {lo} and {hi}: run `nbaprops backfill` first")
    bt_dir = settings.model_path / "backtest"
    plan = _blocks(dates, retrain_every_days)
    blocks: list[dict[str, Any]] = [{} for _ in plan]
    ex = make_executor(executor, workers) if isinstance(executor, str) else executor
    # at most this many blocks' training frames are in flight (read, shipped, not yet fitted)
    window = 1 if ex.name == "serial" else 2 * max(ex.workers, 1)
    predict_workers = workers if ex.name == "serial" else 1
    done_dates = 0
    try:
        handles: list[Any] = []
        submitted: list[int] = []
        next_block = 0
        finished = 0
        while finished < len(plan):
            while next_block < len(plan) and next_block - finished < window:
                first = plan[next_block][0]
                progress(f"train until {first}", done_dates, len(dates))
                data = ex.put([load_training_data(con, first, market=m) for m in markets])
                handles.append(ex.submit(_fit_block, data, str(bt_dir), settings.threads))
                submitted.append(next_block)
                next_block += 1
            pending = [(i, h) for i, h in enumerate(handles) if h is not None]
            i, out = next(iter(ex.as_completed([h for _, h in pending])))
            pos = pending[i][0]
            handles[pos] = None
            finished += 1
            k = submitted[pos]
            manifest = out["manifest"]
            model_set = manifest["model_set"]
            sets = {key: m["model_set"] for key, m in out["manifests"].items()}
            blocks[k] = {"model_set": model_set, "trained_until": str(plan[k][0]), "dates": [],
                         "train_seconds": round(sum(m["train_seconds"] for m in out["manifests"].values()), 1),
                         "worker_pid": out["pid"], "worker_max_rss_mb": out["max_rss_mb"]}
            if len(sets) > 1 or POINTS.key not in sets:
                blocks[k]["model_sets"] = sets
            for name in sets.values():
                trained_until = dt.date.fromisoformat(read_manifest(bt_dir, name)["trained_until"])
                if trained_until > plan[k][0]:
                    raise LeakageError(f"model set {name} was trained on games up to {trained_until}; it "
                                       f"cannot predict {plan[k][0]}")
            for d in plan[k]:
                progress(f"predict {d}", done_dates, len(dates))
                start_batch(con, settings, d, force=True, workers=predict_workers, model_dir=bt_dir,
                            model_set=sets.get(POINTS.key), model_sets=sets, markets=markets, market_at=market_at,
                            queue=None if ex.name == "serial" else ExecutorQueue(ex))
                blocks[k]["dates"].append(str(d))
                done_dates += 1
    finally:
        if isinstance(executor, str):
            ex.close()
    progress("grade", len(dates), len(dates))
    keys = [m.key for m in markets]
    graded_rows = grade_dates(con, lo, hi, markets=keys)
    graded = load_graded(con, lo, hi, markets=keys)
    check_no_leakage(graded, bt_dir)
    return {"graded": graded, "blocks": blocks, "dates": len(dates), "graded_rows": graded_rows,
            "seconds": round(time.perf_counter() - t0, 1), "model_dir": str(bt_dir), "executor": ex.name,
            "executor_workers": ex.workers, "market_at": market_at}


def check_no_leakage(graded: pd.DataFrame, model_dir: Path) -> None:
    """Refuse graded rows whose model set was trained on data of (or after) the graded date."""
    if graded.empty:
        return
    sets = graded["model_version"].str.split(":").str[0].unique()
    cut = {s: dt.date.fromisoformat(read_manifest(model_dir, s)["trained_until"]) for s in sets
           if (model_dir / s).is_dir()}
    if not cut:
        return
    until = graded["model_version"].str.split(":").str[0].map(cut)
    bad = until.notna() & (until > pd.to_datetime(graded["game_date"]).dt.date)
    if bad.any():
        row = graded[bad].iloc[0]
        raise LeakageError(f"{int(bad.sum())} graded rows come from a model trained on their own dates "
                           f"(e.g. {row['game_date']} by {row['model_version']})")
