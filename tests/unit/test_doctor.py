"""``nbaprops doctor`` and settings validation, on a tmp warehouse (models stubbed: the real model
files are exercised by tests/integration/test_ops_shared.py), plus `run` in an empty environment."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import namedtuple
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from nbaprops import cli
from nbaprops.errors import ModelError
from nbaprops.ops.doctor import freshness_checks
from nbaprops.warehouse import connect

SECRETS = {"NBAPROPS_ODDS_API_KEY": "odds-secret-8c1f", "NBAPROPS_API_KEY": "api-secret-77d2",
           "NBAPROPS_SLACK_WEBHOOK_URL": "http://127.0.0.1:9/services/T1/B2/slack-secret-4e0a"}
Usage = namedtuple("Usage", "total used free")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tmp working directory (no stray .env), a migrated warehouse, a pinned model set (stubbed load)."""
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.startswith("NBAPROPS_"):
            monkeypatch.delenv(k)
    db = tmp_path / "wh" / "nbaprops.duckdb"
    connect(db).close()
    (db.parent / "models").mkdir()
    (db.parent / "models" / "served.json").write_text(json.dumps({"current": "ms-test", "history": []}))

    def fake_load(model_dir: Path, model_set: str | None = None, *, feature_version: str | None = None) -> Any:
        return SimpleNamespace(model_set="ms-test", feature_version=feature_version,
                               systems=dict.fromkeys(("moving_average", "catboost", "ensemble")),
                               manifest={"trained_until": "2024-04-10"})

    monkeypatch.setattr("nbaprops.models.registry.load_model_set", fake_load)
    monkeypatch.setattr("nbaprops.ops.doctor.shutil.disk_usage", lambda _: Usage(500 * 2**30, 100 * 2**30,
                                                                                      400 * 2**30))
    return db


def doctor(db: Path, **env: str) -> tuple[Result, dict[str, dict[str, Any]]]:
    res = CliRunner().invoke(cli.app, ["--db", str(db), "doctor", "--json"], env=env)
    return res, {c["name"]: c for c in json.loads(res.stdout)}


def test_doctor_passes_on_a_healthy_install_and_never_shows_a_secret(home: Path) -> None:
    res, checks = doctor(home, **SECRETS)
    assert res.exit_code == 0, checks
    assert {"package", "settings", "warehouse", "schema", "models", "disk", "key:odds_api_key", "key:api_key",
            "key:slack_webhook_url"} <= set(checks)
    assert {n for n in checks if n.startswith("freshness:")} == {
        "freshness:boxscores", "freshness:analytics", "freshness:features", "freshness:lines", "freshness:predict",
        "freshness:grade"}
    assert all(set(c) == {"name", "ok", "detail", "level"} for c in checks.values())
    assert {checks[k]["detail"] for k in ("key:odds_api_key", "key:api_key", "key:slack_webhook_url")} == {"set"}
    assert "ms-test" in checks["models"]["detail"]
    for secret in SECRETS.values():
        assert secret not in res.stdout and secret not in res.stderr


def test_missing_keys_are_reported_missing_not_failed(home: Path) -> None:
    res, checks = doctor(home)
    assert res.exit_code == 0
    odds = checks["key:odds_api_key"]
    assert odds["ok"] and odds["level"] == "warn" and odds["detail"].startswith("missing")
    assert "NBAPROPS_ODDS_API_KEY" in odds["detail"]


def test_invalid_settings_are_listed_all_at_once_and_fail(home: Path) -> None:
    res, checks = doctor(home, NBAPROPS_THREADS="0", NBAPROPS_MIN_EDGE="-1", NBAPROPS_HTTP_TIMEOUT_S="0")
    assert res.exit_code == 1
    detail = checks["settings"]["detail"]
    for var in ("NBAPROPS_THREADS", "NBAPROPS_MIN_EDGE", "NBAPROPS_HTTP_TIMEOUT_S"):
        assert var in detail
    assert not checks["warehouse"]["ok"] and "settings" in checks["warehouse"]["detail"]


def test_a_missing_warehouse_fails_with_how_to_build_it(home: Path) -> None:
    res, checks = doctor(home.parent / "nowhere.duckdb")
    assert res.exit_code == 1
    assert "no warehouse" in checks["warehouse"]["detail"] and "backfill" in checks["warehouse"]["detail"]
    assert not (home.parent / "nowhere.duckdb").exists()


def test_a_warehouse_behind_the_package_schema_fails(home: Path) -> None:
    con = connect(home)
    con.execute("DELETE FROM schema_version WHERE version = (SELECT max(version) FROM schema_version)")
    con.close()
    res, checks = doctor(home)
    assert res.exit_code == 1
    assert not checks["schema"]["ok"] and "behind" in checks["schema"]["detail"]


def test_a_model_that_does_not_load_fails_doctor(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise ModelError("model file /m/ms-test/catboost/model.cbm does not match its manifest SHA-256 "
                         "(truncated or changed); retrain or roll back")

    monkeypatch.setattr("nbaprops.models.registry.load_model_set", broken)
    res, checks = doctor(home)
    assert res.exit_code == 1
    assert not checks["models"]["ok"] and "SHA-256" in checks["models"]["detail"]


def test_low_disk_space_fails(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nbaprops.ops.doctor.shutil.disk_usage", lambda _: Usage(100 * 2**30, 99.8 * 2**30,
                                                                                      0.2 * 2**30))
    res, checks = doctor(home)
    assert res.exit_code == 1
    assert not checks["disk"]["ok"] and "0.2 GiB free" in checks["disk"]["detail"]


def test_freshness_breach_names_table_and_lag(home: Path) -> None:
    con = connect(home)
    con.execute("""INSERT INTO games (game_id, game_date, season, season_year, season_type, home_abbr, away_abbr,
                   status, source) VALUES ('0022300001', '2024-04-08', '2023-24', 2023, 'Regular Season', 'DEN', 'MIN',
                   'final', 't'), ('0022300002', '2024-04-09', '2023-24', 2023, 'Regular Season', 'BOS', 'NYK',
                   'final', 't')""")
    con.execute("""INSERT INTO player_boxscores (game_id, player_id, game_date, season, season_type, team_abbr, opp_abbr,
                   is_home, pts, source) VALUES ('0022300001', 1, '2024-04-08', '2023-24', 'Regular Season', 'DEN',
                   'MIN', TRUE, 10, 't')""")
    checks = {c.name: c for c in freshness_checks(con, dt.date(2024, 4, 10))}
    con.close()
    box = checks["freshness:boxscores"]
    assert not box.ok and "player_boxscores latest 2024-04-08" in box.detail and "1 day(s) behind" in box.detail
    assert not checks["freshness:analytics"].ok        # player_game_summary was never built
    assert checks["freshness:lines"].ok and checks["freshness:lines"].level == "warn"


def test_run_in_an_empty_environment_lists_the_missing_settings_and_how_to_set_them(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    proc = subprocess.run([sys.executable, "-c", "import sys; from nbaprops.cli import main; "
                           "sys.argv[0] = 'nbaprops'; main()", "run", "--date", "2024-04-10"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    err = " ".join(proc.stderr.split())
    assert "NBAPROPS_ODDS_API_KEY" in err
    assert "export NBAPROPS_ODDS_API_KEY" in err and ".env" in err and "--data DIR" in err
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.rglob("*.duckdb")), "nothing may be created before the settings are complete"
