"""A worker: run every system on one unit of players and write the rows to staging.

Each system runs behind a circuit breaker: a system that fails is recorded and skipped for the
unit, the others carry on. Rows a system cannot predict (too little history, NaN features) are
reported as skips with a reason, never filled with a default.

Next to each system's (market-blended) forecast the worker stores its model-only forecast
(``model_only_points``, ``model_only_p_over``): the mean and calibrated P(over) of the model set's
model-only variant, which sees no line or price, before any market blend. Model sets without
model-only variants leave both NULL.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nbaprops._version import __version__
from nbaprops.features.definitions import SERVED_FEATURE_VERSION
from nbaprops.markets import POINTS, line_key
from nbaprops.models.registry import LoadedModels, load_model_set
from nbaprops.models.systems.ensemble import EnsembleSystem
from nbaprops.odds import devig_two_way
from nbaprops.predict.recommend import apply_availability, recommend

__all__ = ["UnitResult", "WorkUnit", "run_unit"]

MEMBER_ORDER = ("moving_average", "zone_matchup", "similarity", "xgboost", "catboost", "minutes_ppm")


@dataclass
class WorkUnit:
    """Everything a worker needs; picklable, so it can cross a process or a broker."""

    batch_id: str
    unit_id: int
    rows: pd.DataFrame
    history: pd.DataFrame
    model_dir: str
    model_set: str | None          # None = fallback (no model)
    fallback_reason: str | None
    staging_dir: str
    min_edge: float
    min_ev: float
    fail_systems: tuple[str, ...] = ()   # test hook: systems forced to fail (circuit breaker tests)
    market: str = POINTS.key             # the market the rows and the model set forecast


@dataclass
class UnitResult:
    unit_id: int
    path: str | None
    players: list[int]
    rows: int
    skips: list[tuple[int, str | None, str]] = field(default_factory=list)
    system_failures: dict[str, str] = field(default_factory=dict)
    error: str | None = None


@lru_cache(maxsize=16)   # one model set per market: a batch of every market reads 11
def _models(model_dir: str, model_set: str) -> LoadedModels:
    return load_model_set(Path(model_dir), model_set)


def _column(rows: pd.DataFrame, name: str) -> np.ndarray:
    """A text column of the unit (None where missing or absent)."""
    if name not in rows.columns:
        return np.full(len(rows), None, dtype=object)
    values = rows[name].to_numpy(dtype=object)
    return np.array([v if isinstance(v, str) else None for v in values], dtype=object)


def _times(rows: pd.DataFrame, name: str) -> pd.Series:
    """A UTC timestamp column of the unit (NaT where missing or absent)."""
    if name not in rows.columns:
        return pd.Series(pd.NaT, index=range(len(rows)), dtype="datetime64[us, UTC]")
    return pd.Series(pd.to_datetime(rows[name], utc=True).to_numpy(), index=range(len(rows)),
                     dtype="datetime64[us, UTC]")


def _col(r: pd.DataFrame, name: str, default: np.ndarray | float = np.nan) -> np.ndarray:
    """A float column of the unit's rows, ``default`` where it is absent or missing."""
    if name not in r.columns:
        return np.broadcast_to(np.asarray(default, dtype="float64"), (len(r),)).copy()
    values = pd.to_numeric(r[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.isfinite(values), values, default)


def _market_p(r: pd.DataFrame) -> np.ndarray:
    """The market's fair P(over) at the chosen line: the books' consensus (predict/market.py), else the
    chosen book's de-vigged prices (a slate row built without the market columns)."""
    own = np.asarray(devig_two_way(r["over_price"].to_numpy(dtype="float64"),
                                   r["under_price"].to_numpy(dtype="float64")), dtype="float64")
    return _col(r, "market_p_at_line", own)


def _frame(unit: WorkUnit, sid: str, mean: np.ndarray, scale: np.ndarray, p_over: np.ndarray,
           model_version: str, fallback: str | None, model_only: tuple[np.ndarray, np.ndarray] | None = None
           ) -> pd.DataFrame:
    r = unit.rows
    nan = np.full(len(r), np.nan)
    mo_points, mo_p_over = model_only if model_only is not None else (nan, nan)
    line = r["line"].to_numpy(dtype="float64")
    over = r["over_price"].to_numpy(dtype="float64")
    under = r["under_price"].to_numpy(dtype="float64")
    # line shopping: EV at the best price of each side among the books at the line (the chosen book's
    # own price when no other book passed the gates)
    best_over, best_under = _col(r, "best_over_price", over), _col(r, "best_under_price", under)
    rec, conf, ev = recommend(mean, p_over, line, best_over, best_under, min_edge=unit.min_edge, min_ev=unit.min_ev)
    if fallback:
        rec = np.where(np.isfinite(line), "PASS", "NO_LINE").astype(object)
        conf = np.full(len(r), np.nan)
        ev = np.full(len(r), np.nan)
    status = _column(r, "injury_status")
    rec, decision_reason = apply_availability(rec, status)
    mkt_over = _market_p(r)
    has_line = np.isfinite(line)
    side_over = p_over > 0.5
    priced = has_line & np.isfinite(p_over)
    best_price = np.where(priced, np.where(side_over, best_over, best_under), np.nan)
    books = {side: (r[f"best_{side}_book"].to_numpy(dtype=object) if f"best_{side}_book" in r.columns
                    else r["sportsbook"].to_numpy(dtype=object)) for side in ("over", "under")}
    own_book = r["sportsbook"].to_numpy(dtype=object)
    best_book = np.where(side_over, books["over"], books["under"])
    best_book = np.where(pd.isna(best_book), own_book, best_book)
    best_book = np.where(priced & np.isfinite(best_price), best_book, np.array(None, dtype=object))
    return pd.DataFrame({
        "game_id": r["game_id"].to_numpy(), "game_date": r["game_date"].dt.date.to_numpy(),
        "player_id": r["player_id"].to_numpy(dtype="int64"), "system_id": sid, "market": unit.market,
        "line": np.where(has_line, line, np.nan),
        "line_key": [line_key(unit.market, x) for x in line],
        "predicted_points": mean, "predicted_scale": scale, "p_over": np.where(has_line, p_over, np.nan),
        "confidence": conf, "edge": np.where(has_line, mean - line, np.nan), "expected_value": ev,
        "recommendation": rec, "line_source": np.where(has_line, "ACTUAL_PROP", "NO_PROP_LINE"),
        "sportsbook": r["sportsbook"].where(has_line).to_numpy(dtype=object),
        "line_quoted_at": r["quoted_at"].where(has_line), "line_quote_basis": r["quote_basis"].where(has_line),
        "line_snapshot_id": r["line_snapshot_id"].where(has_line),
        "over_price": np.where(has_line, over, np.nan), "under_price": np.where(has_line, under, np.nan),
        "market_p_over": np.where(has_line, mkt_over, np.nan),
        "model_only_points": mo_points, "model_only_p_over": np.where(has_line, mo_p_over, np.nan),
        "best_book": best_book, "best_price": best_price,
        "consensus_line": _col(r, "consensus_line"), "consensus_p_over": _col(r, "consensus_p_over"),
        "books_quoting": _col(r, "books_quoting"),
        "consensus_at": (r["consensus_at"] if "consensus_at" in r.columns
                         else pd.Series(pd.NaT, index=r.index, dtype="datetime64[ns, UTC]")),
        "model_version": model_version, "feature_version": SERVED_FEATURE_VERSION, "package_version": __version__,
        "feature_quality_score": r["feature_quality_score"].to_numpy(dtype="float64"),
        "is_fallback": fallback is not None, "fallback_reason": fallback,
        "injury_status": status, "injury_report_time": _times(r, "injury_report_time"),
        "injury_as_of": _times(r, "injury_as_of"), "decision_reason": decision_reason,
        "batch_id": unit.batch_id, "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
    })


def run_unit(unit: WorkUnit) -> UnitResult:
    """Predict one unit with every system; write ``<staging>/<batch>/unit-<id>.parquet``."""
    players = [int(p) for p in unit.rows["player_id"]]
    res = UnitResult(unit.unit_id, None, players, 0)
    frames: list[pd.DataFrame] = []
    try:
        if unit.model_set is None:
            naive = unit.rows["points_avg_last_10"].to_numpy(dtype="float64")
            for sid in (*MEMBER_ORDER, "ensemble"):
                frames.append(_frame(unit, sid, naive, np.full(len(naive), np.nan), np.full(len(naive), np.nan),
                                     "fallback:points_avg_last_10", unit.fallback_reason or "no model"))
        else:
            models = _models(unit.model_dir, unit.model_set)
            means: dict[str, np.ndarray] = {}
            mo_means: dict[str, np.ndarray] = {}
            for sid in MEMBER_ORDER:
                if sid not in models.systems:
                    continue
                try:
                    if sid in unit.fail_systems:
                        raise RuntimeError(f"forced failure of {sid}")
                    system = models.systems[sid]
                    if sid == "similarity":
                        system.set_history(unit.history)
                    dist = system.predict_distribution(unit.rows)
                except Exception as exc:
                    res.system_failures[sid] = f"{type(exc).__name__}: {exc}"[:500]
                    continue
                means[sid] = dist.mean
                mo = _model_only(unit, models, sid, dist, res, lambda s: s.predict_distribution(unit.rows))
                if mo is not None:
                    mo_means[sid] = mo[0]
                frames.append(_system_rows(unit, models, sid, dist.mean, dist.scale, dist.p_over, mo))
            if "ensemble" in models.systems and means:
                ens = models.systems["ensemble"]
                # a member stopped by its breaker enters as NaN: the ensemble rescales the others
                nan = np.full(len(unit.rows), np.nan)
                members = {m: means.get(m, nan) for m in getattr(ens, "members", tuple(means))}
                try:
                    dist = ens.predict_distribution(EnsembleSystem.build_inputs(unit.rows, members))
                except Exception as exc:
                    res.system_failures["ensemble"] = f"{type(exc).__name__}: {exc}"[:500]
                else:
                    def ens_mo(s: Any) -> Any:
                        # the model-only ensemble combines the members' model-only forecasts only
                        inputs = {m: mo_means.get(m, nan) for m in getattr(s, "members", tuple(mo_means))}
                        return s.predict_distribution(EnsembleSystem.build_inputs(unit.rows, inputs))

                    mo = _model_only(unit, models, "ensemble", dist, res, ens_mo) if mo_means else None
                    frames.append(_system_rows(unit, models, "ensemble", dist.mean, dist.scale, dist.p_over, mo))
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if len(out):
            bad = ~np.isfinite(out["predicted_points"].to_numpy(dtype="float64"))
            for pid, sid in out.loc[bad, ["player_id", "system_id"]].itertuples(index=False):
                res.skips.append((int(pid), str(sid), "not enough history or features to predict"))
            out = out[~bad]
        d = Path(unit.staging_dir) / unit.batch_id
        d.mkdir(parents=True, exist_ok=True)
        final = d / f"unit-{unit.unit_id:05d}.parquet"
        tmp = d / f".unit-{unit.unit_id:05d}.{os.getpid()}.tmp"
        out.to_parquet(tmp, index=False)
        os.replace(tmp, final)   # a unit's staging file appears whole or not at all
        res.path = str(final)
        res.rows = len(out)
    except Exception as exc:
        res.error = f"{type(exc).__name__}: {exc}"[:1000]
    return res


def _model_only(unit: WorkUnit, models: LoadedModels, sid: str, dist: Any, res: UnitResult,
                predict: Callable[[Any], Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """(model-only mean, calibrated model-only P(over)) of a system, or None without a variant.

    When the system reads no market input its own distribution is reused (the variant *is* the
    system, ``dist``); a failing variant is recorded and leaves the model-only columns NULL, never
    the system's own rows.
    """
    variant = models.model_only.get(sid)
    if variant is None:
        return None
    try:
        mo_dist = dist if variant is models.systems.get(sid) else predict(variant)
    except Exception as exc:
        res.system_failures[f"{sid}:model_only"] = f"{type(exc).__name__}: {exc}"[:500]
        return None
    line = unit.rows["line"].to_numpy(dtype="float64")
    raw = mo_dist.p_over(np.where(np.isfinite(line), line, 0.5))
    cal = models.model_only_calibrators.get(sid)
    p = cal.transform(raw) if cal is not None else raw
    return np.asarray(mo_dist.mean, dtype="float64"), np.where(np.isfinite(line), p, np.nan)


def _system_rows(unit: WorkUnit, models: LoadedModels, sid: str, mean: np.ndarray, scale: np.ndarray,
                 p_over_fn: Any, model_only: tuple[np.ndarray, np.ndarray] | None = None) -> pd.DataFrame:
    line = unit.rows["line"].to_numpy(dtype="float64")
    safe_line = np.where(np.isfinite(line), line, 0.5)
    raw = p_over_fn(safe_line)
    cal = models.calibrators.get(sid)
    p = cal.transform(raw) if cal is not None else raw
    blend = models.blends.get(sid)
    if blend is not None:
        mean, p = blend.apply(mean, p, line, _market_p(unit.rows))
    p = np.where(np.isfinite(line), p, np.nan)
    return _frame(unit, sid, mean, scale, p, models.model_version(sid), None, model_only)
