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
from nbaprops.models.registry import read_manifest
from nbaprops.models.training import train_models
from nbaprops.predict.coordinator import start_batch
from nbaprops.progress import Progress, no_progress

__all__ = ["run_backtest"]


def run_backtest(con: duckdb.DuckDBPyConnection, settings: Settings, lo: dt.date, hi: dt.date, *,
                 retrain_every_days: int = 7, progress: Progress = no_progress, workers: int = 1) -> dict[str, Any]:
    """Walk forward over [lo, hi]; returns the graded frame's summary inputs and the blocks."""
    t0 = time.perf_counter()
    dates = [r[0] for r in con.execute("""SELECT DISTINCT game_date FROM feature_store
                                          WHERE game_date BETWEEN ? AND ? AND is_expected ORDER BY 1""",
                                       [lo, hi]).fetchall()]
    if not dates:
        raise NbapropsError(f"no slates with features between {lo} and {hi}: run `nbaprops backfill` first")
    bt_dir = settings.model_path / "backtest"
    blocks: list[dict[str, Any]] = []
    block_start: dt.date | None = None
    model_set: str | None = None
    for i, d in enumerate(dates):
        if block_start is None or (d - block_start).days >= retrain_every_days:
            block_start = d
            progress(f"train until {d}", i, len(dates))
            manifest = train_models(con, bt_dir, d, thread_count=settings.threads, promote_if_first=False)
            model_set = manifest["model_set"]
            blocks.append({"model_set": model_set, "trained_until": str(d), "dates": [],
                           "train_seconds": manifest["train_seconds"]})
        assert model_set is not None
        trained_until = dt.date.fromisoformat(read_manifest(bt_dir, model_set)["trained_until"])
        if trained_until > d:
            raise LeakageError(f"model set {model_set} was trained on games up to {trained_until}; it cannot "
                               f"predict {d}")
        progress(f"predict {d}", i, len(dates))
        start_batch(con, settings, d, force=True, workers=workers, model_dir=bt_dir, model_set=model_set)
        blocks[-1]["dates"].append(str(d))
    progress("grade", len(dates), len(dates))
    graded_rows = grade_dates(con, lo, hi)
    graded = load_graded(con, lo, hi)
    check_no_leakage(graded, bt_dir)
    return {"graded": graded, "blocks": blocks, "dates": len(dates), "graded_rows": graded_rows,
            "seconds": round(time.perf_counter() - t0, 1), "model_dir": str(bt_dir)}


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
