"""The examples of docs/python-api.md run, in order, against a warehouse built from ../shared/data, and
the DataFrames they return have exactly the columns the document lists."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from nbaprops.features.definitions import FEATURE_VERSION, FEATURE_VERSIONS

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[2] / "docs" / "python-api.md"


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## ", text, flags=re.M)
    return {p.split("\n", 1)[0].strip(): p for p in parts[1:]}


def _documented_columns(section: str) -> list[str]:
    m = re.search(r"^Columns: (.*?)(?:\n\n|\Z)", section, flags=re.M | re.S)
    assert m, "section without a Columns: paragraph"
    return re.findall(r"`([a-z_0-9]+)`", m.group(1))


@pytest.fixture(scope="module")
def ran(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Execute every ```python block of the document in one namespace, in a folder holding nba.duckdb."""
    import os

    work = tmp_path_factory.mktemp("python_api")
    shutil.copy(warehouse, work / "nba.duckdb")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 6
    keep = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("NBAPROPS_")}
    cwd = Path.cwd()
    ns: dict[str, Any] = {"_work": work}
    try:
        os.chdir(work)
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), ns)  # noqa: S102 - the document's own examples
    finally:
        os.chdir(cwd)
        os.environ.update(keep)
        if "p" in ns:
            ns["p"].close()
    return ns


def test_examples_train_predict_and_grade_one_slate(ran: dict[str, Any]) -> None:
    assert ran["manifest"]["trained_until"] == "2024-04-10"
    assert ran["batch"].rows > 900                     # 164 players x 7 systems on 2024-04-10
    assert ran["graded"].graded_rows == ran["batch"].rows
    assert len(ran["graded"].graded) == ran["batch"].rows


def test_features_have_the_documented_columns(ran: dict[str, Any]) -> None:
    doc = _documented_columns(_sections(DOC.read_text(encoding="utf-8"))["Features"])
    cols = list(ran["features"].columns)
    assert cols[:len(doc)] == doc
    assert cols[len(doc):] == list(FEATURE_VERSIONS[FEATURE_VERSION])
    assert (ran["features"]["game_date"] == pd.Timestamp("2024-04-10")).all()
    assert ran["features"]["player_id"].is_unique


def test_predictions_lines_and_grades_have_the_documented_columns(ran: dict[str, Any]) -> None:
    sections = _sections(DOC.read_text(encoding="utf-8"))
    assert list(ran["preds"].columns) == _documented_columns(sections["Predictions"])
    assert list(ran["lines"].columns) == _documented_columns(sections["Lines"])
    assert list(ran["grades"].columns) == _documented_columns(sections["Grades"])
    assert list(ran["result"].graded.columns) == _documented_columns(sections["Grades"])


def test_example_values_are_the_warehouse_rows(ran: dict[str, Any]) -> None:
    preds, lines, grades = ran["preds"], ran["lines"], ran["grades"]
    assert set(preds["system_id"]) == {"catboost"}
    assert preds["player_name"].notna().all() and preds["team_abbr"].notna().all()
    assert set(preds["recommendation"]) <= {"OVER", "UNDER", "PASS", "NO_LINE"}
    with_line = preds[preds["line_source"] == "ACTUAL_PROP"]
    assert len(with_line) > 50 and with_line["sportsbook"].notna().all()
    assert set(lines["market"]) == {"player_points"} and (lines["line"] > 0).all()
    # every line a prediction used is one of the stored quotes
    assert set(with_line["line_snapshot_id"]) <= set(lines["snapshot_id"])
    assert len(ran["bets"]) == int(grades["is_bet"].sum())
    assert set(grades["result"]) <= {"WIN", "LOSS", "PUSH", "VOID", "NO_BET"}


def test_predictions_filter_by_market(ran: dict[str, Any]) -> None:
    from nbaprops import Project
    from nbaprops.errors import InputError

    with Project(ran["_work"] / "nba.duckdb") as p:
        every = p.predictions("2024-04-10")
        assert set(every["market"]) == {"player_points"} and len(every) > 900
        pd.testing.assert_frame_equal(p.predictions("2024-04-10", markets="points"), every)
        pd.testing.assert_frame_equal(p.predictions("2024-04-10", markets=["player_points", "pra"]), every)
        assert p.predictions("2024-04-10", markets="rebounds").empty
        with pytest.raises(InputError, match="nope"):
            p.predictions("2024-04-10", markets="nope")


def test_backtest_result_carries_metrics_and_graded_rows(ran: dict[str, Any]) -> None:
    result, points = ran["result"], ran["points"]
    dates = pd.to_datetime(result.graded["game_date"])
    assert dates.min() >= pd.Timestamp("2024-03-02") and dates.max() <= pd.Timestamp("2024-04-14")
    assert set(result.metrics) >= {"points", "probability", "betting", "clv", "alarms"}
    cat = points["catboost"]
    assert cat["n_line"] > 500
    # honest range: a points forecast within half a point of the line's MAE on the same rows
    assert 3.0 < cat["line_mae"] < 7.0 and abs(cat["mae_line"] - cat["line_mae"]) < 0.5
    assert len(result.blocks) >= 5                     # weekly retrains over six weeks
