"""Model registry: model sets on disk (native model files + a JSON manifest) and a served pointer.

Layout::

    <model_dir>/<model_set>/manifest.json          versions, window, rows, validation MAE, file SHA-256
    <model_dir>/<model_set>/<system_id>/...        each system in its library's native format
    <model_dir>/<model_set>/calibrators/<id>.json  P(over) calibration per system
    <model_dir>/<model_set>/model_only/<id>/...    model-only variants that differ from the system
                                                   (trained without the market features), with
                                                   calibrators/<id>.model_only.json
    <model_dir>/served.json                        {"current": ..., "history": [...]} (promote/rollback)
    <model_dir>/served.<market>.json               the same pointer for another market (player_rebounds, ...)

A model set forecasts one market (its manifest's ``market``; a set without one is a points set):
the systems of a rebounds set are the same seven systems trained on the rebounds rows
(``nbaprops.features.market_rows``). Each market has its own served pointer, so promoting or
rolling back a rebounds set never touches what serves points.

Training never changes what serves, except the very first model set of a market in the registry.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbaprops.errors import ModelError
from nbaprops.ingest.sources.files import file_sha256
from nbaprops.markets import MARKETS, POINTS
from nbaprops.models.calibration import Calibrator
from nbaprops.models.market_blend import MarketBlend
from nbaprops.models.systems import load_system
from nbaprops.models.systems.base import PointsSystem, SpreadModel, read_params_file

#: Folder of a model set holding the model-only variants of systems that read a line or price.
MODEL_ONLY_DIR = "model_only"

__all__ = ["LoadedModels", "SystemOutputMaps", "file_sha256", "list_model_sets", "load_model_set", "load_output_maps",
           "manifest_market", "promote", "read_manifest", "rollback", "served_markets", "served_model_set",
           "verify_model_set", "write_manifest"]

MANIFEST = "manifest.json"
SERVED = "served.json"


def write_manifest(set_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write the manifest with the SHA-256 of every file of the model set."""
    files = {str(p.relative_to(set_dir)): file_sha256(p) for p in sorted(set_dir.rglob("*"))
             if p.is_file() and p.name != MANIFEST}
    manifest = {**manifest, "files": files}
    path = set_dir / MANIFEST
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, default=str))
    os.replace(tmp, path)
    return path


def read_manifest(model_dir: Path, model_set: str) -> dict[str, Any]:
    path = model_dir / model_set / MANIFEST
    if not path.is_file():
        raise ModelError(f"model set {model_set!r} has no manifest at {path}; run `nbaprops train --until DATE`")
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"manifest {path} is corrupt: {exc}") from exc
    return data


def manifest_market(manifest: dict[str, Any]) -> str:
    """The market a model set forecasts (a manifest written before markets existed: points)."""
    return str(manifest.get("market") or POINTS.key)


def list_model_sets(model_dir: Path) -> list[dict[str, Any]]:
    """Every model set with its manifest summary, newest first, marking the served ones."""
    if not model_dir.is_dir():
        return []
    current = {m.key: served_model_set(model_dir, required=False, market=m.key) for m in MARKETS}
    out = []
    for d in model_dir.iterdir():
        if (d / MANIFEST).is_file():
            m = read_manifest(model_dir, d.name)
            market = manifest_market(m)
            out.append({"model_set": d.name, "market": market, "served": d.name == current.get(market),
                        "trained_until": m.get("trained_until"),
                        "feature_version": m.get("feature_version"), "created_at": m.get("created_at"),
                        "train_rows": m.get("train_rows"), "validation": m.get("validation", {})})
    return sorted(out, key=lambda r: str(r["created_at"]), reverse=True)


def _served_path(model_dir: Path, market: str = POINTS.key) -> Path:
    return model_dir / (SERVED if market == POINTS.key else f"served.{market}.json")


def _read_served(model_dir: Path, market: str = POINTS.key) -> dict[str, Any]:
    p = _served_path(model_dir, market)
    if not p.is_file():
        return {"current": None, "history": []}
    try:
        data: dict[str, Any] = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{p} is corrupt: {exc}; re-pin with `nbaprops models promote VERSION`") from exc
    return data


def _write_served(model_dir: Path, data: dict[str, Any], market: str = POINTS.key) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    path = _served_path(model_dir, market)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def served_model_set(model_dir: Path, *, required: bool = True, market: str = POINTS.key) -> str | None:
    """The pinned model set of ``market`` (points by default), or None / ModelError when nothing is pinned."""
    cur = _read_served(model_dir, market).get("current")
    if cur is None and required:
        flag = "" if market == POINTS.key else f" --market {market}"
        which = "" if market == POINTS.key else f" for {market}"
        raise ModelError(f"no model is served{which} from {model_dir}: run `nbaprops train --until DATE{flag}` "
                         "(the first model set is served automatically) or `nbaprops models promote VERSION`")
    return str(cur) if cur is not None else None


def served_markets(model_dir: Path) -> list[str]:
    """The markets with a served model set, in registry order."""
    return [m.key for m in MARKETS if served_model_set(model_dir, required=False, market=m.key)]


def promote(model_dir: Path, model_set: str) -> dict[str, Any]:
    """Pin ``model_set`` as served for its market (after verifying its files); the previous one is kept
    for rollback."""
    manifest = verify_model_set(model_dir, model_set)
    market = manifest_market(manifest)
    data = _read_served(model_dir, market)
    if data.get("current") and data["current"] != model_set:
        data["history"] = [*data.get("history", []), data["current"]]
    data["current"] = model_set
    data["promoted_at"] = dt.datetime.now(dt.UTC).isoformat()
    _write_served(model_dir, data, market)
    return data


def rollback(model_dir: Path, market: str = POINTS.key) -> dict[str, Any]:
    """Serve the previously served model set of ``market`` again."""
    data = _read_served(model_dir, market)
    history = list(data.get("history", []))
    if not history:
        raise ModelError("nothing to roll back to: only one model set has ever been served")
    data["current"] = history.pop()
    data["history"] = history
    data["promoted_at"] = dt.datetime.now(dt.UTC).isoformat()
    _write_served(model_dir, data, market)
    return data


def verify_model_set(model_dir: Path, model_set: str) -> dict[str, Any]:
    """Check every file of the model set against the SHA-256 in its manifest."""
    manifest = read_manifest(model_dir, model_set)
    base = model_dir / model_set
    for rel, sha in manifest.get("files", {}).items():
        p = base / rel
        if not p.is_file():
            raise ModelError(f"model file {p} is missing (model set {model_set}); retrain or roll back")
        if file_sha256(p) != sha:
            raise ModelError(f"model file {p} does not match its manifest SHA-256 (truncated or changed); "
                             "retrain or roll back")
    return manifest


@dataclass
class LoadedModels:
    """A served model set, loaded and verified."""

    model_set: str
    manifest: dict[str, Any]
    systems: dict[str, PointsSystem]
    calibrators: dict[str, Calibrator]
    blends: dict[str, MarketBlend]
    #: per system id, its model-only forecaster (the system itself when it reads no market input);
    #: empty for a model set trained before model-only forecasts existed
    model_only: dict[str, PointsSystem] = field(default_factory=dict)
    #: per system id, the calibrator of its model-only P(over)
    model_only_calibrators: dict[str, Calibrator] = field(default_factory=dict)

    @property
    def feature_version(self) -> str:
        return str(self.manifest["feature_version"])

    @property
    def market(self) -> str:
        """The market the set forecasts (the registry key)."""
        return manifest_market(self.manifest)

    def model_version(self, system_id: str) -> str:
        return f"{self.model_set}:{self.systems[system_id].model_version}"


def load_model_set(model_dir: Path, model_set: str | None = None, *, feature_version: str | None = None,
                   market: str | None = None) -> LoadedModels:
    """Load (and verify) a model set (default: the served set of ``market``, points when None);
    refuses a feature-version or market mismatch with a clear error."""
    name = model_set or served_model_set(model_dir, market=market or POINTS.key)
    assert name is not None
    manifest = verify_model_set(model_dir, name)
    if market is not None and manifest_market(manifest) != market:
        raise ModelError(f"model set {name} forecasts {manifest_market(manifest)!r}, not {market!r}; "
                         f"train one with `nbaprops train --market {market}`")
    if feature_version and manifest.get("feature_version") != feature_version:
        raise ModelError(f"model set {name} was trained on features {manifest.get('feature_version')!r} but the "
                         f"store serves {feature_version!r}; retrain with `nbaprops train`")
    systems: dict[str, PointsSystem] = {}
    calibrators: dict[str, Calibrator] = {}
    blends: dict[str, MarketBlend] = {}
    for sid in manifest["systems"]:
        try:
            systems[sid] = load_system(model_dir / name / sid)
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"cannot load system {sid} of model set {name}: {exc}") from exc
        cal = model_dir / name / "calibrators" / f"{sid}.json"
        if cal.is_file():
            calibrators[sid] = Calibrator.load(cal)
        blend = model_dir / name / "calibrators" / f"{sid}.market.json"
        if blend.is_file():
            blends[sid] = MarketBlend.load(blend)
    model_only: dict[str, PointsSystem] = {}
    mo_calibrators: dict[str, Calibrator] = {}
    for sid, entry in (manifest.get("model_only") or {}).items():
        if sid not in systems:
            continue
        if entry.get("source") == "system":
            model_only[sid] = systems[sid]
            if sid in calibrators:
                mo_calibrators[sid] = calibrators[sid]
            continue
        try:
            model_only[sid] = load_system(model_dir / name / str(entry["source"]))
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"cannot load the model-only {sid} of model set {name}: {exc}") from exc
        cal = model_dir / name / str(entry.get("calibrator") or f"calibrators/{sid}.model_only.json")
        if cal.is_file():
            mo_calibrators[sid] = Calibrator.load(cal)
    return LoadedModels(name, manifest, systems, calibrators, blends, model_only, mo_calibrators)


@dataclass
class SystemOutputMaps:
    """What turns one saved system's mean into its stored outputs, read without loading the model itself:
    the learned spread (scale and family of the predictive distribution), the P(over) calibrator and
    the market blend (each ``None`` when the set has none)."""

    model_version: str
    spread: SpreadModel
    calibrator: Calibrator | None
    blend: MarketBlend | None
    #: The spread of the system's model-only variant (the system's own where it reads no market input).
    model_only_spread: SpreadModel


def load_output_maps(model_dir: Path, model_set: str, system_id: str) -> SystemOutputMaps:
    """The spread, calibrator and market blend of ``system_id`` in ``model_set`` (``params.json`` and the
    calibrator files only: no native model is loaded, so this is cheap enough for a page view).

    Raises:
        ModelError: the set or the system is not in the registry, or its files are unreadable.
    """
    set_dir = Path(model_dir) / model_set
    if not set_dir.is_dir():
        raise ModelError(f"model set {model_set} is not in the registry")
    params = read_params_file(set_dir / system_id)
    try:
        spread = SpreadModel.from_dict(params["spread"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"system {system_id} of model set {model_set} has no readable spread: {exc}") from exc
    mo_dir = set_dir / MODEL_ONLY_DIR / system_id
    model_only_spread = spread
    if mo_dir.is_dir():
        try:
            model_only_spread = SpreadModel.from_dict(read_params_file(mo_dir)["spread"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"the model-only {system_id} of model set {model_set} has no readable spread: "
                             f"{exc}") from exc
    cal_path = set_dir / "calibrators" / f"{system_id}.json"
    blend_path = set_dir / "calibrators" / f"{system_id}.market.json"
    return SystemOutputMaps(model_version=f"{model_set}:{params.get('model_version')}", spread=spread,
                            calibrator=Calibrator.load(cal_path) if cal_path.is_file() else None,
                            blend=MarketBlend.load(blend_path) if blend_path.is_file() else None,
                            model_only_spread=model_only_spread)
