"""Every book's line and prices for each player of a slate, the best price, and the consensus with its
move since the open (issue 11 part 3; docs/market.md, "Every book on the slate page").

The quotes are every book's newest pre-tip points quote (:func:`nbaprops.warehouse.line_history.book_quotes`,
the market now: the close for a past date), through both line gates (:func:`nbaprops.predict.market.judge_quotes`;
a rejected quote is listed with its reason and never best). The best over and under prices are the
batch's rule (:func:`nbaprops.predict.market.best_prices`): the highest decimal odds among the passing
books quoting the prediction's line. The consensus now and at the open (each player-game's first
snapshot) is :func:`nbaprops.warehouse.line_history.consensus`; ``consensus_p_over_move`` compares the
two at the same line (the consensus line now, the open's quotes moved there by the line slope).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pandas as pd

from nbaprops.predict.market import best_prices, judge_quotes
from nbaprops.warehouse.line_history import book_quotes, consensus, line_slopes, pooled_p_over

__all__ = ["BOOK_FIELDS", "MARKET_FIELDS", "slate_book_quotes"]

#: Fields of each book's entry.
BOOK_FIELDS = ("sportsbook", "source", "line", "over_price", "under_price", "fair_p_over", "quoted_at",
               "gate_reason", "best_over", "best_under")
#: Fields of each player's market.
MARKET_FIELDS = ("player_id", "game_id", "shopped_line", "best_over_price", "best_over_book", "best_under_price",
                 "best_under_book", "consensus_line", "consensus_p_over", "line_spread", "books_quoting",
                 "consensus_at", "open_consensus_line", "open_consensus_p_over", "open_at", "consensus_line_move",
                 "consensus_p_over_move", "books")


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _when(x: Any) -> dt.datetime | None:
    return None if x is None or x is pd.NaT or (isinstance(x, float) and math.isnan(x)) else pd.Timestamp(x).to_pydatetime()


def _keyed(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    return df.assign(game_date=pd.to_datetime(df["game_date"]).dt.date, player_id=df["player_id"].astype("int64"))


def slate_book_quotes(con: duckdb.DuckDBPyConnection, game_date: dt.date, *,
                      lines: Mapping[int, float] | None = None,
                      player_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """The market of each quoted player of ``game_date`` (ordered by player id).

    Args:
        lines: the line to shop per player (the prediction's line); a player without one is shopped at
            his chosen line of ``upcoming_player_game_context``, else not shopped.
        player_ids: only these players.

    Returns:
        One dict per player with :data:`MARKET_FIELDS`; ``books`` is a list of dicts with
        :data:`BOOK_FIELDS` (by book name). NaN is None.
    """
    quotes = _keyed(book_quotes(con, game_date, player_ids=player_ids))
    if quotes.empty:
        return []
    slope = line_slopes(con, [game_date])[game_date][0]
    judged = _keyed(judge_quotes(quotes, slope))
    passed = judged[judged["gate_reason"].isna()]
    opened = _keyed(book_quotes(con, game_date, player_ids=player_ids, first_snapshot=True))
    open_passed = _keyed(judge_quotes(opened, slope)) if len(opened) else opened
    if len(open_passed):
        open_passed = open_passed[open_passed["gate_reason"].isna()]
    players = sorted(int(p) for p in judged["player_id"].unique())
    keys = pd.MultiIndex.from_arrays([[game_date] * len(players), players], names=["game_date", "player_id"])
    chosen = dict(con.execute("""SELECT player_id, current_points_line FROM upcoming_player_game_context
                                 WHERE game_date = ? AND current_points_line IS NOT NULL""", [game_date]).fetchall())
    shop = pd.Series([_num((lines or {}).get(p, chosen.get(p))) for p in players], index=keys, dtype="float64")
    now = consensus(passed, slope).reindex(keys)
    then = consensus(open_passed, slope).reindex(keys) if len(open_passed) else pd.DataFrame(index=keys, columns=now.columns)
    open_at_now_line = (pooled_p_over(open_passed, pd.to_numeric(now["consensus_line"], errors="coerce"), slope)
                        if len(open_passed) else pd.Series(float("nan"), index=keys))
    best = best_prices(passed, shop)
    out = []
    for key in keys:
        pid = int(key[1])
        c, o, b = now.loc[key], then.loc[key], best.loc[key]
        p_now, p_then = _num(c["consensus_p_over"]), _num(open_at_now_line.loc[key])
        line_now, line_then = _num(c["consensus_line"]), _num(o["consensus_line"])
        mine = judged[judged["player_id"] == pid].sort_values(["sportsbook", "source"])
        books = []
        for q in mine.itertuples(index=False):
            ok = q.gate_reason is None or (isinstance(q.gate_reason, float) and math.isnan(q.gate_reason))
            books.append({
                "sportsbook": q.sportsbook, "source": q.source, "line": _num(q.line),
                "over_price": _num(q.over_price), "under_price": _num(q.under_price),
                "fair_p_over": _num(q.fair_p_over), "quoted_at": _when(q.quoted_at),
                "gate_reason": None if ok else str(q.gate_reason),
                "best_over": bool(ok and b["best_over_book"] == q.sportsbook and _num(q.line) == _num(shop.loc[key])
                                  and _num(q.over_price) == _num(b["best_over_price"])),
                "best_under": bool(ok and b["best_under_book"] == q.sportsbook and _num(q.line) == _num(shop.loc[key])
                                   and _num(q.under_price) == _num(b["best_under_price"])),
            })
        out.append({
            "player_id": pid, "game_id": str(mine["game_id"].iloc[0]) if mine["game_id"].notna().any() else None,
            "shopped_line": _num(shop.loc[key]),
            "best_over_price": _num(b["best_over_price"]), "best_over_book": b["best_over_book"] if isinstance(b["best_over_book"], str) else None,
            "best_under_price": _num(b["best_under_price"]), "best_under_book": b["best_under_book"] if isinstance(b["best_under_book"], str) else None,
            "consensus_line": line_now, "consensus_p_over": p_now, "line_spread": _num(c["line_spread"]),
            "books_quoting": int(c["books_quoting"]) if _num(c["books_quoting"]) is not None else 0,
            "consensus_at": _when(c["consensus_at"]),
            "open_consensus_line": line_then, "open_consensus_p_over": _num(o["consensus_p_over"]),
            "open_at": _when(o["consensus_at"]),
            "consensus_line_move": None if line_now is None or line_then is None else line_now - line_then,
            "consensus_p_over_move": None if p_now is None or p_then is None else p_now - p_then,
            "books": books,
        })
    return out
