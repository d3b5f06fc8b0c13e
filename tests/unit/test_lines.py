"""Unit tests of the line validation gate (the odds maths are tested in test_odds.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from nbaprops.errors import MissingColumnsError
from nbaprops.predict.line_gate import validate_lines

TIP = pd.Timestamp("2025-01-15 19:30", tz="America/New_York")


# ------------------------------------------------------------------------------ the gate
def _row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "player_id": 1, "game_id": "0022400500", "game_date": pd.Timestamp("2025-01-15"), "line": 20.0,
        "sportsbook": "draftkings", "quoted_at": TIP - pd.Timedelta(hours=2), "tipoff_at": TIP,
        "quote_basis": "quoted_at", "over_price": -115.0, "under_price": -105.0,
        "line_source": "ACTUAL_PROP", "points_avg_season": 19.4, "points_avg_last_10": 21.2,
    }
    row.update(overrides)
    return row


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for col in ("quoted_at", "tipoff_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def _gate(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return validate_lines(_frame(rows))


def test_single_real_twenty_is_valid() -> None:
    out = _gate([_row()])
    assert bool(out["is_valid"].iloc[0]) is True
    assert out["reject_reason"].iloc[0] is None


def test_closing_basis_valid_without_quote_time() -> None:
    out = _gate([_row(quote_basis="closing", quoted_at=pd.NaT, sportsbook="bettingpros_consensus")])
    assert bool(out["is_valid"].iloc[0]) is True


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"sportsbook": None}, "no_sportsbook"),
    ({"sportsbook": "  "}, "no_sportsbook"),
    ({"sportsbook": "unknown"}, "no_sportsbook"),
    ({"line_source": "ESTIMATED_AVG"}, "not_actual_prop"),
    ({"quoted_at": pd.NaT}, "missing_quote_time"),
    ({"quote_basis": "guess"}, "bad_quote_basis"),
    ({"quoted_at": TIP}, "quoted_after_tipoff"),
    ({"quoted_at": TIP + pd.Timedelta(minutes=20)}, "quoted_after_tipoff"),
    ({"line": np.nan}, "bad_line_value"),
    ({"line": np.inf}, "bad_line_value"),
    ({"line": 0.0}, "bad_line_value"),
    ({"line": -3.5}, "bad_line_value"),
    ({"line": 85.5}, "bad_line_value"),
    ({"line": 40.5, "points_avg_last_10": 12.0}, "implausible_for_player"),
    ({"line": 30.5, "points_avg_last_10": 5.0}, "implausible_for_player"),
    ({"over_price": np.nan}, "bad_price"),
    ({"under_price": 50.0}, "bad_price"),
])
def test_gate_rejects(overrides: dict[str, Any], reason: str) -> None:
    out = _gate([_row(), _row(player_id=2, **overrides)])
    assert bool(out["is_valid"].iloc[0]) is True
    assert bool(out["is_valid"].iloc[1]) is False
    assert out["reject_reason"].iloc[1] == reason


def test_implausibility_skipped_without_averages_and_uses_season_fallback() -> None:
    out = _gate([_row(line=45.5, points_avg_last_10=np.nan, points_avg_season=np.nan),
                 _row(line=45.5, points_avg_last_10=np.nan, points_avg_season=10.0)])
    assert out["is_valid"].tolist() == [True, False]


def test_star_line_within_tolerance_is_valid() -> None:
    # 1.5 x a 34-point average allows a 50.5 line for a star.
    out = _gate([_row(line=50.5, points_avg_last_10=34.0)])
    assert bool(out["is_valid"].iloc[0]) is True


def test_naive_timestamps_are_rejected() -> None:
    frame = pd.DataFrame([_row()])
    frame["quoted_at"] = pd.Timestamp("2025-01-15 17:00")  # tz-naive: ambiguous
    frame["tipoff_at"] = TIP
    out = validate_lines(frame)
    assert out["reject_reason"].iloc[0] == "naive_timestamp"


def _real_slate(n: int, seed: int = 3) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        avg = float(rng.uniform(6, 30))
        line = float(np.round(avg + rng.normal(0, 1.5)) + 0.5)
        rows.append(_row(player_id=i, line=line, points_avg_last_10=avg, points_avg_season=avg,
                         sportsbook=["draftkings", "fanduel"][i % 2]))
    return rows


def test_real_varied_slate_with_several_twenties_is_valid() -> None:
    rows = _real_slate(150)
    for i in range(0, 12):  # twelve genuine 20.0 quotes among 150
        rows[i].update(line=20.0, points_avg_last_10=19.0 + i % 3, points_avg_season=19.5)
    out = _gate(rows)
    assert out["is_valid"].all(), out.loc[~out["is_valid"], "reject_reason"].unique()


def test_placeholder_slate_is_rejected() -> None:
    rows = _real_slate(30)
    for r in rows:
        r.update(line=20.0, points_avg_last_10=max(r["points_avg_last_10"], 8.0))
    out = _gate(rows)
    assert not out["is_valid"].any()
    assert set(out["reject_reason"]) == {"placeholder_pattern"}


def test_placeholder_from_one_source_among_real_books_is_rejected() -> None:
    real = _real_slate(40)
    fake = [_row(player_id=1000 + i, line=20.0, sportsbook="legacy_feed", points_avg_last_10=15.0 + i % 10)
            for i in range(25)]
    out = _gate(real + fake)
    assert out.iloc[:40]["is_valid"].all()
    assert (out.iloc[40:]["reject_reason"] == "placeholder_pattern").all()


def test_small_slate_is_not_called_a_placeholder() -> None:
    rows = [_row(player_id=i) for i in range(5)]  # five 20.0 lines: too few to be a pattern
    assert _gate(rows)["is_valid"].all()


def test_missing_required_column_raises() -> None:
    with pytest.raises(MissingColumnsError):
        validate_lines(pd.DataFrame({"line": [20.0]}))
