"""The REST API end to end on real data: build a season's warehouse, train, then start a batch over
HTTP with the real coordinator and read its predictions while (and after) it runs.

Uses the session backfill (``warehouse_copy`` from tests/integration/conftest.py); models are trained
on the 2023-24 season only to keep it quick: this tests the API's wiring with the real coordinator,
not model quality.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

import nbaprops.predict.coordinator as coordinator
from nbaprops.api import create_app
from nbaprops.api.app import ApiState
from nbaprops.config import Settings
from nbaprops.models.training import SYSTEM_IDS, train_models
from nbaprops.predict.worker import UnitResult, WorkUnit
from nbaprops.warehouse import connect

pytestmark = pytest.mark.integration

KEY = "integration-key-7d1e"
DAY = dt.date(2024, 4, 10)


@pytest.fixture(scope="module")
def served_warehouse(warehouse_copy: Path) -> Settings:
    settings = Settings(db=warehouse_copy, model_dir=warehouse_copy.parent / "models", api_key=SecretStr(KEY))
    con = connect(warehouse_copy)
    try:
        train_models(con, settings.model_path, DAY, since=dt.date(2023, 10, 24))
    finally:
        con.close()
    return settings


@pytest.fixture
def client(served_warehouse: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(served_warehouse)) as c:
        yield c


@pytest.fixture
def held_units(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The real coordinator, but its work units wait for the returned event: a batch started over HTTP
    stays ``running`` until the test sets it (the API runs batches inline, in its launcher thread)."""
    release = threading.Event()
    real = coordinator.run_unit

    def held(unit: WorkUnit) -> UnitResult:
        assert release.wait(300), "the test never released the batch"
        return real(unit)

    monkeypatch.setattr(coordinator, "run_unit", held)
    yield release
    release.set()                       # never leave a batch thread waiting


def _finish(client: TestClient, batch_id: str) -> dict[str, Any]:
    """Wait until the launcher has no batch thread left, then return the batch."""
    state: ApiState = client.app.state.nbaprops  # type: ignore[attr-defined]
    assert state.launcher.join(300), "the batch did not finish within 300 s"
    batch: dict[str, Any] = client.get(f"/batches/{batch_id}").json()
    return batch


def test_start_batch_over_http_with_real_models(client: TestClient, held_units: threading.Event) -> None:
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.text
    systems = {m["system_id"] for m in ready.json()["models"]}
    assert systems == set(SYSTEM_IDS)   # the seven systems of a model set

    t0 = time.perf_counter()
    r = client.post("/start", json={"game_date": str(DAY)}, headers={"X-API-Key": KEY})
    assert r.status_code == 202, r.text
    batch_id = r.json()["batch_id"]
    assert client.get(f"/batches/{batch_id}").json()["status"] == "running"
    # a second start while the batch runs is refused; reads keep answering
    again = client.post("/start", json={"game_date": str(DAY)}, headers={"X-API-Key": KEY})
    assert again.status_code == 409, again.text
    assert "running" in again.json()["detail"] and "force" in again.json()["detail"]
    assert client.get("/predictions", params={"date": str(DAY)}).status_code == 200

    held_units.set()
    batch = _finish(client, batch_id)
    assert batch["status"] == "complete", batch
    assert batch["expected_players"] > 50 and batch["model_set"] == ready.json()["model_set"]

    page = client.get("/predictions", params={"date": str(DAY), "limit": 5000}).json()
    assert page["total"] == len(page["items"]) > 300
    assert {i["batch_id"] for i in page["items"]} == {batch_id}
    versions = {m["system_id"]: m["model_version"] for m in ready.json()["models"]}
    assert all(i["model_version"] == versions[i["system_id"]] for i in page["items"])
    over = client.get("/predictions", params={"date": str(DAY), "system": "catboost", "recommendation": "OVER"})
    assert all(i["recommendation"] == "OVER" and i["system_id"] == "catboost" for i in over.json()["items"])
    print(f"\nstart -> complete over HTTP in {time.perf_counter() - t0:.1f} s; {page['total']} rows")

    # once the batch has finished, the date can be started again: the new batch replaces its rows
    rerun = client.post("/start", json={"game_date": str(DAY)}, headers={"X-API-Key": KEY})
    assert rerun.status_code == 202, rerun.text
    second = rerun.json()["batch_id"]
    assert second != batch_id
    assert _finish(client, second)["status"] == "complete"
    repage = client.get("/predictions", params={"date": str(DAY), "limit": 5000}).json()
    assert repage["total"] == page["total"]
    assert {i["batch_id"] for i in repage["items"]} == {second}
