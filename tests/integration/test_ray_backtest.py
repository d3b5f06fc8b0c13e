"""The backtest on Ray (``--executor ray``) stores exactly the rows of the serial run, and a Ray
worker killed in the middle of a retrain task costs nothing: Ray retries the task, no row is lost or
duplicated. Training with the member systems as Ray tasks gives the serial model set. Ray is started
(2 CPUs, local) and stopped by this module."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from nbaprops.config import load_settings
from nbaprops.evaluate import backtest
from nbaprops.executors import RayExecutor, SerialExecutor
from nbaprops.models.training import fit_model_set, load_training_data
from nbaprops.warehouse import connect

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]
# CI installs the extra: there a missing Ray fails instead of skipping
ray = importlib.import_module("ray") if os.environ.get("CI") else pytest.importorskip("ray")

LO, HI, EVERY = dt.date(2024, 4, 1), dt.date(2024, 4, 5), 3   # 2 retrain blocks
VOLATILE = ["batch_id", "created_at", "graded_at"]
_real_fit = backtest._fit_block


def _stored(db: Path) -> dict[str, pd.DataFrame]:
    con = connect(db)
    try:
        out = {}
        for table, keys in (("player_prop_predictions", ["game_id", "player_id", "system_id", "line_key"]),
                            ("prediction_grades", ["game_id", "player_id", "system_id", "line_key"])):
            df = con.execute(f"SELECT * FROM {table} WHERE game_date BETWEEN ? AND ?", [LO, HI]).df()
            df = df.drop(columns=[c for c in VOLATILE if c in df.columns])
            out[table] = df.sort_values(keys).reset_index(drop=True)
        return out
    finally:
        con.close()


def _run(db: Path, executor: Any) -> dict[str, Any]:
    settings = load_settings(db=db)
    con = connect(db, threads=settings.threads)
    try:
        res = backtest.run_backtest(con, settings, LO, HI, retrain_every_days=EVERY, executor=executor)
    finally:
        con.close()
    return res


@pytest.fixture(scope="module")
def serial(warehouse_copy: Path) -> dict[str, Any]:
    res = _run(warehouse_copy, SerialExecutor())
    assert len(res["blocks"]) == 2 and res["graded_rows"] > 0
    return {"res": res, "rows": _stored(warehouse_copy)}


@pytest.fixture(scope="module")
def local_ray() -> Iterator[RayExecutor]:
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    # the kill wrapper below lives in this test module: ship it by value to the Ray workers
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        yield RayExecutor(2)
    finally:
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        ray.shutdown()


def _assert_same_rows(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for table in a:
        assert len(a[table]) > 0
        pd.testing.assert_frame_equal(a[table], b[table], check_exact=True, obj=table)


def test_ray_backtest_stores_the_serial_rows(warehouse_copy: Path, serial: dict[str, Any],
                                              local_ray: RayExecutor) -> None:
    res = _run(warehouse_copy, local_ray)
    assert res["executor"] == "ray"
    # the same model sets (their names hash every system's learned parameters and native files)
    assert [b["model_set"] for b in res["blocks"]] == [b["model_set"] for b in serial["res"]["blocks"]]
    assert [b["dates"] for b in res["blocks"]] == [b["dates"] for b in serial["res"]["blocks"]]
    # the blocks were fitted in Ray worker processes, not in the driver
    assert all(b["worker_pid"] != os.getpid() for b in res["blocks"])
    _assert_same_rows(serial["rows"], _stored(warehouse_copy))


def _dying_fit(data: Any, model_dir: str, thread_count: int) -> dict[str, Any]:
    """The first retrain task to start kills its own worker process (no cleanup, like kill -9)."""
    marker = Path(model_dir).parent / "killed-once"
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return _real_fit(data, model_dir, thread_count)
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    os._exit(9)


def test_a_killed_ray_worker_is_retried_without_losing_or_duplicating_rows(
        warehouse_copy: Path, serial: dict[str, Any], local_ray: RayExecutor, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = load_settings(db=warehouse_copy).model_path / "killed-once"
    marker.unlink(missing_ok=True)
    monkeypatch.setattr(backtest, "_fit_block", _dying_fit)
    res = _run(warehouse_copy, local_ray)
    killed_pid = int(marker.read_text())
    assert killed_pid != os.getpid()                       # a worker died, not the driver
    assert killed_pid not in {b["worker_pid"] for b in res["blocks"]}   # its block was redone elsewhere
    assert [b["model_set"] for b in res["blocks"]] == [b["model_set"] for b in serial["res"]["blocks"]]
    _assert_same_rows(serial["rows"], _stored(warehouse_copy))


def test_ray_train_fits_the_member_systems_as_tasks_into_the_same_model_set(
        warehouse_copy: Path, local_ray: RayExecutor, tmp_path: Path) -> None:
    settings = load_settings(db=warehouse_copy)
    con = connect(warehouse_copy, threads=settings.threads)
    try:
        data = load_training_data(con, dt.date(2024, 3, 1), since=dt.date(2022, 10, 1))
    finally:
        con.close()
    a = fit_model_set(data, tmp_path / "serial", thread_count=settings.threads, promote_if_first=False)
    b = fit_model_set(data, tmp_path / "ray", thread_count=settings.threads, promote_if_first=False,
                      executor=local_ray)
    assert a["model_set"] == b["model_set"]
    for key in ("model_versions", "validation", "ensemble_weights", "market_blend", "systems"):
        # JSON text: NaN (no line rows in a validation window) compares equal to NaN
        assert json.dumps(a[key], sort_keys=True) == json.dumps(b[key], sort_keys=True), key
