"""Player prop markets as the pages and exports read them: what each market counts, the books' pre-tip
quotes of a date, a player's games with every market's stat, and the record of those games against a line.

One definition serves the player page, the board and the exports, so their numbers agree:

* **a market's stat** (:data:`MARKETS`, the registry of :mod:`nbaprops.markets`): the box-score sum
  the market is settled on (``player_points`` is ``pts``; ``player_points_rebounds_assists`` is ``pts + reb + ast``; ...). A market missing here is
  still listed with its quotes, without a history.
* **a pre-tip quote** (:data:`PRE_TIP`): a timed quote made before tip-off, or a source's closing line
  (the rule of ``upcoming_player_game_context``); in-game quotes are shown in a line's history, flagged,
  and used nowhere else.
* **a book's line** of a date: the book's latest pre-tip quote (per source and book).
* **tonight's line** of a market: the line the points model was given (the prediction's line) when
  there is one, else the most common line among the books' lines (the lower one on a tie).
* **record against a line** (:func:`line_record`): over = stat > line, under = stat < line, push =
  stat == line; hit rate = over / (over + under) (pushes refund, as in grading).
* **streak** (:func:`streak`): the player's most recent games of the season in a row on the same side
  of tonight's line; a push or a game on the other side ends it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from nbaprops.markets import MARKETS as REGISTRY
from nbaprops.markets import Market
from nbaprops.pretip import pre_tip_sql
from nbaprops.queries.tables import records

__all__ = ["MARKETS", "PRE_TIP", "STAT_COLUMNS", "LineRecord", "Market", "Streak", "best_prices", "book_lines", "line_record",
           "market_label", "market_order", "player_games", "streak", "tonights_line"]


#: Every market of the registry (:data:`nbaprops.markets.MARKETS`), by stored key, in display order
#: (add one there and every page and export picks it up).
MARKETS: dict[str, Market] = {m.key: m for m in REGISTRY}
#: ``stat_<market>`` column per market in :func:`player_games` rows.
STAT_COLUMNS = {k: f"stat_{k}" for k in MARKETS}
#: SQL condition (alias ``s``) of a quote made before tip-off (or a source's closing line).
#: The one definition is :mod:`nbaprops.pretip`.
PRE_TIP = pre_tip_sql("s")


def market_order(market: str) -> tuple[int, str]:
    """Sort key of markets: the order of :data:`MARKETS` (points first), then unknown ones by name."""
    keys = list(MARKETS)
    return (keys.index(market), "") if market in keys else (len(keys), market)


def market_label(market: str) -> str:
    """A market's label (``Points``), or its key when it is not in :data:`MARKETS`."""
    m = MARKETS.get(market)
    return m.label if m else market




def book_lines(cur: duckdb.DuckDBPyConnection, game_date: dt.date, player_ids: Sequence[int] | None = None,
               market: str | None = None, *, with_times: bool = True) -> list[dict[str, Any]]:
    """Each book's line of the date: its latest pre-tip quote per (player, market, source, book).

    Args:
        cur: A warehouse cursor.
        game_date: The date.
        player_ids: Only these players (None: every resolved player).
        market: Only this market (None: every market).
        with_times: Also return ``quoted_at`` (turning a time zone aware timestamp into Python costs
            more than the rest of the row: the board, which never shows it, leaves it out).

    Returns:
        Records with player_id, market, source, sportsbook, line, over_price, under_price, quoted_at,
        minutes_before_tipoff, quote_basis, opening_line, snapshot_id; ordered by player, market, book.
    """
    where = ["s.game_date = $d", "s.player_id IS NOT NULL", PRE_TIP]
    params: dict[str, Any] = {"d": game_date}
    if player_ids is not None:
        where.append("list_contains($p, s.player_id)")
        params["p"] = [int(p) for p in player_ids]
    if market is not None:
        where.append("s.market = $m")
        params["m"] = market
    cols = ("player_id, market, source, sportsbook, line, over_price, under_price, "
            + ("quoted_at, " if with_times else "") + "minutes_before_tipoff, quote_basis, opening_line, snapshot_id")
    return records(cur, f"""
        SELECT {cols}
        FROM (SELECT s.player_id, s.market, s.source, s.sportsbook, s.line, s.over_price, s.under_price, s.quoted_at,
                     s.minutes_before_tipoff, s.quote_basis, s.opening_line, s.snapshot_id,
                     row_number() OVER (PARTITION BY s.player_id, s.market, s.source, s.sportsbook
                                        ORDER BY s.quoted_at DESC NULLS LAST, s.snapshot_id DESC) AS rn
              FROM prop_line_snapshots s WHERE {' AND '.join(where)}) AS q
        WHERE rn = 1
        ORDER BY player_id, market, sportsbook, source""", params)


def tonights_line(quotes: Sequence[dict[str, Any]], predicted_line: float | None = None) -> float | None:
    """Tonight's line of one player's market: the prediction's line, else the books' most common line
    (the lower one on a tie); None without quotes."""
    if predicted_line is not None:
        return float(predicted_line)
    counts = Counter(float(q["line"]) for q in quotes if q.get("line") is not None)
    if not counts:
        return None
    return min(counts, key=lambda x: (-counts[x], x))


def best_prices(quotes: Sequence[dict[str, Any]], line: float | None) -> dict[str, Any]:
    """The best over and under price (highest American odds) among the books quoting exactly ``line``,
    and which book offers each."""
    at = [q for q in quotes if line is not None and q.get("line") is not None and float(q["line"]) == line]
    out: dict[str, Any] = {"best_over_price": None, "best_over_book": None, "best_under_price": None,
                           "best_under_book": None, "books_at_line": len(at)}
    for side in ("over", "under"):
        priced = [q for q in at if q.get(f"{side}_price") is not None]
        if priced:
            best = max(priced, key=lambda q: (int(q[f"{side}_price"]), str(q["sportsbook"])))
            out[f"best_{side}_price"] = int(best[f"{side}_price"])
            out[f"best_{side}_book"] = best["sportsbook"]
    return out


def player_games(cur: duckdb.DuckDBPyConnection, player_ids: Sequence[int], before: dt.date,
                 since: dt.date, *, keep_from: dt.date | None = None,
                 keep_last: int = 20) -> dict[int, list[dict[str, Any]]]:
    """Each player's games in ``[since, before)``, newest first, with every market's stat.

    Only games strictly before ``before`` are read: what the page shows for a date is what was known
    before its games. With ``keep_from``, only each player's ``keep_last`` most recent games and the
    games from ``keep_from`` on are returned (the board needs the last 20 and this season).

    Returns:
        ``{player_id: [{game_id, game_date, season, team_abbr, opp_abbr, is_home, starter, minutes,
        stat_<market>...}, ...]}``.
    """
    stats = ", ".join(f"CAST({m.sql_expression()} AS DOUBLE) AS {STAT_COLUMNS[k]}" for k, m in MARKETS.items())
    params: dict[str, Any] = {"p": [int(p) for p in player_ids], "before": before, "since": since}
    keep = ""
    if keep_from is not None:
        keep = "WHERE rn <= $keep_last OR game_date >= $keep_from"
        params |= {"keep_last": keep_last, "keep_from": keep_from}
    res = cur.execute(f"""
        SELECT player_id, game_id, game_date, season, season_type, team_abbr, opp_abbr, is_home, starter, minutes,
               {stats}
        FROM (SELECT *, row_number() OVER (PARTITION BY player_id ORDER BY game_date DESC, game_id DESC) AS rn
              FROM player_boxscores
              WHERE list_contains($p, player_id) AND game_date < $before AND game_date >= $since) AS b
        {keep}
        ORDER BY player_id, game_date DESC, game_id DESC""", params)
    cols = [d[0] for d in res.description]
    out: dict[int, list[dict[str, Any]]] = {int(p): [] for p in player_ids}
    for row in res.fetchall():     # box-score stats are integers: no NaN to clean (NULL is None)
        out[int(row[0])].append(dict(zip(cols, row, strict=True)))
    return out


@dataclass(frozen=True)
class LineRecord:
    """Games over, under and at a line (pushes), and the hit rate over (None without a decided game)."""

    games: int
    over: int
    under: int
    push: int

    @property
    def hit_rate(self) -> float | None:
        decided = self.over + self.under
        return self.over / decided if decided else None

    def as_dict(self) -> dict[str, Any]:
        return {"games": self.games, "over": self.over, "under": self.under, "push": self.push,
                "hit_rate": self.hit_rate}


def line_record(values: Sequence[float | None], line: float | None) -> LineRecord:
    """How ``values`` (a stat per game) fell against ``line``; games without the stat are left out."""
    vals = [float(v) for v in values if v is not None]
    if line is None:
        return LineRecord(len(vals), 0, 0, 0)
    over = sum(v > line for v in vals)
    under = sum(v < line for v in vals)
    return LineRecord(len(vals), over, under, len(vals) - over - under)


@dataclass(frozen=True)
class Streak:
    """The most recent run of games on one side of a line: ``side`` is ``OVER``/``UNDER`` (None when the
    latest game was a push or there is no game), ``games`` its length."""

    side: str | None
    games: int

    def as_dict(self) -> dict[str, Any]:
        return {"side": self.side, "games": self.games}


def streak(values_newest_first: Sequence[float | None], line: float | None) -> Streak:
    """The run of the most recent games (newest first) on the same side of ``line``."""
    vals = [float(v) for v in values_newest_first if v is not None]
    if line is None or not vals or vals[0] == line:
        return Streak(None, 0)
    over = vals[0] > line
    n = 0
    for v in vals:
        if v == line or (v > line) != over:
            break
        n += 1
    return Streak("OVER" if over else "UNDER", n)
