"""The line gate per market (issue 12): each market's bad-line, implausibility and placeholder
parameters come from the registry; the in-game check holds for every market."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from nbaprops.markets import MARKETS, get_market
from nbaprops.predict.line_gate import MAX_LINE, validate_lines

TIP = pd.Timestamp("2025-01-15 19:30", tz="America/New_York")


def _row(market: str, line: float, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "player_id": 1, "game_id": "0022400500", "game_date": pd.Timestamp("2025-01-15"), "line": line,
        "sportsbook": "draftkings", "quoted_at": TIP - pd.Timedelta(hours=2), "tipoff_at": TIP,
        "quote_basis": "quoted_at", "over_price": -115.0, "under_price": -105.0, "line_source": "ACTUAL_PROP",
        "market": market,
    }
    row.update(overrides)
    return row


def _gate(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for col in ("quoted_at", "tipoff_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return validate_lines(frame)


def test_points_parameters_are_the_old_gate() -> None:
    assert MAX_LINE == get_market("points").max_line == 80.0
    out = _gate([_row("player_points", 80.5), _row("player_points", 80.0)])
    assert list(out["reject_reason"]) == ["bad_line_value", None]


@pytest.mark.parametrize("market", [m.key for m in MARKETS])
def test_every_market_rejects_lines_above_its_max_and_in_game_quotes(market: str) -> None:
    m = get_market(market)
    out = _gate([_row(market, m.max_line + 0.5), _row(market, m.max_line - 0.5),
                 _row(market, 1.5, quoted_at=TIP + pd.Timedelta(minutes=5)), _row(market, 0.0)])
    assert list(out["reject_reason"]) == ["bad_line_value", None, "quoted_after_tipoff", "bad_line_value"]


def test_a_blocks_line_of_twelve_is_rejected_where_a_points_line_of_twelve_is_not() -> None:
    out = _gate([_row("player_blocks", 12.5), _row("player_points", 12.5)])
    assert list(out["reject_reason"]) == ["bad_line_value", None]


def test_implausible_uses_the_markets_own_average_and_tolerance() -> None:
    # rebounds: tolerance max(8, 1.5 * avg); a 14.5 line against a 3-rebound average is implausible
    out = _gate([_row("player_rebounds", 14.5, stat_avg_last_10=3.0, points_avg_last_10=14.0),
                 _row("player_rebounds", 9.5, stat_avg_last_10=3.0, points_avg_last_10=30.0),
                 # points averages never judge another market's line
                 _row("player_rebounds", 9.5, points_avg_last_10=40.0)])
    assert list(out["reject_reason"]) == ["implausible_for_player", None, None]
    # a points row keeps reading points_avg_* (the old gate's rule)
    out = _gate([_row("player_points", 45.5, points_avg_last_10=12.0)])
    assert list(out["reject_reason"]) == ["implausible_for_player"]


def test_a_slate_of_half_point_blocks_lines_is_not_a_placeholder_but_points_is() -> None:
    blocks = [_row("player_blocks", 0.5, player_id=i) for i in range(20)]
    points = [_row("player_points", 20.0, player_id=i) for i in range(20)]
    out = _gate(blocks + points)
    assert out.loc[out["market"] == "player_blocks", "is_valid"].all()
    assert (out.loc[out["market"] == "player_points", "reject_reason"] == "placeholder_pattern").all()


def test_placeholder_pattern_is_judged_per_market() -> None:
    # ten points lines at one value hidden among thirty distinct PRA lines: 25% of the whole slate,
    # but all of its points lines
    points = [_row("player_points", 20.0, player_id=i) for i in range(10)]
    others = [_row("player_points_rebounds_assists", 10.5 + i, player_id=100 + i) for i in range(30)]
    out = _gate(points + others)
    assert (out.loc[out["market"] == "player_points", "reject_reason"] == "placeholder_pattern").all()
    assert out.loc[out["market"] != "player_points", "is_valid"].all()


def test_an_unknown_market_is_rejected() -> None:
    out = _gate([_row("player_dunks", 1.5)])
    assert list(out["reject_reason"]) == ["unknown_market"]
