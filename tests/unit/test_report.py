"""write_report: files exist, numbers are honest, and a losing record is called what it is."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nbaprops.evaluate.grading import grade_predictions
from nbaprops.evaluate.report import NO_EDGE_PHRASE, verdict, write_report


def _slate(hit_prob: float, *, n_dates: int = 20, per_date: int = 15, seed: int = 0) -> pd.DataFrame:
    """Graded bets for one system where each OVER wins with probability ``hit_prob`` (fixed seed)."""
    rng = np.random.default_rng(seed)
    preds, acts = [], []
    pid = 0
    for d in range(n_dates):
        date = (pd.Timestamp("2024-03-01") + pd.Timedelta(days=d)).date()
        for _ in range(per_date):
            pid += 1
            line = float(rng.integers(8, 30)) + 0.5
            win = rng.random() < hit_prob
            points = int(line + 3) if win else int(line - 3)
            p_over = float(np.clip(0.5 + rng.normal(0, 0.1), 0.05, 0.95))
            preds.append({
                "game_id": f"g{d}", "game_date": date, "player_id": pid, "system_id": "ridge_v1",
                "predicted_points": line + 2.0 + rng.normal(0, 1), "p_over": p_over, "confidence": p_over,
                "edge": float(rng.uniform(1, 6)), "recommendation": "OVER", "line": line,
                "line_source": "ACTUAL_PROP", "line_valid": True, "over_price": -110.0, "under_price": -110.0,
                "market_p_over": 0.5,
            })
            acts.append({"game_id": f"g{d}", "player_id": pid, "points": points, "minutes": 30.0})
    return grade_predictions(pd.DataFrame(preds), pd.DataFrame(acts).astype({"points": "Int64"}))


def test_write_report_creates_files_and_says_no_edge_below_break_even(tmp_path: Path) -> None:
    graded = _slate(0.45)
    out = write_report(graded, tmp_path / "rep", title="Walk-forward March", period="2024-03-01..2024-03-20",
                       command="nbaprops grade --from 2024-03-01 --to 2024-03-20", n_boot=200)
    report = Path(out["report_md"])
    metrics = Path(out["metrics_json"])
    assert report.is_file() and metrics.is_file()
    for paths in out["plots"].values():
        assert Path(paths["html"]).stat().st_size > 0 and Path(paths["png"]).stat().st_size > 0
        assert Path(paths["png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        html = Path(paths["html"]).read_text(encoding="utf-8")
        assert "cdn.plot.ly" not in html and "plotly.min.js" in html  # local script, no CDN
    assert set(out["plots"]) == {"calibration", "cumulative_profit", "hit_rate_by_edge", "mae_vs_line"}
    assert (tmp_path / "rep" / "plots" / "plotly.min.js").is_file()

    text = report.read_text(encoding="utf-8")
    assert "52.38%" in text
    assert NO_EDGE_PHRASE in text and "do not beat break-even" in text
    assert "nbaprops grade --from 2024-03-01" in text and "Walk-forward March" in text

    data = json.loads(metrics.read_text(encoding="utf-8"))
    bet = data["betting"][0]
    assert bet["hit_rate"] < 0.5238
    head = out["headline"][0]
    assert head["system"] == "ridge_v1" and head["edge_demonstrated"] is False
    assert head["hit_rate"] == pytest.approx(bet["hit_rate"])
    assert head["bets"] == 300 and out["edge_demonstrated"] is False
    assert data["meta"]["command"].startswith("nbaprops grade")


def test_report_does_not_claim_edge_unless_ci_clears_zero(tmp_path: Path) -> None:
    strong = write_report(_slate(0.75, seed=1), tmp_path / "strong", title="t", period="p", command="c", n_boot=200)
    assert strong["edge_demonstrated"] is True
    assert "beats the break-even" in strong["headline"][0]["verdict"]

    ok, sentence = verdict({"bets": 400, "hit_rate": 0.54, "break_even": 0.5238, "roi": 0.03,
                            "roi_ci_low": -0.05, "roi_ci_high": 0.11})
    assert not ok and NO_EDGE_PHRASE in sentence and "includes zero" in sentence
    ok, sentence = verdict({"bets": 0})
    assert not ok and NO_EDGE_PHRASE in sentence


def test_report_says_beats_the_line_only_when_the_interval_is_below_zero(tmp_path: Path) -> None:
    # forecast MAE 0.006 below the line's: a point difference that proves nothing on this sample
    rng = np.random.default_rng(2)
    n_dates, per_date = 30, 20
    n = n_dates * per_date
    actual = rng.integers(5, 35, n).astype(float)
    line_err = rng.choice([-1.0, 1.0], n) * rng.uniform(2.0, 9.0, n)
    delta = rng.choice([-1.0, 1.0], n)
    delta += -0.006 - delta.mean()
    blended = actual + np.sign(line_err) * (np.abs(line_err) + delta)
    model_only = actual + np.sign(line_err) * (np.abs(line_err) - 1.0)     # 1 point better on every row
    preds = pd.DataFrame({
        "game_id": [f"g{i}" for i in range(n)], "player_id": np.arange(n), "system_id": "catboost",
        "game_date": np.repeat(pd.date_range("2024-03-01", periods=n_dates).date, per_date),
        "predicted_points": blended, "model_only_points": model_only, "p_over": 0.5, "confidence": 0.5,
        "edge": blended - actual - line_err, "recommendation": "PASS", "line": actual + line_err,
        "line_source": "ACTUAL_PROP", "line_valid": True, "over_price": -110.0, "under_price": -110.0,
        "market_p_over": 0.5})
    acts = pd.DataFrame({"game_id": preds["game_id"], "player_id": preds["player_id"], "minutes": 30.0,
                         "points": pd.array(actual.astype(int), dtype="Int64")})
    out = write_report(grade_predictions(preds, acts), tmp_path / "r", title="t", period="p", command="c", n_boot=300)
    head = out["headline"][0]
    assert head["mae_minus_line"] == pytest.approx(-0.006)
    lo, hi = head["mae_minus_line_ci"]
    assert lo < 0 < hi
    assert head["mae_model_only_minus_line"] == pytest.approx(-1.0) and head["mae_model_only_minus_line_ci"][1] < 0
    text = Path(out["report_md"]).read_text(encoding="utf-8")
    verdict_line = next(ln for ln in text.splitlines() if ln.startswith("- **catboost**"))
    assert "The blended forecast is indistinguishable from the line (MAE difference -0.006" in verdict_line
    assert "The blended forecast beats" not in verdict_line
    assert "the model-only forecast beats the line by 1.000" in verdict_line
    metrics = json.loads(Path(out["metrics_json"]).read_text(encoding="utf-8"))["points"][0]
    for key in ("mae_line_model_only", "mae_minus_line_ci_low", "mae_minus_line_ci_high",
                "mae_model_only_minus_line", "mae_model_only_minus_line_ci_low", "mae_model_only_minus_line_ci_high"):
        assert key in metrics and metrics[key] is not None, key
    assert "model-only MAE" in text and "blended - line [95% CI]" in text
