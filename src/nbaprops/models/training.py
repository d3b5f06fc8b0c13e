"""Walk-forward-safe training of every prediction system on data strictly before a date.

Chronology (no row of the training window is on or after ``until``)::

    [ fit members ............ | val A: ensemble weights | val B: calibration + reported MAE ] until

Learned systems do their own early stopping on the latest part of the member window.

Model-only forecasts: every system also has a forecast built from inputs that contain no line or
price (:data:`~nbaprops.features.definitions.MARKET_FEATURES`). A member that reads a market feature
(CatBoost on the v2 features) is trained a second time, on the same rows, without them; a member
that reads none (moving_average, zone_matchup, similarity, XGBoost on the v1 features) is its own
model-only forecast. The model-only ensemble is the same stacking fitted on val A to the members'
model-only forecasts. Model-only systems and their calibrators are saved in the model set (under
``model_only/`` and ``calibrators/<id>.model_only.json``) and listed in the manifest's ``model_only``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from nbaprops._version import __version__
from nbaprops.errors import ModelError
from nbaprops.executors import Executor
from nbaprops.features.definitions import FEATURE_VERSIONS, MARKET_FEATURES, SERVED_FEATURE_VERSION
from nbaprops.features.market_rows import load_market_history, load_market_rows
from nbaprops.markets import POINTS, Market, get_market
from nbaprops.models import registry
from nbaprops.models.calibration import Calibrator
from nbaprops.models.market_blend import MarketBlend
from nbaprops.models.systems import SYSTEMS, distribution_family, make_system
from nbaprops.models.systems.base import PointsSystem
from nbaprops.models.systems.ensemble import EnsembleSystem
from nbaprops.odds import devig_two_way
from nbaprops.progress import Progress, no_progress

__all__ = ["MEMBER_SYSTEMS", "MODEL_ONLY_DIR", "SYSTEM_IDS", "TrainingData", "calibration_threshold", "fit_model_set",
           "load_training_data", "train_models"]

MEMBER_SYSTEMS = ("moving_average", "zone_matchup", "similarity", "xgboost", "catboost", "minutes_ppm")
SYSTEM_IDS = (*MEMBER_SYSTEMS, "ensemble")
#: Sub-directory of a model set holding the model-only variants that differ from the main systems.
MODEL_ONLY_DIR = registry.MODEL_ONLY_DIR


def calibration_threshold(frame: pd.DataFrame) -> np.ndarray:
    """The threshold P(over) is calibrated at: the real line where one was quoted, else the
    player's L10 average rounded to a half point (a threshold for the CDF, never a stored line)."""
    line = frame["line"].to_numpy(dtype="float64")
    l10 = frame["points_avg_last_10"].to_numpy(dtype="float64")
    return np.where(np.isfinite(line), line, np.floor(l10) + 0.5)


def _split_dates(dates: pd.Series, frac_a: float, frac_b: float) -> tuple[pd.Timestamp, pd.Timestamp]:
    uniq = np.sort(dates.unique())
    n = len(uniq)
    nb = max(5, int(round(n * frac_b)))
    na = max(5, int(round(n * frac_a)))
    if n < na + nb + 20:
        raise ModelError(f"only {n} game dates before the cut-off: too little history to train and validate")
    return pd.Timestamp(uniq[n - nb - na]), pd.Timestamp(uniq[n - nb])


@dataclass
class TrainingData:
    """The frames one model set is trained on, read from the warehouse once (and shipped as they
    are to a Ray task: no connection is needed to fit)."""

    until: dt.date
    rows: pd.DataFrame       # played rows strictly before ``until``
    history: pd.DataFrame    # the similarity system's history
    feature_version: str = SERVED_FEATURE_VERSION
    market: str = POINTS.key  # the market the rows' target (``actual_points``) and lines are of


def load_training_data(con: duckdb.DuckDBPyConnection, until: dt.date, *, since: dt.date | None = None,
                       feature_version: str = SERVED_FEATURE_VERSION, market: Market = POINTS) -> TrainingData:
    """Read the training rows (in ``feature_version``) and history strictly before ``until``, for
    ``market`` (the target is the market's settled value; :mod:`nbaprops.features.market_rows`)."""
    if feature_version not in FEATURE_VERSIONS:
        raise ModelError(f"unknown feature version {feature_version!r}; known: {sorted(FEATURE_VERSIONS)}")
    if market != POINTS and feature_version != SERVED_FEATURE_VERSION:
        raise ModelError(f"a {market.name} model set trains on the served feature version "
                         f"{SERVED_FEATURE_VERSION!r} only (per-market rows exist for it alone)")
    lo = since or dt.date(1900, 1, 1)
    hi = until - dt.timedelta(days=1)
    rows = load_market_rows(con, market, lo, hi, played_only=True, version=feature_version)
    rows = rows[rows["actual_points"].notna() & (rows["actual_minutes"].fillna(0) > 0)].reset_index(drop=True)
    if rows.empty:
        raise ModelError(f"no played games before {until} in the warehouse: run `nbaprops backfill` first")
    if rows["game_date"].max() >= pd.Timestamp(until):
        raise ModelError("training rows reach the cut-off date")  # defensive: proven by tests
    for c in ("days_rest", "opponent_days_rest", "games_played_season"):
        rows[c] = rows[c].astype("float64")
    return TrainingData(until, rows, load_market_history(con, market, None, until, since=lo), feature_version,
                        market.key)


def train_models(con: duckdb.DuckDBPyConnection, model_dir: Path, until: dt.date, *,
                 since: dt.date | None = None, thread_count: int = 2, promote_if_first: bool = True,
                 progress: Progress = no_progress, val_fraction: float = 0.12,
                 feature_version: str = SERVED_FEATURE_VERSION, executor: Executor | None = None,
                 market: Market = POINTS) -> dict[str, Any]:
    """Train all systems on games strictly before ``until``; save a model set; return its manifest.

    ``market``: the market the set forecasts (points by default). Every market is forecast by the
    same systems trained on that market's rows: its stat is the target and the stat-specific
    features are the stat's (:mod:`nbaprops.features.market_rows`); the set has its own served
    pointer (:mod:`nbaprops.models.registry`).

    ``feature_version`` is the feature-store version the rows are read in (the manifest records it):
    with another version than the served one, the boosted systems train on every feature of that
    version, and the set can be evaluated but not served until the served version moves to it.
    ``executor``: fit the member systems (and their model-only variants) as parallel tasks, e.g. on Ray."""
    t0 = time.perf_counter()
    progress("load training rows", 0, len(SYSTEM_IDS) + 3)
    data = load_training_data(con, until, since=since, feature_version=feature_version, market=market)
    return fit_model_set(data, model_dir, thread_count=thread_count, promote_if_first=promote_if_first,
                         progress=progress, val_fraction=val_fraction, started=t0, executor=executor)


def _member_params(sid: str, thread_count: int, feature_version: str) -> dict[str, Any]:
    params: dict[str, Any] = {"thread_count": thread_count} if sid in ("xgboost", "catboost") else {}
    if sid in ("xgboost", "catboost", "minutes_ppm") and feature_version != SERVED_FEATURE_VERSION:
        params["feature_version"] = feature_version
    return params


def _fit_member(sid: str, fit_rows: pd.DataFrame, history: pd.DataFrame, thread_count: int,
                feature_version: str = SERVED_FEATURE_VERSION, model_only: bool = False,
                family: str = "auto") -> PointsSystem:
    """Fit one member system (a task of its own under an executor); ``model_only``: the variant
    without any line- or price-derived feature; ``family``: the spread family of the market
    (:func:`nbaprops.models.systems.distribution_family`; ``auto`` for points)."""
    params = _member_params(sid, thread_count, feature_version)
    if family != "auto" and "family" in SYSTEMS[sid]._get_param_names():
        # minutes_ppm has no spread family: its distribution is the mixture over minutes
        params["family"] = family
    if model_only:
        params["exclude_features"] = tuple(sorted(MARKET_FEATURES))
    system = make_system(sid, **params)
    if sid == "similarity":
        # the neighbour blend has one learned parameter: a recent year of rows is plenty
        recent = fit_rows[fit_rows["game_date"] >= fit_rows["game_date"].max() - pd.Timedelta(days=365)]
        system.fit(recent, recent["actual_points"], history=history)  # type: ignore[call-arg]
    else:
        system.fit(fit_rows, fit_rows["actual_points"])
    return system


def _reads_market(sid: str, thread_count: int, feature_version: str) -> bool:
    """Whether the member system reads a line- or price-derived feature (then it has a model-only variant)."""
    return bool(make_system(sid, **_member_params(sid, thread_count, feature_version)).market_inputs())


def fit_model_set(data: TrainingData, model_dir: Path, *, thread_count: int = 2, promote_if_first: bool = True,
                  progress: Progress = no_progress, val_fraction: float = 0.12,
                  started: float | None = None, executor: Executor | None = None) -> dict[str, Any]:
    """Fit, calibrate and save the model set of ``data`` (no warehouse access); return its manifest.

    With an ``executor`` (``nbaprops.executors``) the member systems and the model-only variants
    are fitted as parallel tasks; the ensemble, the calibration and the save follow on the caller, as
    in the serial run."""
    t0 = started if started is not None else time.perf_counter()
    until, rows, history, feature_version = data.until, data.rows, data.history, data.feature_version
    market = get_market(data.market)
    # the market's spread family (measured per market: docs/markets.md, "Distributions per market")
    family = distribution_family(market)
    ens_params: dict[str, Any] = {} if family == "auto" else {"family": family}
    if rows["game_date"].max() >= pd.Timestamp(until):
        raise ModelError("training rows reach the cut-off date")
    steps = len(SYSTEM_IDS) + 3
    a_start, b_start = _split_dates(rows["game_date"], val_fraction * 0.6, val_fraction * 0.4)
    fit_rows = rows[rows["game_date"] < a_start]
    val_a = rows[(rows["game_date"] >= a_start) & (rows["game_date"] < b_start)]
    val_b = rows[rows["game_date"] >= b_start]

    # (system id, model-only?) of every fit: the members, then the variants of those reading the market
    jobs = [(sid, False) for sid in MEMBER_SYSTEMS] + [
        (sid, True) for sid in MEMBER_SYSTEMS if _reads_market(sid, thread_count, feature_version)]
    fitted: dict[tuple[str, bool], PointsSystem] = {}
    if executor is None or executor.name == "serial":
        for i, (sid, mo) in enumerate(jobs):
            progress(f"fit {sid}{' (model-only)' if mo else ''}", min(i + 1, len(MEMBER_SYSTEMS)), steps)
            fitted[(sid, mo)] = _fit_member(sid, fit_rows, history, thread_count, feature_version, mo, family)
    else:
        # the fits are independent: one task each, the frames shipped once
        rows_ref, history_ref = executor.put(fit_rows), executor.put(history)
        handles = [executor.submit(_fit_member, sid, rows_ref, history_ref, thread_count, feature_version, mo, family)
                   for sid, mo in jobs]
        for done, (i, system) in enumerate(executor.as_completed(handles), start=1):
            fitted[jobs[i]] = system
            progress(f"fit {jobs[i][0]}", min(done, len(MEMBER_SYSTEMS)), steps)
    members: dict[str, PointsSystem] = {sid: fitted[(sid, False)] for sid in MEMBER_SYSTEMS}
    # the same object where the system reads no market input
    model_only: dict[str, PointsSystem] = {sid: fitted.get((sid, True), members[sid]) for sid in MEMBER_SYSTEMS}

    progress("fit ensemble", len(MEMBER_SYSTEMS) + 1, steps)
    preds_a = {sid: s.predict(val_a) for sid, s in members.items()}
    ens = EnsembleSystem(members=MEMBER_SYSTEMS, **ens_params)
    ens.fit(EnsembleSystem.build_inputs(val_a, preds_a), val_a["actual_points"])
    systems: dict[str, PointsSystem] = {**members, "ensemble": ens}
    if all(model_only[sid] is members[sid] for sid in members):
        model_only["ensemble"] = ens
    else:
        mo_a = {sid: s.predict(val_a) for sid, s in model_only.items()}
        ens_mo = EnsembleSystem(members=MEMBER_SYSTEMS, **ens_params)
        model_only["ensemble"] = ens_mo.fit(EnsembleSystem.build_inputs(val_a, mo_a), val_a["actual_points"])

    progress("calibrate", len(SYSTEM_IDS) + 1, steps)
    threshold = calibration_threshold(val_b)
    actual_b = val_b["actual_points"].to_numpy(dtype="float64")
    preds_b = {sid: s.predict_distribution(val_b) for sid, s in members.items()}
    ens_in = EnsembleSystem.build_inputs(val_b, {sid: d.mean for sid, d in preds_b.items()})
    preds_b["ensemble"] = ens.predict_distribution(ens_in)
    went_over = np.where(actual_b == threshold, np.nan, (actual_b > threshold).astype(float))
    calibrators: dict[str, Calibrator] = {}
    validation: dict[str, dict[str, float]] = {}
    has_line = np.isfinite(val_b["line"].to_numpy(dtype="float64"))
    for sid, dist in preds_b.items():
        raw = dist.p_over(threshold)
        ok = np.isfinite(raw) & np.isfinite(went_over)
        calibrators[sid] = Calibrator().fit(raw[ok], went_over[ok])
        m = np.isfinite(dist.mean)
        lm = m & has_line
        validation[sid] = {
            "rows": int(m.sum()),
            "mae": float(np.mean(np.abs(dist.mean[m] - actual_b[m]))),
            "line_rows": int(lm.sum()),
            "mae_line_rows": float(np.mean(np.abs(dist.mean[lm] - actual_b[lm]))) if lm.any() else float("nan"),
            "line_mae_same_rows": float(np.mean(np.abs(val_b["line"].to_numpy()[lm] - actual_b[lm])))
            if lm.any() else float("nan"),
        }

    # model-only calibrators: fitted the same way, on the model-only forecasts (shared where identical)
    mo_b = {sid: (preds_b[sid] if model_only[sid] is members[sid] else model_only[sid].predict_distribution(val_b))
            for sid in members}
    if model_only["ensemble"] is ens:
        mo_b["ensemble"] = preds_b["ensemble"]
    else:
        mo_in = EnsembleSystem.build_inputs(val_b, {sid: d.mean for sid, d in mo_b.items()})
        mo_b["ensemble"] = model_only["ensemble"].predict_distribution(mo_in)
    mo_calibrators: dict[str, Calibrator] = {}
    for sid, dist in mo_b.items():
        if model_only[sid] is systems[sid]:
            mo_calibrators[sid] = calibrators[sid]
        else:
            raw = dist.p_over(threshold)
            ok = np.isfinite(raw) & np.isfinite(went_over)
            mo_calibrators[sid] = Calibrator().fit(raw[ok], went_over[ok])
        lm = np.isfinite(dist.mean) & has_line
        validation[sid]["mae_line_rows_model_only"] = (
            float(np.mean(np.abs(dist.mean[lm] - actual_b[lm]))) if lm.any() else float("nan"))

    # market blend per system, on out-of-sample rows with a real line and prices
    val_ab = pd.concat([val_a, val_b], ignore_index=True)
    blends: dict[str, MarketBlend] = {}
    for sid, system in systems.items():
        rows_ = val_b if sid == "ensemble" else val_ab
        dist_ = preds_b["ensemble"] if sid == "ensemble" else system.predict_distribution(rows_)
        line_ = rows_["line"].to_numpy(dtype="float64")
        p_cal = calibrators[sid].transform(dist_.p_over(np.where(np.isfinite(line_), line_, 0.5)))
        mkt = devig_two_way(rows_["over_price"].to_numpy(dtype="float64"), rows_["under_price"].to_numpy(dtype="float64"))
        blends[sid] = MarketBlend().fit(dist_.mean, p_cal, line_, mkt, rows_["actual_points"].to_numpy(dtype="float64"))

    progress("save", len(SYSTEM_IDS) + 2, steps)
    versions = {sid: s.model_version for sid, s in systems.items()}
    mo_versions = {sid: s.model_version for sid, s in model_only.items()}
    digest = hashlib.sha256(json.dumps([versions, mo_versions], sort_keys=True).encode()).hexdigest()[:10]
    digest = digest if market == POINTS else hashlib.sha256(f"{market.key}:{digest}".encode()).hexdigest()[:10]
    model_set = f"ms-{until:%Y%m%d}-{digest}" if market == POINTS else f"ms-{market.name}-{until:%Y%m%d}-{digest}"
    set_dir = model_dir / model_set
    if set_dir.exists():
        shutil.rmtree(set_dir)
    (set_dir / "calibrators").mkdir(parents=True)
    for sid, s in systems.items():
        s.save(set_dir / sid)
        calibrators[sid].save(set_dir / "calibrators" / f"{sid}.json")
        blends[sid].save(set_dir / "calibrators" / f"{sid}.market.json")
    mo_manifest: dict[str, dict[str, Any]] = {}
    for sid, s in model_only.items():
        if s is systems[sid]:
            mo_manifest[sid] = {"source": "system", "model_version": s.model_version}
            continue
        s.save(set_dir / MODEL_ONLY_DIR / sid)
        mo_calibrators[sid].save(set_dir / "calibrators" / f"{sid}.model_only.json")
        mo_manifest[sid] = {"source": f"{MODEL_ONLY_DIR}/{sid}", "model_version": s.model_version,
                            "calibrator": f"calibrators/{sid}.model_only.json"}
    manifest = {
        "model_set": model_set,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "package_version": __version__,
        "feature_version": feature_version,
        "market": market.key,
        "trained_until": str(until),
        "train_window": [str(rows["game_date"].min().date()), str(fit_rows["game_date"].max().date())],
        "ensemble_window": [str(a_start.date()), str(val_a["game_date"].max().date())],
        "calibration_window": [str(b_start.date()), str(val_b["game_date"].max().date())],
        "train_rows": len(fit_rows),
        "validation_rows": len(val_a) + len(val_b),
        "systems": list(systems),
        "model_versions": versions,
        "ensemble_weights": ens.member_weights if hasattr(ens, "member_weights") else {},
        "validation": validation,
        "market_blend": {sid: b.to_dict() for sid, b in blends.items()},
        "market_features": sorted(MARKET_FEATURES),
        "model_only": mo_manifest,
        "train_seconds": round(time.perf_counter() - t0, 1),
    }
    registry.write_manifest(set_dir, manifest)
    served = registry.served_model_set(model_dir, required=False, market=market.key)
    manifest["served"] = served
    if served is None and promote_if_first:
        registry.promote(model_dir, model_set)
        manifest["served"] = model_set
    progress("done", steps, steps)
    return manifest
