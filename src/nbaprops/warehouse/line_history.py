"""Line history reads: every book's quote at a time, the walk-forward line slope, and the consensus.

The views are in ``sql/schema/010_line_history.sql`` (``line_quotes``, ``line_open_close``,
``line_consensus``: points) and ``012_market_line_quotes.sql`` (``market_line_quotes``: every market);
the odds maths are :mod:`nbaprops.odds`. :func:`book_quotes` and :func:`line_slopes` read the points
quotes unless given another ``market``. The method is ``docs/market.md``:

* the market **at a time** ``t`` is each book's newest pre-tip quote made at or before ``t``
  (:func:`book_quotes`; without ``as_of``, the newest pre-tip quote: the close);
* the **consensus** of those quotes (:func:`consensus`) is the median line, the spread of lines
  (max - min), the number of books, and the mean of the books' de-vigged P(over) each moved to the
  consensus line by the line slope (:func:`nbaprops.odds.shift_p_over`);
* the **line slope** for a date is fitted on earlier dates only (:func:`line_slopes`), on pairs of
  books quoting different lines for one player in the same snapshot.

Which quotes may enter the consensus (cross-book sanity) is the line gate's decision
(:func:`nbaprops.predict.line_gate.cross_book_check`); this module pools what it is given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import numpy as np
import pandas as pd

from nbaprops.markets import POINTS, Market, as_market, get_market
from nbaprops.odds import MAX_SLOPE_GAP, MIN_SLOPE_PAIRS, fit_line_slope, shift_p_over

__all__ = ["QUOTE_COLUMNS", "book_quotes", "consensus", "line_slopes", "pooled_p_over"]

QUOTE_COLUMNS = ("snapshot_id", "source", "game_id", "game_date", "player_id", "sportsbook", "line",
                 "over_price", "under_price", "fair_p_over", "quoted_at", "tipoff_at", "quote_basis",
                 "snapshot_seq", "snapshot_at")


def _quotes_view(market: Market) -> str:
    """The quotes of ``market``: the points view ``line_quotes`` (unchanged since 010) or the
    market's rows of ``market_line_quotes`` (a registry key, inlined)."""
    if market == POINTS:
        return "line_quotes"
    return f"(SELECT * FROM market_line_quotes WHERE market = '{get_market(market.key).key}')"


def book_quotes(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date | None = None, *,
                as_of: dt.datetime | None = None, player_ids: Sequence[int] | None = None,
                first_snapshot: bool = False, market: Market | str = POINTS) -> pd.DataFrame:
    """Each book's newest pre-tip quote of ``market`` (default points) per player-game of
    [date_from, date_to] made by ``as_of``.

    Args:
        date_from: first game date.
        date_to: last game date (default: ``date_from``).
        as_of: only quotes made at or before this time (timezone-aware); a 'closing' quote (time
            unknown) is seen only without ``as_of``. None: the close.
        player_ids: restrict to these players.
        first_snapshot: each book's newest quote inside the player-game's first snapshot (the open)
            instead of its newest overall.
        market: the market whose quotes are read.

    Returns:
        One row per (game_date, player_id, sportsbook) with :data:`QUOTE_COLUMNS`.
    """
    market = as_market(market)
    where = ["game_date BETWEEN $lo AND $hi"]
    params: dict[str, object] = {"lo": date_from, "hi": date_to or date_from}
    if as_of is not None:
        where.append("quoted_at <= $as_of")
        params["as_of"] = as_of
    if player_ids is not None:
        where.append("list_contains($players, player_id)")
        params["players"] = [int(p) for p in player_ids]
    if first_snapshot:
        where.append("snapshot_seq = first_seq")
    df = con.execute(f"""
        SELECT {", ".join(QUOTE_COLUMNS)}
        FROM (SELECT *, min(snapshot_seq) OVER (PARTITION BY source, game_date, player_id) AS first_seq
              FROM {_quotes_view(market)} WHERE game_date BETWEEN $lo AND $hi)
        WHERE {" AND ".join(where)}
        QUALIFY row_number() OVER (PARTITION BY game_date, player_id, sportsbook
                                   ORDER BY quoted_at DESC NULLS FIRST, snapshot_id) = 1
        ORDER BY game_date, player_id, sportsbook""", params).df()
    for c in ("line", "over_price", "under_price", "fair_p_over"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    return df


def line_slopes(con: duckdb.DuckDBPyConnection, dates: Sequence[dt.date], *,
                min_pairs: int = MIN_SLOPE_PAIRS, market: Market | str = POINTS) -> dict[dt.date, tuple[float, int]]:
    """The line slope for each date, fitted walk-forward on the pairs of strictly earlier dates (of
    ``market``'s quotes; default points).

    A pair is two books' newest quotes in the same snapshot of one player with lines at most
    :data:`~nbaprops.odds.MAX_SLOPE_GAP` apart (and different).

    Returns:
        ``{date: (slope, n_pairs)}``; the slope is NaN with fewer than ``min_pairs`` earlier pairs.
    """
    market = as_market(market)
    if not dates:
        return {}
    pairs = con.execute(f"""
        WITH b AS (
            SELECT * FROM {_quotes_view(market)} WHERE game_date < $hi AND fair_p_over IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY source, game_date, player_id, snapshot_seq, sportsbook
                                       ORDER BY quoted_at DESC NULLS LAST, snapshot_id) = 1
        )
        SELECT a.game_date, a.line - c.line AS dl, a.fair_p_over - c.fair_p_over AS dp
        FROM b AS a JOIN b AS c
          ON a.source = c.source AND a.game_date = c.game_date AND a.player_id = c.player_id
         AND a.snapshot_seq = c.snapshot_seq AND a.sportsbook < c.sportsbook
        WHERE a.line <> c.line AND abs(a.line - c.line) <= $gap
        -- a fixed order: the same pairs give the same slope to the last bit, run after run
        ORDER BY a.source, a.game_date, a.player_id, a.snapshot_seq, a.sportsbook, c.sportsbook""",
                        {"hi": max(dates), "gap": MAX_SLOPE_GAP}).df()
    pairs["game_date"] = pd.to_datetime(pairs["game_date"]).dt.date
    out: dict[dt.date, tuple[float, int]] = {}
    for d in sorted(set(dates)):
        before = pairs[pairs["game_date"] < d]
        out[d] = fit_line_slope(before["dl"].to_numpy(dtype="float64"), before["dp"].to_numpy(dtype="float64"),
                                min_pairs=min_pairs)
    return out


def pooled_p_over(quotes: pd.DataFrame, target_line: pd.Series, slope: float | pd.Series) -> pd.Series:
    """Mean fair P(over) of each player-game's quotes moved to its target line.

    Args:
        quotes: rows with ``game_date, player_id, line, fair_p_over`` (the quotes to pool).
        target_line: indexed by ``(game_date, player_id)``: the line to pool at.
        slope: one slope, or one per ``game_date`` (a Series indexed by date).

    Returns:
        Indexed like ``target_line``; NaN where no quote can be moved there (no slope and no book at
        that line).
    """
    if quotes.empty or target_line.empty:
        return pd.Series(np.nan, index=target_line.index, dtype="float64")
    key = pd.MultiIndex.from_frame(quotes[["game_date", "player_id"]])
    to = target_line.reindex(key).to_numpy(dtype="float64")
    if isinstance(slope, pd.Series):
        s = slope.reindex(quotes["game_date"]).to_numpy(dtype="float64")
    else:
        s = np.full(len(quotes), float(slope))
    moved = shift_p_over(quotes["fair_p_over"].to_numpy(dtype="float64"),
                         quotes["line"].to_numpy(dtype="float64"), to, s)
    pooled = pd.Series(moved, index=key).groupby(level=[0, 1]).mean()
    return pooled.reindex(target_line.index)


def consensus(quotes: pd.DataFrame, slope: float | pd.Series) -> pd.DataFrame:
    """The consensus of each player-game's quotes (the ones passed in; see the module docstring).

    Returns:
        One row per ``(game_date, player_id)`` (the index): ``consensus_line`` (median line),
        ``line_spread`` (max - min), ``books_quoting``, ``consensus_p_over`` (pooled fair P(over) at
        the consensus line) and ``consensus_at`` (the newest quote time used).
    """
    cols = ["consensus_line", "line_spread", "books_quoting", "consensus_p_over", "consensus_at"]
    if quotes.empty:
        idx = pd.MultiIndex.from_arrays([[], []], names=["game_date", "player_id"])
        return pd.DataFrame(columns=cols, index=idx)
    g = quotes.groupby(["game_date", "player_id"])
    out = pd.DataFrame({"consensus_line": g["line"].median(),
                        "line_spread": g["line"].max() - g["line"].min(),
                        "books_quoting": g["sportsbook"].nunique(),
                        "consensus_at": g["quoted_at"].max()})
    out["consensus_p_over"] = pooled_p_over(quotes, out["consensus_line"], slope)
    return out[cols]
