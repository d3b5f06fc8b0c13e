"""The market a prediction sees: every book's quote for the slate, cross-book sanity, consensus, best price.

For one date and one market (``docs/market.md``; points unless another :class:`~nbaprops.markets.Market`
is given):

1. every book's newest pre-tip quote of the market for each slate player (``warehouse.line_history.book_quotes``);
2. the per-quote gate (:func:`~nbaprops.predict.line_gate.validate_lines`) and the cross-book gate
   (:func:`~nbaprops.predict.line_gate.cross_book_check`, the line slope fitted on earlier dates);
   the cross-book rejects are returned for quarantine and never shopped;
3. the consensus of the passing quotes (median line, spread, books, pooled fair P(over)) and the pooled
   fair P(over) at the player's chosen line (the market probability of the prediction);
4. line shopping: among the passing books quoting the chosen line, the best over price and the best
   under price (highest decimal odds) and their books. Books at other lines are not shopped (a
   different line is a different bet; it counts in the consensus only).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

from nbaprops.markets import POINTS, Market, as_market
from nbaprops.odds import american_to_decimal
from nbaprops.predict.line_gate import cross_book_check, validate_lines
from nbaprops.warehouse.line_history import book_quotes, consensus, line_slopes, pooled_p_over

__all__ = ["MARKET_AT", "MARKET_COLUMNS", "best_prices", "closing_market", "judge_quotes", "open_lines",
           "slate_market"]

#: When a batch reads the market: ``close`` (every pre-tip quote in the warehouse: live, the newest so
#: far) or ``open`` (each player-game's first snapshot: a backtest predicting at the open, so the
#: move to the close can be measured; the chosen line is re-chosen in that snapshot).
MARKET_AT = ("close", "open")

#: Columns :func:`slate_market` adds per slate row (NaN/None where the player has no passing quote).
MARKET_COLUMNS = ("consensus_line", "line_spread", "books_quoting", "consensus_p_over", "consensus_at",
                  "market_p_at_line", "best_over_price", "best_over_book", "best_under_price", "best_under_book")


def judge_quotes(quotes: pd.DataFrame, slope: float) -> pd.DataFrame:
    """Both gates over every book's quote: adds ``gate_reason`` (None = usable) to a copy."""
    if quotes.empty:
        out = quotes.copy()
        out["gate_reason"] = pd.Series(dtype=object)
        return out
    cand = quotes.copy()
    cand["line_source"] = "ACTUAL_PROP"
    checked = validate_lines(cand)
    ok = checked["is_valid"].to_numpy(dtype=bool)
    xb = cross_book_check(checked.loc[ok], slope=slope)
    reason = checked["reject_reason"].astype(object).copy()
    reason.loc[xb.index] = xb["cross_book_reason"]
    checked["gate_reason"] = reason
    return checked.drop(columns=["is_valid", "reject_reason", "line_source"])


def best_prices(passed: pd.DataFrame, line: pd.Series) -> pd.DataFrame:
    """Best over and under price (highest decimal odds) among the quotes at each player-game's line.

    Args:
        passed: usable quotes (``game_date, player_id, sportsbook, line, over_price, under_price``).
        line: indexed by ``(game_date, player_id)``: the line to shop.

    Returns:
        Indexed like ``line``: ``best_over_price, best_over_book, best_under_price, best_under_book``.
    """
    cols = ["best_over_price", "best_over_book", "best_under_price", "best_under_book"]
    out = pd.DataFrame(index=line.index, columns=cols, dtype=object)
    if passed.empty or line.empty:
        return out
    key = pd.MultiIndex.from_frame(passed[["game_date", "player_id"]])
    at_line = passed[passed["line"].to_numpy(dtype=float) == line.reindex(key).to_numpy(dtype=float)]
    for side in ("over", "under"):
        q = at_line.assign(_dec=american_to_decimal(at_line[f"{side}_price"].to_numpy(dtype=float)))
        q = q[np.isfinite(q["_dec"])]
        # ties go to the book first in name order, so a re-run names the same book
        top = q.sort_values(["_dec", "sportsbook"], ascending=[False, True]).drop_duplicates(["game_date", "player_id"])
        top = top.set_index(["game_date", "player_id"])
        out[f"best_{side}_price"] = top[f"{side}_price"].reindex(line.index)
        out[f"best_{side}_book"] = top["sportsbook"].reindex(line.index)
    for c in ("best_over_price", "best_under_price"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    return out


def open_lines(slate: pd.DataFrame, judged: pd.DataFrame) -> pd.DataFrame:
    """The quote each slate player would be priced from at the open: the chosen book's quote in the
    first snapshot, else the usable quote nearest the snapshot's median line (then book name).

    Returns:
        Aligned with ``slate``: ``line, over_price, under_price, sportsbook, line_snapshot_id, quoted_at,
        quote_basis`` (NaN/None where the player has no usable quote in the snapshot).
    """
    cols = {"line": "line", "over_price": "over_price", "under_price": "under_price", "sportsbook": "sportsbook",
            "line_snapshot_id": "snapshot_id", "quoted_at": "quoted_at", "quote_basis": "quote_basis"}
    out = pd.DataFrame(index=slate.index, columns=list(cols), dtype=object)
    passed = judged[judged["gate_reason"].isna()] if len(judged) else judged
    if passed.empty:
        return out
    p = passed.assign(player_id=passed["player_id"].astype("int64"))
    med = p.groupby("player_id")["line"].transform("median")
    p = p.assign(_dist=(p["line"] - med).abs())
    own = slate[["player_id", "sportsbook"]].assign(player_id=slate["player_id"].astype("int64"), _own=1)
    p = p.merge(own, on=["player_id", "sportsbook"], how="left")
    p["_own"] = p["_own"].fillna(0)
    top = (p.sort_values(["player_id", "_own", "_dist", "sportsbook"], ascending=[True, False, True, True])
           .drop_duplicates("player_id").set_index("player_id"))
    pid = slate["player_id"].astype("int64")
    for dst, src in cols.items():
        out[dst] = top[src].reindex(pid).to_numpy()
    for c in ("line", "over_price", "under_price"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    return out


def slate_market(con: duckdb.DuckDBPyConnection, game_date: dt.date, slate: pd.DataFrame, *,
                 as_of: dt.datetime | None = None, first_snapshot: bool = False,
                 market: Market | str = POINTS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The market of each slate row and the quotes the gates rejected.

    Args:
        slate: rows with ``game_date, player_id, line`` (the chosen line of ``market``, NaN: none).
        as_of: quotes made by this time only (None: every pre-tip quote in the warehouse).
        first_snapshot: read each player-game's first snapshot only (``MARKET_AT`` ``open``).
        market: whose quotes are read (default points, the behaviour before markets). Another market's
            quotes are gated with its own parameters (``Market.max_line``, ``placeholder_check``) and
            its line slope is fitted on its own earlier quotes.

    Returns:
        ``(market, judged)``: ``market`` is aligned with ``slate`` (same index) with
        :data:`MARKET_COLUMNS`; ``judged`` is every book's quote with its ``gate_reason`` (and, for a
        market other than points, a ``market`` column).
    """
    market = as_market(market)
    quotes = book_quotes(con, game_date, as_of=as_of, player_ids=slate["player_id"].astype("int64").tolist(),
                         first_snapshot=first_snapshot, market=market)
    if market != POINTS:
        quotes["market"] = market.key  # the line gate checks each row with its market's parameters
    slope = line_slopes(con, [game_date], market=market)[game_date][0]
    judged = judge_quotes(quotes, slope)
    passed = judged[judged["gate_reason"].isna()] if len(judged) else judged
    keys = pd.MultiIndex.from_arrays([pd.to_datetime(slate["game_date"]).dt.date.to_numpy(),
                                      slate["player_id"].astype("int64").to_numpy()], names=["game_date", "player_id"])
    if len(passed):
        passed = passed.assign(game_date=pd.to_datetime(passed["game_date"]).dt.date,
                               player_id=passed["player_id"].astype("int64"))
    cons = consensus(passed, slope).reindex(keys)
    line = pd.Series(pd.to_numeric(slate["line"], errors="coerce").to_numpy(dtype=float), index=keys)
    out = pd.DataFrame(index=keys)
    for c in ("consensus_line", "line_spread", "books_quoting", "consensus_p_over", "consensus_at"):
        out[c] = cons[c].to_numpy()
    out["market_p_at_line"] = pooled_p_over(passed, line, slope).to_numpy(dtype=float) if len(passed) else np.nan
    best = best_prices(passed, line)
    for c in best.columns:
        out[c] = best[c].to_numpy()
    out.index = slate.index
    for c in ("consensus_line", "line_spread", "books_quoting", "consensus_p_over", "market_p_at_line"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    return out, judged


def closing_market(con: duckdb.DuckDBPyConnection, dates: list[dt.date], lines: pd.DataFrame, *,
                   market: Market | str = POINTS) -> pd.DataFrame:
    """The closing consensus of each player-game: every book's last pre-tip quote, through both gates.

    Args:
        dates: the game dates.
        lines: ``game_date, player_id, line`` (one line per player-game: the fair P(over) at it is
            returned as ``closing_p_over``).
        market: whose quotes are read (default points).

    Returns:
        Aligned with ``lines`` (same index): ``closing_consensus_line``, ``closing_consensus_p_over``
        (at the consensus line), ``closing_p_over`` (at ``line``), ``closing_at`` (newest quote used),
        ``closing_books``.
    """
    market = as_market(market)
    cols = ["closing_consensus_line", "closing_consensus_p_over", "closing_p_over", "closing_at", "closing_books"]
    out = pd.DataFrame(index=lines.index, columns=cols)
    if lines.empty or not dates:
        return out
    quotes = book_quotes(con, min(dates), max(dates), market=market)
    if quotes.empty:
        return out
    if market != POINTS:
        quotes["market"] = market.key
    quotes["game_date"] = pd.to_datetime(quotes["game_date"]).dt.date
    quotes = quotes[quotes["game_date"].isin(set(dates))]
    quotes["player_id"] = quotes["player_id"].astype("int64")
    slopes = line_slopes(con, sorted(set(dates)), market=market)
    judged = [judge_quotes(day, slopes[day["game_date"].iloc[0]][0]) for _, day in quotes.groupby("game_date")]
    allq = pd.concat(judged, ignore_index=True) if judged else quotes.assign(gate_reason=None)
    passed = allq[allq["gate_reason"].isna()]
    slope = pd.Series({d: v[0] for d, v in slopes.items()}, dtype="float64")
    cons = consensus(passed, slope)
    keys = pd.MultiIndex.from_arrays([pd.to_datetime(lines["game_date"]).dt.date.to_numpy(),
                                      lines["player_id"].astype("int64").to_numpy()], names=["game_date", "player_id"])
    line = pd.Series(pd.to_numeric(lines["line"], errors="coerce").to_numpy(dtype=float), index=keys)
    uniq = line[~line.index.duplicated()]
    at_line = pooled_p_over(passed, uniq, slope).reindex(keys)
    c = cons.reindex(keys)
    out["closing_consensus_line"] = pd.to_numeric(c["consensus_line"], errors="coerce").to_numpy(dtype=float)
    out["closing_consensus_p_over"] = pd.to_numeric(c["consensus_p_over"], errors="coerce").to_numpy(dtype=float)
    out["closing_p_over"] = at_line.to_numpy(dtype=float)
    out["closing_at"] = c["consensus_at"].to_numpy()
    out["closing_books"] = pd.to_numeric(c["books_quoting"], errors="coerce").to_numpy(dtype=float)
    return out
