"""Property-based run of schemathesis against the app's own OpenAPI schema: no input makes a server error.

Every operation of ``/openapi.json`` (the JSON API and the dashboard pages) gets positive (schema-valid)
and negative (schema-violating) generated requests, sent in-process through the ASGI app with the
API key, on a small hand-made warehouse with a served (tiny, real) model set, so that ``/ready`` is
ready and ``POST /start`` runs the real coordinator in the background. The check is schemathesis'
``not_a_server_error`` (no 5xx). Bounded: a few dozen examples per operation and mode, a per-example
deadline, and the whole run must finish within 60 s.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is a dev extra: pip install -e '.[dev]'")

from fastapi import FastAPI  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from nbaprops.api import create_app  # noqa: E402
from nbaprops.config import Settings  # noqa: E402
from nbaprops.evaluate.grade import grade_dates  # noqa: E402
from nbaprops.features.definitions import FEATURE_VERSION  # noqa: E402
from nbaprops.models.registry import promote, write_manifest  # noqa: E402
from nbaprops.models.systems import make_system  # noqa: E402
from nbaprops.warehouse import connect  # noqa: E402

KEY = "fuzz-key-0d9e"
DAYS = (dt.date(2024, 4, 10), dt.date(2024, 4, 11))
EXAMPLES = 20  # per operation and generation mode
DEADLINE_MS = 5_000  # per example (a cold first request opens and migrates the warehouse)
BUDGET_S = 60.0


def _insert(con: Any, table: str, rows: list[dict[str, Any]]) -> None:
    cols = list(rows[0])
    con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [[r[c] for c in cols] for r in rows])


def _warehouse(path: Path) -> None:
    """Two graded slates of three players and two systems, batches, a quarantined line and phase runs."""
    con = connect(path)
    _insert(con, "players", [{"player_id": i, "full_name": n, "player_lookup": n.lower().replace(" ", "")}
                             for i, n in ((1, "Luka Dončić"), (2, "Jayson Tatum"), (3, "Jalen Brunson"))])
    preds, box = [], []
    for d, day in enumerate(DAYS):
        game_id = f"002230118{d}"
        _insert(con, "games", [{"game_id": game_id, "game_date": day, "season": "2023-24", "season_year": 2023,
                                "season_type": "Regular Season", "home_abbr": "BOS", "away_abbr": "DAL",
                                "source": "t"}])
        for pid, line, actual in ((1, 30.5, 33 + d), (2, 26.5, 22 - d), (3, None, 25)):
            box.append({"game_id": game_id, "player_id": pid, "game_date": day, "season": "2023-24",
                        "season_type": "Regular Season", "team_abbr": "BOS", "opp_abbr": "DAL", "is_home": True,
                        "minutes": 34.0, "pts": actual, "source": "t"})
            for sid, bump in (("catboost", 0.0), ("ensemble", 1.5)):
                pred = 28.0 + pid + bump
                preds.append({
                    "game_id": game_id, "game_date": day, "player_id": pid, "system_id": sid, "line": line,
                    "line_key": "none" if line is None else f"{line:.1f}", "predicted_points": pred,
                    "p_over": 0.4 + 0.1 * pid, "confidence": 0.6, "edge": None if line is None else pred - line,
                    "recommendation": "NO_LINE" if line is None else ("OVER" if pred > line else "UNDER"),
                    "line_source": "NO_PROP_LINE" if line is None else "ACTUAL_PROP",
                    "sportsbook": None if line is None else "draftkings",
                    "over_price": None if line is None else -110, "under_price": None if line is None else -110,
                    "model_version": f"ms-fuzz:{sid}", "feature_version": FEATURE_VERSION, "package_version": "0.1.0",
                    "is_fallback": False, "batch_id": f"b-{day:%Y%m%d}-x", "created_at": dt.datetime(2024, 4, 10)})
        _insert(con, "prediction_batches", [{"batch_id": f"b-{day:%Y%m%d}-x", "game_date": day, "status": "complete",
                                             "started_at": dt.datetime(2024, 4, 10, 12), "owner": "elsewhere:1"}])
    _insert(con, "player_boxscores", box)
    _insert(con, "player_prop_predictions", preds)
    _insert(con, "line_quarantine", [{"batch_id": "b-20240411-x", "game_date": DAYS[1], "player_id": 3,
                                      "sportsbook": "fanduel", "line": 0.5, "reason": "bad_line_value",
                                      "quarantined_at": dt.datetime(2024, 4, 11, 12)}])
    _insert(con, "phase_runs", [{"run_id": "r1", "phase": "analytics", "date_from": DAYS[0], "date_to": DAYS[1],
                                 "started_at": dt.datetime(2024, 4, 11, 9), "status": "failed", "error": "boom"}])
    grade_dates(con, DAYS[0], DAYS[1])
    con.close()


def _model_set(model_dir: Path, name: str = "ms-fuzz") -> None:
    """A real served model set (one moving-average system on synthetic rows), so /ready answers 200."""
    rng = np.random.default_rng(7)
    n = 200
    base = rng.uniform(5, 30, n)
    X = pd.DataFrame({"points_avg_last_5": base + rng.normal(0, 2, n), "points_avg_last_10": base,
                      "points_avg_season": base + rng.normal(0, 1, n),
                      "game_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60, n), unit="D")})
    system = make_system("moving_average").fit(X, base + rng.normal(0, 5, n))
    system.save(model_dir / name / "moving_average")
    write_manifest(model_dir / name, {"model_set": name, "feature_version": FEATURE_VERSION,
                                      "systems": ["moving_average"], "trained_until": "2024-03-01",
                                      "created_at": "2024-03-01T00:00:00+00:00"})
    promote(model_dir, name)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    root = tmp_path_factory.mktemp("fuzz")
    _warehouse(root / "nbaprops.duckdb")
    _model_set(root / "models")
    settings = Settings(db=root / "nbaprops.duckdb", model_dir=root / "models", api_key=SecretStr(KEY))
    application = create_app(settings, claim_timeout_s=5.0)
    yield application
    application.state.nbaprops.shutdown(10)


def test_no_input_makes_a_server_error(app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {op.label for op in operations}
    assert {"GET /health", "GET /ready", "POST /start", "GET /batches/{batch_id}", "GET /predictions", "GET /slate",
            "GET /performance", "GET /pipeline"} <= labels
    headers = {"X-API-Key": KEY}
    t0 = time.perf_counter()
    calls: dict[str, int] = {}
    statuses: set[int] = set()
    seconds: dict[str, float] = {}

    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = op.as_strategy(generation_mode=mode)

            @settings(max_examples=EXAMPLES, deadline=DEADLINE_MS, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], print_blob=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy, _=st.just(None))
            def run(case: Any, _: None) -> None:
                response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
                statuses.add(response.status_code)
                label = case.operation.label
                calls[label] = calls.get(label, 0) + 1

            t_op = time.perf_counter()
            try:
                run()
            except Unsatisfiable:
                # nothing to violate: an operation without parameters or body has no negative cases
                assert mode is GenerationMode.NEGATIVE, op.label
            seconds[f"{op.label} {mode.value}"] = round(time.perf_counter() - t_op, 2)
            assert time.perf_counter() - t0 < BUDGET_S, f"schemathesis run over {BUDGET_S:.0f} s at {op.label}"
    assert app.state.nbaprops.launcher.join(20)
    assert all(calls.get(label, 0) > 0 for label in labels), calls
    # both accepted and refused requests were generated (the run exercised validation, not just 422s)
    assert 200 in statuses and 422 in statuses
    print(f"\nschemathesis: {sum(calls.values())} requests over {len(labels)} operations in "
          f"{time.perf_counter() - t0:.1f} s; statuses {sorted(statuses)}; seconds {seconds}")


# ------------------------------------------------------------------------------------------ what the run found
def test_forced_start_claims_again_after_a_concurrent_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the run above: a forced POST /start whose claim met the running batch's own write of
    the same row (DuckDB: "Conflict on update") answered 500. The launcher now claims again, and
    answers 409 only if the conflict persists."""
    import duckdb
    from fastapi.testclient import TestClient

    from nbaprops.predict import coordinator
    from nbaprops.predict import launcher as launcher_mod
    from nbaprops.predict.coordinator import BatchResult

    attempts: list[int] = []

    def flaky(con: Any, settings: Settings, game_date: dt.date, *, conflicts: int, force: bool = False,
              min_minutes: float = 15.0, **_: Any) -> BatchResult:
        attempts.append(1)
        if len(attempts) <= conflicts:
            raise duckdb.TransactionException("TransactionContext Error: Conflict on update!")
        batch_id = coordinator._claim(con, game_date, force, min_minutes)
        return BatchResult(batch_id, game_date, "complete")

    settings = Settings(db=tmp_path / "nbaprops.duckdb", model_dir=tmp_path / "models", api_key=SecretStr(KEY))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        monkeypatch.setattr(launcher_mod, "start_batch", lambda *a, **k: flaky(*a, conflicts=2, **k))
        r = client.post("/start", json={"game_date": "2024-04-10", "force": True}, headers={"X-API-Key": KEY})
        assert r.status_code == 202, r.text
        assert len(attempts) == 3 and r.json()["batch_id"].startswith("b-20240410-")
        attempts.clear()
        monkeypatch.setattr(launcher_mod, "start_batch", lambda *a, **k: flaky(*a, conflicts=99, **k))
        r = client.post("/start", json={"game_date": "2024-04-11", "force": True}, headers={"X-API-Key": KEY})
        assert r.status_code == 409 and "retry in a moment" in r.json()["detail"]
        assert len(attempts) == launcher_mod.CLAIM_ATTEMPTS
        assert "Traceback" not in r.text and KEY not in r.text
