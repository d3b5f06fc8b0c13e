"""REST API on a small hand-made warehouse in tmp (no network, no shared data)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from nbaprops import __version__
from nbaprops.api import create_app
from nbaprops.api.app import ApiState, redact, status_for
from nbaprops.api.models import Recommendation, SystemId
from nbaprops.config import Settings
from nbaprops.errors import (
    BatchConflictError,
    InputError,
    LockError,
    ModelError,
    NbapropsError,
    PhaseGateError,
    SourceError,
    WarehouseError,
)
from nbaprops.features.definitions import FEATURE_VERSION
from nbaprops.models.registry import promote, write_manifest
from nbaprops.models.systems import SYSTEMS, make_system
from nbaprops.predict import coordinator
from nbaprops.predict import launcher as launcher_mod
from nbaprops.predict.coordinator import BatchResult
from nbaprops.project import Project
from nbaprops.warehouse import SCHEMA_VERSION, connect

KEY = "test-key-5f3a9c"
DAY = dt.date(2024, 4, 10)
OWNER = f"{socket.gethostname()}:{os.getpid()}"


# ------------------------------------------------------------------------------------------ fixtures
def _pred(game_id: str, player_id: int, system_id: str, recommendation: str, line: float | None,
          **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "game_id": game_id, "game_date": DAY, "player_id": player_id, "system_id": system_id, "line": line,
        "line_key": "none" if line is None else f"{line:.1f}", "predicted_points": 20.0, "predicted_scale": 6.0,
        "p_over": 0.55, "confidence": 0.55, "edge": None if line is None else 20.0 - line, "expected_value": 0.03,
        "recommendation": recommendation, "line_source": "NO_PROP_LINE" if line is None else "ACTUAL_PROP",
        "sportsbook": None if line is None else "draftkings",
        "line_quoted_at": None if line is None else dt.datetime(2024, 4, 10, 22, 0, tzinfo=dt.UTC),
        "over_price": None if line is None else -110, "under_price": None if line is None else -110,
        "model_version": f"ms-test:{system_id}-abc", "feature_version": FEATURE_VERSION, "package_version": "0.1.0",
        "feature_quality_score": 0.9, "is_fallback": False, "batch_id": "b-old", "created_at": dt.datetime(2024, 4, 10),
    }
    row.update(extra)
    return row


PREDICTIONS = [
    _pred("0022301180", 1, "catboost", "OVER", 18.5),
    _pred("0022301180", 1, "ensemble", "PASS", 18.5),
    _pred("0022301180", 2, "catboost", "UNDER", 24.5, p_over=float("nan")),
    _pred("0022301180", 2, "ensemble", "UNDER", 24.5),
    _pred("0022301181", 3, "catboost", "NO_LINE", None),
    _pred("0022301181", 3, "ensemble", "NO_LINE", None),
    _pred("0022301190", 4, "catboost", "OVER", 10.5, game_date=DAY + dt.timedelta(days=1)),
]


def _insert(con: Any, table: str, rows: list[dict[str, Any]]) -> None:
    cols = list(rows[0])
    con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [[r[c] for c in cols] for r in rows])


@pytest.fixture(scope="module")
def _warehouse_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "nbaprops.duckdb"
    con = connect(path)
    _insert(con, "player_prop_predictions", PREDICTIONS)
    _insert(con, "prediction_batches", [{
        "batch_id": "b-old", "game_date": DAY, "status": "complete", "expected_players": 3,
        "completed_players": 3, "failed_players": 0, "units_total": 1, "units_done": 1, "min_minutes": 15.0,
        "forced": False, "model_set": "ms-test", "started_at": dt.datetime(2024, 4, 10, 12),
        "finished_at": dt.datetime(2024, 4, 10, 12, 1), "owner": "otherhost:1"}])
    con.close()
    return path


@pytest.fixture
def warehouse(_warehouse_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the small warehouse (migrated once per module: migrations take ~0.2 s)."""
    path = tmp_path / "wh" / "nbaprops.duckdb"
    path.parent.mkdir()
    shutil.copyfile(_warehouse_template, path)
    return path


def _settings(db: Path, *, api_key: str | None = KEY) -> Settings:
    return Settings(db=db, model_dir=db.parent / "models", api_key=SecretStr(api_key) if api_key else None)


@pytest.fixture
def make_client(warehouse: Path) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(*, api_key: str | None = KEY, db: Path | None = None, **kw: Any) -> TestClient:
        client = TestClient(create_app(_settings(db or warehouse, api_key=api_key), **kw),
                            raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def _state(client: TestClient) -> ApiState:
    state: ApiState = client.app.state.nbaprops  # type: ignore[attr-defined]
    return state


def _build_model_set(model_dir: Path, name: str = "ms-test") -> dict[str, str]:
    """A real (tiny) served model set: one moving-average system fitted on synthetic rows."""
    rng = np.random.default_rng(3)
    n = 400
    base = rng.uniform(5, 30, n)
    X = pd.DataFrame({
        "points_avg_last_5": base + rng.normal(0, 2, n),
        "points_avg_last_10": base + rng.normal(0, 1.5, n),
        "points_avg_season": base + rng.normal(0, 1, n),
        "game_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60, n), unit="D"),
    })
    y = base + rng.normal(0, 5, n)
    system = make_system("moving_average").fit(X, y)
    set_dir = model_dir / name
    system.save(set_dir / "moving_average")
    write_manifest(set_dir, {"model_set": name, "feature_version": FEATURE_VERSION, "systems": ["moving_average"],
                             "trained_until": "2024-03-01", "created_at": "2024-03-01T00:00:00+00:00"})
    promote(model_dir, name)
    return {"moving_average": f"{name}:{system.model_version}"}


def _stub_start_batch(sleep_s: float = 0.0, calls: list[dt.date] | None = None,
                      release: threading.Event | None = None) -> Callable[..., BatchResult]:
    """A stand-in for the coordinator: claims the batch for real (same rules, same row), then sleeps
    (or, with ``release``, runs until the test sets it)."""

    def fake(con: Any, settings: Settings, game_date: dt.date, *, min_minutes: float = 15.0,
             force: bool = False, **_: Any) -> BatchResult:
        batch_id = coordinator._claim(con, game_date, force, min_minutes)
        if calls is not None:
            calls.append(game_date)
        time.sleep(sleep_s)
        if release is not None:
            release.wait(60)
        con.execute("UPDATE prediction_batches SET status = 'complete', finished_at = now() WHERE batch_id = ?",
                    [batch_id])
        return BatchResult(batch_id, game_date, "complete")

    return fake


def _running_row(con: Any, batch_id: str, *, owner: str = OWNER, heartbeat_age_s: float = 0.0) -> None:
    hb = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=heartbeat_age_s)
    con.execute("""INSERT INTO prediction_batches (batch_id, game_date, status, min_minutes, forced, started_at,
                   heartbeat_at, owner) VALUES (?, ?, 'running', 15, false, ?, ?, ?)""",
                [batch_id, DAY, hb, hb, owner])


def _assert_clean(body: str) -> None:
    assert "Traceback" not in body
    assert 'File "' not in body
    assert KEY not in body


# ------------------------------------------------------------------------------------------ health / ready
def test_health_is_liveness_only(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    """/health answers 200 even when the warehouse cannot be opened at all."""
    (tmp_path / "a-file").write_text("not a directory")
    client = make_client(db=tmp_path / "a-file" / "x.duckdb")
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": __version__}
    r = client.get("/ready")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "not_ready"
    assert any(x.startswith("warehouse: cannot open warehouse") for x in body["reasons"])
    r = client.get("/predictions", params={"date": "2024-04-10"})
    assert r.status_code == 503 and r.json()["detail"].startswith("cannot open warehouse")
    _assert_clean(r.text)


def test_ready_not_ready_without_models(client: TestClient) -> None:
    r = client.get("/ready")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "not_ready"
    assert body["schema_version"] == SCHEMA_VERSION  # the warehouse part is fine
    assert body["model_set"] is None and body["models"] == []
    assert any("no model is served" in x for x in body["reasons"])
    _assert_clean(r.text)


def test_ready_with_real_model_set_then_truncated_file(client: TestClient, warehouse: Path) -> None:
    model_dir = warehouse.parent / "models"
    versions = _build_model_set(model_dir)
    r = client.get("/ready")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready" and body["reasons"] == []
    assert body["model_set"] == "ms-test"
    assert {m["system_id"]: m["model_version"] for m in body["models"]} == versions
    assert body["feature_version"] == FEATURE_VERSION
    assert body["package_version"] == __version__
    assert body["schema_version"] == SCHEMA_VERSION
    assert body["trained_until"] == "2024-03-01"
    assert client.get("/ready").status_code == 200  # the cached verification is reused

    params = model_dir / "ms-test" / "moving_average" / "params.json"
    params.write_bytes(params.read_bytes()[:50])  # truncated
    r = client.get("/ready")
    assert r.status_code == 503
    reasons = r.json()["reasons"]
    assert len(reasons) == 1 and "SHA-256" in reasons[0] and "truncated" in reasons[0]

    params.unlink()
    r = client.get("/ready")
    assert r.status_code == 503 and "missing" in r.json()["reasons"][0]


def test_ready_sees_a_flipped_byte_whose_mtime_was_restored(client: TestClient, warehouse: Path) -> None:
    """Item 9: the probe's cache is keyed by content hashes, not by size and mtime (``touch -r``)."""
    model_dir = warehouse.parent / "models"
    _build_model_set(model_dir)
    assert client.get("/ready").status_code == 200
    params = model_dir / "ms-test" / "moving_average" / "params.json"
    st = params.stat()
    data = bytearray(params.read_bytes())
    i = data.index(b"0")
    data[i] = ord("1")  # same size, still valid JSON: a different weight
    params.write_bytes(bytes(data))
    os.utime(params, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert params.stat().st_size == st.st_size and params.stat().st_mtime_ns == st.st_mtime_ns
    r = client.get("/ready")
    assert r.status_code == 503, r.text
    assert "SHA-256" in r.json()["reasons"][0]


def test_ready_refuses_other_feature_version(client: TestClient, warehouse: Path) -> None:
    model_dir = warehouse.parent / "models"
    _build_model_set(model_dir)
    manifest_path = model_dir / "ms-test" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest.pop("files")
    write_manifest(model_dir / "ms-test", {**manifest, "feature_version": "v1_baseline_25"})
    r = client.get("/ready")
    assert r.status_code == 503 and "v1_baseline_25" in r.json()["reasons"][0]


# ------------------------------------------------------------------------------------------ POST /start
def test_start_refused_when_no_key_configured(make_client: Callable[..., TestClient],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dt.date] = []
    monkeypatch.setattr(launcher_mod, "start_batch", _stub_start_batch(calls=calls))
    client = make_client(api_key=None)
    for headers in ({}, {"X-API-Key": ""}, {"X-API-Key": "anything"}):
        r = client.post("/start", json={"game_date": "2024-04-10"}, headers=headers)
        assert r.status_code == 503
        assert "set NBAPROPS_API_KEY" in r.json()["detail"]
    assert calls == []


def test_start_401_without_or_with_wrong_key(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dt.date] = []
    monkeypatch.setattr(launcher_mod, "start_batch", _stub_start_batch(calls=calls))
    non_ascii = "é".encode("latin-1") + KEY.encode()
    cases: list[dict[str, str | bytes]] = [{}, {"X-API-Key": ""}, {"X-API-Key": KEY + "x"},
                                           {"X-API-Key": KEY[:-1]}, {"X-API-Key": non_ascii}]
    for headers in cases:
        r = client.post("/start", json={"game_date": "2024-04-10"}, headers=headers)
        assert r.status_code == 401, headers
        assert r.json() == {"detail": "missing or wrong X-API-Key header"}
        _assert_clean(r.text)
    assert calls == []


def test_start_accepted_then_batch_readable(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher_mod, "start_batch", _stub_start_batch(sleep_s=0.3))
    r = client.post("/start", json={"game_date": "2024-04-10", "min_minutes": 20}, headers={"X-API-Key": KEY})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["batch_id"].startswith("b-20240410-")
    assert body["status"] == "running" and body["forced"] is False and body["min_minutes"] == 20
    assert r.headers["location"] == body["batch_url"] == f"/batches/{body['batch_id']}"
    batch = client.get(body["batch_url"]).json()
    assert batch["status"] == "running" and batch["owner"] == OWNER and batch["min_minutes"] == 20
    assert _state(client).launcher.join(10)
    batch = client.get(body["batch_url"]).json()
    assert batch["status"] == "complete" and batch["finished_at"] is not None
    assert batch["started_at"].endswith("Z") or batch["started_at"].endswith("+00:00")


def test_get_batch_404_and_row(client: TestClient) -> None:
    r = client.get("/batches/b-old")
    assert r.status_code == 200
    assert r.json()["game_date"] == "2024-04-10" and r.json()["status"] == "complete"
    r = client.get("/batches/nope")
    assert r.status_code == 404 and r.json() == {"detail": "no prediction batch 'nope'"}


def test_start_409_when_a_live_batch_exists(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dt.date] = []
    monkeypatch.setattr(launcher_mod, "start_batch", _stub_start_batch(calls=calls))
    _running_row(_state(client).connection(), "b-live")
    r = client.post("/start", json={"game_date": "2024-04-10"}, headers={"X-API-Key": KEY})
    assert r.status_code == 409
    assert "b-live" in r.json()["detail"] and "force" in r.json()["detail"]
    assert calls == []  # decided before any batch thread started
    # another date is not affected
    r = client.post("/start", json={"game_date": "2024-04-11"}, headers={"X-API-Key": KEY})
    assert r.status_code == 202


def test_stale_running_rows_do_not_block(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher_mod, "start_batch", _stub_start_batch())
    con = _state(client).connection()
    _running_row(con, "b-old-heartbeat", owner="elsewhere:123", heartbeat_age_s=3600)
    _running_row(con, "b-dead-process", owner=f"{socket.gethostname()}:999999999")
    r = client.post("/start", json={"game_date": "2024-04-10"}, headers={"X-API-Key": KEY})
    assert r.status_code == 202, r.text
    statuses = dict(con.execute("SELECT batch_id, status FROM prediction_batches").fetchall())
    assert statuses["b-old-heartbeat"] == statuses["b-dead-process"] == "abandoned"


def test_force_supersedes_a_live_batch(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher_mod, "start_batch", _stub_start_batch())
    con = _state(client).connection()
    _running_row(con, "b-live")
    r = client.post("/start", json={"game_date": "2024-04-10", "force": True}, headers={"X-API-Key": KEY})
    assert r.status_code == 202 and r.json()["forced"] is True
    assert r.json()["batch_id"] != "b-live"
    row = con.execute("SELECT status FROM prediction_batches WHERE batch_id = 'b-live'").fetchone()
    assert row == ("superseded",)


def test_two_concurrent_posts_give_one_202_and_one_409(client: TestClient,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dt.date] = []
    release = threading.Event()    # the batch runs until both answers are in
    monkeypatch.setattr(launcher_mod, "start_batch", _stub_start_batch(calls=calls, release=release))
    barrier = threading.Barrier(2)
    answers: list[Any] = []

    def post() -> None:
        barrier.wait()
        answers.append(client.post("/start", json={"game_date": "2024-04-10"}, headers={"X-API-Key": KEY}))

    threads = [threading.Thread(target=post) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        # both answered while the batch was still running: neither request waited for the batch itself
        status = _state(client).connection().execute(
            "SELECT status FROM prediction_batches WHERE owner = ?", [OWNER]).fetchall()
        assert len(answers) == 2 and status == [("running",)]
    finally:
        release.set()
    assert sorted(a.status_code for a in answers) == [202, 409]
    accepted = next(a for a in answers if a.status_code == 202).json()
    refused = next(a for a in answers if a.status_code == 409).json()
    assert accepted["batch_id"] in refused["detail"] or "running" in refused["detail"]
    assert calls == [DAY]  # exactly one batch was started
    con = _state(client).connection()
    assert con.execute("SELECT count(*) FROM prediction_batches WHERE owner = ?", [OWNER]).fetchone() == (1,)
    # once the batch is done, the date can be started again
    assert _state(client).launcher.join(10)
    monkeypatch.setattr(launcher_mod, "start_batch", _stub_start_batch())
    r = client.post("/start", json={"game_date": "2024-04-10"}, headers={"X-API-Key": KEY})
    assert r.status_code == 202


def test_start_without_models_fails_synchronously_with_503(client: TestClient) -> None:
    """The real coordinator verifies the served models before claiming: no model -> 503, no batch row."""
    r = client.post("/start", json={"game_date": "2024-04-10"}, headers={"X-API-Key": KEY})
    assert r.status_code == 503
    assert "no model is served" in r.json()["detail"]
    _assert_clean(r.text)
    con = _state(client).connection()
    assert con.execute("SELECT count(*) FROM prediction_batches").fetchone() == (1,)  # only b-old


def test_start_validation_errors(client: TestClient) -> None:
    h = {"X-API-Key": KEY}
    for body, where in (({"game_date": "2024/04/10"}, "body.game_date"), ({"game_date": "2024-02-30"}, "body.game_date"),
                        ({"game_date": "2024-04-10T00:00:00"}, "body.game_date"), ({}, "body.game_date"),
                        ({"game_date": "2024-04-10", "min_minutes": -1}, "body.min_minutes"),
                        ({"game_date": "2024-04-10", "surprise": 1}, "body.surprise")):
        r = client.post("/start", json=body, headers=h)
        assert r.status_code == 422, body
        assert where in [e["loc"] for e in r.json()["errors"]]
        assert r.json()["detail"].startswith("invalid request: ")
    r = client.post("/start", json={"game_date": "2024/04/10"}, headers=h)
    assert "expected a date as YYYY-MM-DD, got '2024/04/10'" in r.json()["detail"]
    r = client.post("/start", json={"game_date": "2024-02-30"}, headers=h)
    assert "not a calendar date" in r.json()["detail"]


# ------------------------------------------------------------------------------------------ /predictions
def test_predictions_by_date_and_filters(client: TestClient) -> None:
    r = client.get("/predictions", params={"date": "2024-04-10"})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 6 and len(body["items"]) == 6 and body["next_offset"] is None
    assert body["limit"] == 500 and body["offset"] == 0
    keys = [(i["game_id"], i["player_id"], i["system_id"]) for i in body["items"]]
    assert keys == sorted(keys)
    row = next(i for i in body["items"] if i["player_id"] == 2 and i["system_id"] == "catboost")
    assert row["line"] == 24.5 and row["p_over"] is None  # DECIMAL -> number, NaN -> null
    assert row["line_quoted_at"].startswith("2024-04-10T22:00:00")
    no_line = next(i for i in body["items"] if i["recommendation"] == "NO_LINE")
    assert no_line["line"] is None and no_line["line_key"] == "none"

    r = client.get("/predictions", params={"date": "2024-04-10", "system": "catboost"})
    assert r.json()["total"] == 3 and {i["system_id"] for i in r.json()["items"]} == {"catboost"}
    r = client.get("/predictions", params={"date": "2024-04-10", "recommendation": "UNDER"})
    assert r.json()["total"] == 2 and {i["player_id"] for i in r.json()["items"]} == {2}
    r = client.get("/predictions", params={"date": "2024-04-10", "system": "ensemble", "recommendation": "PASS"})
    assert [(i["player_id"], i["system_id"]) for i in r.json()["items"]] == [(1, "ensemble")]
    r = client.get("/predictions", params={"date": "2024-04-11"})
    assert r.json()["total"] == 1
    r = client.get("/predictions", params={"date": "2023-01-01"})
    assert r.status_code == 200 and r.json()["total"] == 0 and r.json()["items"] == []


def test_predictions_pagination(client: TestClient) -> None:
    seen: list[tuple[str, int, str]] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        r = client.get("/predictions", params={"date": "2024-04-10", "limit": 4, "offset": offset})
        assert r.status_code == 200
        body = r.json()
        assert body["total"] == 6 and len(body["items"]) <= 4
        seen += [(i["game_id"], i["player_id"], i["system_id"]) for i in body["items"]]
        offset = body["next_offset"]
        pages += 1
    assert pages == 2 and len(seen) == len(set(seen)) == 6
    r = client.get("/predictions", params={"date": "2024-04-10", "offset": 100})
    assert r.status_code == 200 and r.json()["items"] == [] and r.json()["next_offset"] is None
    assert client.get("/predictions", params={"date": "2024-04-10", "limit": 5000}).status_code == 200


@pytest.mark.parametrize("params, loc", [
    ({"date": "2024-4-10"}, "query.date"),
    ({"date": "20240410"}, "query.date"),
    ({"date": "1712707200"}, "query.date"),
    ({"date": "2024-04-10T00:00"}, "query.date"),
    ({"date": "2024-13-01"}, "query.date"),
    ({}, "query.date"),
    ({"date": "2024-04-10", "system": "CatBoost"}, "query.system"),
    ({"date": "2024-04-10", "system": "x; DROP TABLE player_prop_predictions"}, "query.system"),
    ({"date": "2024-04-10", "recommendation": "over"}, "query.recommendation"),
    ({"date": "2024-04-10", "limit": 5001}, "query.limit"),
    ({"date": "2024-04-10", "limit": 0}, "query.limit"),
    ({"date": "2024-04-10", "offset": -1}, "query.offset"),
])
def test_predictions_422(client: TestClient, params: dict[str, Any], loc: str) -> None:
    r = client.get("/predictions", params=params)
    assert r.status_code == 422
    body = r.json()
    assert [e["loc"] for e in body["errors"]] == [loc]
    assert body["detail"].startswith(f"invalid request: {loc}: ")
    _assert_clean(r.text)


def test_readers_are_not_blocked_by_a_writing_transaction(client: TestClient) -> None:
    """A consolidation in progress (an open transaction on another cursor) neither blocks nor leaks into reads."""
    writer = _state(client).cursor()
    writer.execute("BEGIN TRANSACTION")
    writer.execute("DELETE FROM player_prop_predictions WHERE game_date = ?", [DAY])
    t0 = time.perf_counter()
    r = client.get("/predictions", params={"date": "2024-04-10"})
    assert time.perf_counter() - t0 < 2.0
    assert r.json()["total"] == 6  # the last committed state
    writer.execute("COMMIT")
    writer.close()
    # a write outside a prediction batch is seen once the response cache looks at the date again
    # (within cache.ttl_s); do not wait for it here
    _state(client).cache.invalidate()
    assert client.get("/predictions", params={"date": "2024-04-10"}).json()["total"] == 0


# ------------------------------------------------------------------------------------------ load (item 15)
def test_health_answers_while_every_worker_thread_is_busy(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """/health runs on the event loop: it answers while data requests hold every worker thread."""
    entered, release = threading.Event(), threading.Event()
    real = Project.predictions_page

    def blocked(self: Project, *args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert release.wait(60)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Project, "predictions_page", blocked)
    limiter = client.portal.call(anyio.to_thread.current_default_thread_limiter)  # type: ignore[union-attr]
    tokens = limiter.total_tokens

    def set_tokens(n: int) -> None:
        limiter.total_tokens = n

    client.portal.call(set_tokens, 1)  # type: ignore[union-attr]   # one worker thread for the whole app
    answers: dict[str, Any] = {}
    data = threading.Thread(target=lambda: answers.update(
        data=client.get("/predictions", params={"date": "2024-04-11"})))   # no batch: not cached
    health = threading.Thread(target=lambda: answers.update(health=client.get("/health")))
    try:
        data.start()
        assert entered.wait(30), "the data request never reached the warehouse"
        health.start()
        health.join(30)       # a bound for a hang, not a latency assertion
        assert "health" in answers, "/health waited for a worker thread"
        assert answers["health"].status_code == 200
        assert "data" not in answers   # the data request was still holding the only worker thread
    finally:
        release.set()
        data.join(30)
        health.join(30)
        client.portal.call(set_tokens, tokens)  # type: ignore[union-attr]
    assert answers["data"].status_code == 200


def test_predictions_of_a_completed_batch_get_an_etag_a_304_and_come_from_memory(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    params = {"date": "2024-04-10"}
    first = client.get("/predictions", params=params)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('"b-old-') and first.headers["cache-control"] == "public, no-cache"
    not_modified = client.get("/predictions", params=params, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag

    def no_warehouse(*_: Any, **__: Any) -> Any:
        raise AssertionError("a cached answer must not query the warehouse")

    monkeypatch.setattr(Project, "predictions_page", no_warehouse)
    again = client.get("/predictions", params=params)
    assert again.status_code == 200 and again.content == first.content and again.headers["etag"] == etag
    assert client.get("/predictions", params={**params, "limit": 2}).status_code == 500  # another query: a miss
    monkeypatch.undo()
    page = client.get("/predictions", params={**params, "limit": 2})
    assert page.status_code == 200 and page.headers["etag"] not in (etag, "")

    state = _state(client)
    _running_row(state.connection(), "b-new")      # a newer batch of the date is running
    state.cache.invalidate()
    running = client.get("/predictions", params=params)
    assert running.status_code == 200 and "etag" not in running.headers
    assert client.get("/predictions", params=params, headers={"If-None-Match": etag}).status_code == 200
    state.connection().execute("UPDATE prediction_batches SET status = 'complete', finished_at = now() "
                               "WHERE batch_id = 'b-new'")
    state.cache.invalidate()
    done = client.get("/predictions", params=params)
    assert done.headers["etag"].startswith('"b-new-')
    no_batch = client.get("/predictions", params={"date": "2024-04-11"})   # rows without a batch: not cached
    assert no_batch.status_code == 200 and "etag" not in no_batch.headers


def test_start_makes_the_cache_look_at_the_date_again(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    state = _state(client)
    state.cache.ttl_s = 3600.0    # only POST /start can make it look again
    assert client.get("/predictions", params={"date": "2024-04-10"}).headers["etag"].startswith('"b-old-')
    monkeypatch.setattr(launcher_mod, "start_batch", _stub_start_batch())
    r = client.post("/start", json={"game_date": "2024-04-10"}, headers={"X-API-Key": KEY})
    assert r.status_code == 202
    assert state.launcher.join(10)
    assert client.get("/predictions", params={"date": "2024-04-10"}).headers["etag"].startswith(
        f'"{r.json()["batch_id"]}-')


def test_slate_of_a_completed_batch_is_rendered_once(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    first = client.get("/slate", params={"date": "2024-04-10"})
    assert first.status_code == 200 and "text/html" in first.headers["content-type"]

    def no_warehouse(*_: Any, **__: Any) -> Any:
        raise AssertionError("a cached page must not query the warehouse")

    monkeypatch.setattr(Project, "slate_page", no_warehouse)
    again = client.get("/slate", params={"date": "2024-04-10"})
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["content-security-policy"] == first.headers["content-security-policy"]


# ------------------------------------------------------------------------------------------ errors / schema
def test_unexpected_error_is_500_internal_error_without_details(client: TestClient,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any, **__: Any) -> BatchResult:
        raise RuntimeError(f"secret detail {KEY} at /home/x/file.py")

    monkeypatch.setattr(launcher_mod, "start_batch", boom)
    r = client.post("/start", json={"game_date": "2024-04-10"}, headers={"X-API-Key": KEY})
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error"}
    _assert_clean(r.text)
    assert "/home/x" not in r.text


def test_nbaprops_error_message_is_returned_with_the_key_scrubbed(client: TestClient,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def conflict(*_: Any, **__: Any) -> BatchResult:
        raise BatchConflictError(f"someone else (key {KEY}) holds it")

    monkeypatch.setattr(launcher_mod, "start_batch", conflict)
    r = client.post("/start", json={"game_date": "2024-04-10"}, headers={"X-API-Key": KEY})
    assert r.status_code == 409
    assert r.json() == {"detail": "someone else (key ***) holds it"}


_PATH_OR_PID = re.compile(r"(?<![\w.<])/(?:tmp|home|root|srv|var|work|usr)\b|\bPID\b")


def _assert_no_server_detail(text: str, *secrets_: str) -> None:
    assert not _PATH_OR_PID.search(text), text
    for s in secrets_:
        # a number (a PID) counts only as a whole number: PID 670 is not in the colour #667085
        found = re.search(rf"(?<!\d){re.escape(s)}(?!\d)", text) if s.isdigit() else s in text
        assert not found, f"{s!r} in {text}"


def test_unauthenticated_error_bodies_carry_no_paths_or_pids(make_client: Callable[..., TestClient],
                                                             warehouse: Path) -> None:
    """Item 11: a warehouse locked by another process (its PID in DuckDB's message) and a missing model
    file: the 503 bodies name neither a server path nor a PID unless the caller sends the X-API-Key."""
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('locked', flush=True); time.sleep(120)", str(warehouse)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        client = make_client()
        for path in ("/ready", "/predictions?date=2024-04-10", "/slate?date=2024-04-10", "/batches/b-old"):
            r = client.get(path)
            assert r.status_code == 503, (path, r.text)
            assert "in use by another process" in r.text, r.text
            _assert_no_server_detail(r.text, str(warehouse.parent), str(holder.pid))
        trusted = client.get("/predictions", params={"date": "2024-04-10"}, headers={"X-API-Key": KEY})
        assert trusted.status_code == 503
        assert str(warehouse) in trusted.json()["detail"] and str(holder.pid) in trusted.json()["detail"]
    finally:
        holder.kill()
        holder.wait(30)

    client = make_client()
    model_dir = warehouse.parent / "models"
    _build_model_set(model_dir)
    (model_dir / "ms-test" / "moving_average" / "params.json").unlink()
    r = client.get("/ready")
    assert r.status_code == 503
    assert r.json()["reasons"] == ["models: model file <models>/ms-test/moving_average/params.json is missing "
                                   "(model set ms-test); retrain or roll back"]
    _assert_no_server_detail(r.text, str(warehouse.parent))
    r = client.post("/start", json={"game_date": "2024-04-10"})
    assert r.status_code == 401
    _assert_no_server_detail(r.text, str(warehouse.parent))


def test_redact_replaces_paths_pids_and_owners_but_keeps_the_message() -> None:
    known = [("/srv/nba/models", "<models>"), ("/srv/nba/wh.duckdb", "<warehouse>")]
    assert redact("warehouse /srv/nba/wh.duckdb is in use by another process (PID 23001): wait", known) == \
        "warehouse <warehouse> is in use by another process (pid <pid>): wait"
    assert redact("models: model file /srv/nba/models/ms-1/catboost/model.cbm is missing", known) == \
        "models: model file <models>/ms-1/catboost/model.cbm is missing"
    assert redact('cannot open warehouse /tmp/x.duckdb: IO Error: "/tmp/x.duckdb": Not a directory') == \
        'cannot open warehouse <path>: IO Error: "<path>": Not a directory'
    assert redact("batch b-1 is already running (owner web-1.local:4242); run r1@web-1:77, web-1 pid 77") == \
        "batch b-1 is already running (owner <owner>); run r1@<owner>, web-1 pid <pid>"
    assert redact("1/2 units at 07:29:13 UTC, feature v2_33features") == "1/2 units at 07:29:13 UTC, feature v2_33features"


def test_status_for_error_classes() -> None:
    assert status_for(BatchConflictError("x")) == 409
    assert status_for(LockError("warehouse in use by another process")) == 503
    assert status_for(PhaseGateError("x")) == 409
    assert status_for(InputError("x")) == 400
    assert status_for(ModelError("x")) == 503
    assert status_for(WarehouseError("x")) == 503
    assert status_for(SourceError("x")) == 502
    assert status_for(NbapropsError("x")) == 500


def test_openapi_schema(client: TestClient) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert spec["info"]["version"] == __version__
    assert {"/health", "/ready", "/start", "/batches/{batch_id}", "/predictions"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
        "description": "required by state-changing endpoints (settings: NBAPROPS_API_KEY)"}
    assert spec["paths"]["/start"]["post"]["security"] == [{"ApiKey": []}]
    assert "security" not in spec["paths"]["/predictions"]["get"]
    start_req = spec["components"]["schemas"]["StartRequest"]["properties"]
    assert start_req["game_date"]["format"] == "date"
    params = {p["name"]: p for p in spec["paths"]["/predictions"]["get"]["parameters"]}
    assert params["limit"]["schema"]["maximum"] == 5000
    assert {"202", "401", "409", "422", "503"} <= set(spec["paths"]["/start"]["post"]["responses"])


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_load_every_asset_from_this_server(client: TestClient, page: str) -> None:
    """Item 13: /docs and /redoc reference only local URLs (no CDN), and each of them answers 200."""
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "cdn." not in html and "fonts.googleapis" not in html and "tiangolo.com" not in html
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    urls += re.findall(r"""(?:url|spec-url)\s*[:=]\s*["']([^"']+)["']""", html)
    assert len(urls) >= 3, urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"{page} loads {url} from elsewhere"
        got = client.get(url)
        assert got.status_code == 200, (url, got.status_code)
        assert got.content, url
    assert "javascript" in client.get("/static/docs/swagger-ui-bundle.js").headers["content-type"]


def test_enums_match_the_code() -> None:
    assert {s.value for s in SystemId} == set(SYSTEMS)
    assert {r.value for r in Recommendation} == {"OVER", "UNDER", "PASS", "NO_LINE"}


def test_serve_runs_uvicorn_with_the_app(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(app: Any, **kw: Any) -> None:
        seen.update(kw, app=app)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    from nbaprops.api import serve

    serve(_settings(warehouse), host="127.0.0.1", port=8123)
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8123
    assert isinstance(seen["app"].state.nbaprops, ApiState)
