"""`nbaprops backtest ... --report DIR` (the README's main job, on a short range): the report is written,
the JSON names it, and `Project.backtest` returns the metrics.json dict and the graded rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nbaprops import Project

pytestmark = pytest.mark.integration


def test_backtest_with_a_report_through_the_cli_and_the_python_api(
        warehouse_copy: Path, tmp_path: Path, nbaprops_json: Callable[[list[str]], Any]) -> None:
    out = nbaprops_json(["--db", str(warehouse_copy), "backtest", "--from", "2024-04-08", "--to", "2024-04-10",
                         "--report", str(tmp_path / "cli"), "--market", "points", "--json"])
    report_md = Path(out["report"]["report_md"])
    metrics = json.loads(Path(out["report"]["metrics_json"]).read_text(encoding="utf-8"))
    assert report_md.is_file() and "walk-forward backtest 2024-04-08 to 2024-04-10" in report_md.read_text()
    with Project(warehouse_copy) as p:
        game_dates = p.game_dates("2024-04-08", "2024-04-10")
    assert out["dates"] == len(game_dates) >= 2 and len(out["blocks"]) == 1
    # the headline: one row per system, the same systems as metrics.json's points rows
    assert {h["system"] for h in out["headline"]} == {p["system_id"] for p in metrics["points"]}

    with Project(warehouse_copy) as p:
        res = p.backtest("2024-04-08", "2024-04-10", report_dir=tmp_path / "api")
    saved = json.loads((tmp_path / "api" / "metrics.json").read_text(encoding="utf-8"))
    assert res.metrics == saved
    assert len(res.graded) == saved["counts"]["predictions"] > 0
    assert {row["system"] for row in res.headline} == {p["system_id"] for p in saved["points"]}
