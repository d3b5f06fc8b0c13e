"""``predict --market-at open|close`` and ``backtest --market-at``: the value reaches the batch (the
Project API), the default is the close, and anything else is refused before any work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nbaprops import cli
from nbaprops.project import Project


class _Done:
    def as_dict(self) -> dict[str, Any]:
        return {"game_date": "2024-04-10", "batch_id": "b", "status": "complete", "expected_players": 0, "rows": 0,
                "skipped_players": 0, "quarantined_lines": 0, "seconds": 0.0, "system_failures": {}}


class _Stop(Exception):
    pass


@pytest.fixture()
def seen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def predict(self: Project, game_date: Any, **kw: Any) -> _Done:
        calls.append(kw["market_at"])
        return _Done()

    def backtest(self: Project, lo: Any, hi: Any, **kw: Any) -> Any:
        calls.append(kw["market_at"])
        raise _Stop

    monkeypatch.setattr(Project, "predict", predict)
    monkeypatch.setattr(Project, "backtest", backtest)
    return calls


@pytest.mark.parametrize("args, expected", [([], "close"), (["--market-at", "open"], "open"),
                                            (["--market-at", "close"], "close")])
def test_predict_passes_market_at(tmp_path: Path, seen: list[str], args: list[str], expected: str) -> None:
    res = CliRunner().invoke(cli.app, ["--db", str(tmp_path / "w.duckdb"), "predict", "--date", "2024-04-10",
                                       *args, "--json"])
    assert res.exit_code == 0, res.output
    assert seen == [expected] and json.loads(res.stdout)["status"] == "complete"


def test_backtest_passes_market_at(tmp_path: Path, seen: list[str]) -> None:
    res = CliRunner().invoke(cli.app, ["--db", str(tmp_path / "w.duckdb"), "backtest", "--from", "2024-04-01",
                                       "--to", "2024-04-10", "--market-at", "open"])
    assert isinstance(res.exception, _Stop) and seen == ["open"]


@pytest.mark.parametrize("verb", [["predict", "--date", "2024-04-10"], ["backtest", "--from", "2024-04-01", "--to", "2024-04-10"]])
def test_an_unknown_market_time_is_refused(tmp_path: Path, seen: list[str], verb: list[str]) -> None:
    res = CliRunner().invoke(cli.app, ["--db", str(tmp_path / "w.duckdb"), *verb, "--market-at", "noon"])
    assert res.exit_code == 2 and "--market-at must be one of close, open" in res.output and seen == []
