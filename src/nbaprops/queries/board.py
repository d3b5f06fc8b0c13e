"""The prop board of a date: one card per player quoted that day, with every market the books quoted.

Each market of a card carries tonight's line, the number of books, the best over and under price
among the books at that line, the record of the last 5/10/20 games against the line and the season's
streak (definitions in :mod:`nbaprops.queries.markets`, shared with the player page and the exports).
Each market the chosen system predicted (its ``market`` in ``player_prop_predictions``: points, and every
other market once predicted) also carries that stored prediction: predicted value, P(over), market
P(over), edge, expected value and recommendation.

The board is built from four queries whatever the slate's size (players and context, every book's
line, the system's predictions, the players' games since the start of last season); filtering and
sorting then happen in memory on the cards.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb

from nbaprops.queries.markets import (
    PRE_TIP,
    STAT_COLUMNS,
    best_prices,
    book_lines,
    line_record,
    market_label,
    market_order,
    player_games,
    streak,
    tonights_line,
)
from nbaprops.queries.tables import records

__all__ = ["BOARD_SORTS", "PREDICTION_FIELDS", "BoardData", "board_cards", "load_board"]

#: Hit-rate windows shown as chips.
CHIP_WINDOWS = (5, 10, 20)
#: Fields of the stored prediction of a market (None on a market the system did not predict).
PREDICTION_FIELDS = ("predicted_points", "p_over", "market_p_over", "edge", "expected_value", "recommendation",
                     "sportsbook", "model_version")
#: Sort keys of the board (the value-based ones read the card's focus market: the market filter, else points).
BOARD_SORTS = ("ev", "p_over", "edge", "line", "hit_10", "streak", "player", "team", "game")
_TEXT_SORTS = ("player", "team", "game")


@dataclass
class BoardData:
    """What the board shows.

    Attributes:
        game_date: The date.
        system: The system whose predictions fill the points market.
        cards: The cards after filtering and sorting.
        total_cards: Cards before filtering.
        teams, games, markets: The values the filters offer (games as ``{game_id, label}``).
        filters: The filters applied.
        sort, order: The order.
    """

    game_date: dt.date
    system: str
    cards: list[dict[str, Any]] = field(default_factory=list)
    total_cards: int = 0
    teams: list[str] = field(default_factory=list)
    games: list[dict[str, str]] = field(default_factory=list)
    markets: list[dict[str, str]] = field(default_factory=list)
    filters: dict[str, Any] = field(default_factory=dict)
    sort: str = "ev"
    order: str = "desc"




def board_cards(cur: duckdb.DuckDBPyConnection, game_date: dt.date, *, system: str = "catboost"
                ) -> list[dict[str, Any]]:
    """Every card of the date (unfiltered, by player name).

    A card: player_id, player_name, team_abbr, opponent_abbr, is_home, game_id, matchup, ``points`` (its
    points market, also when a market filter hides it; None when points were not quoted), and ``markets``
    (one dict per quoted market, known markets first: market, label, line, line_origin, books,
    best_over_price/book, best_under_price/book, hit_5/10/20 (LineRecord dicts), streak, and the
    system's prediction of that market: predicted_points (the market's stat), p_over, market_p_over,
    edge, expected_value, recommendation, sportsbook, model_version; None where it did not predict it).
    """
    players = records(cur, f"""
        WITH quoted AS (SELECT DISTINCT s.player_id FROM prop_line_snapshots s
                        WHERE s.game_date = ? AND s.player_id IS NOT NULL AND {PRE_TIP}),
             ctx AS (SELECT player_id, arg_min(game_id, game_id) AS game_id, arg_min(team_abbr, game_id) AS team_abbr,
                            arg_min(opponent_abbr, game_id) AS opponent_abbr, arg_min(is_home, game_id) AS is_home
                     FROM upcoming_player_game_context WHERE game_date = ? GROUP BY player_id)
        SELECT q.player_id, coalesce(pl.full_name, 'player ' || CAST(q.player_id AS VARCHAR)) AS player_name,
               ctx.game_id, ctx.team_abbr, ctx.opponent_abbr, ctx.is_home, g.home_abbr, g.away_abbr, g.season,
               g.season_year
        FROM quoted q
        LEFT JOIN players pl ON pl.player_id = q.player_id
        LEFT JOIN ctx ON ctx.player_id = q.player_id
        LEFT JOIN games g ON g.game_id = ctx.game_id
        ORDER BY player_name, q.player_id""", [game_date, game_date])
    if not players:
        return []
    ids = [int(p["player_id"]) for p in players]
    quotes: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for q in book_lines(cur, game_date, ids, with_times=False):
        quotes.setdefault(int(q["player_id"]), {}).setdefault(str(q["market"]), []).append(q)
    preds = {(int(r["player_id"]), str(r["market"])): r for r in records(cur, """
        SELECT player_id, coalesce(market, 'player_points') AS market, CAST(line AS DOUBLE) AS line, sportsbook,
               predicted_points, p_over, market_p_over, edge, expected_value, recommendation, model_version
        FROM player_prop_predictions WHERE game_date = ? AND system_id = ?
        ORDER BY player_id, market, line_key DESC""", [game_date, system])}
    years = [int(p["season_year"]) for p in players if p["season_year"] is not None]
    since = dt.date(min(years) - 1, 7, 1) if years else dt.date(game_date.year - 2, 7, 1)
    # the last 20 games (chips) and this season's (streaks); a season starts after July 1
    history = player_games(cur, ids, game_date, since, keep_from=since.replace(year=since.year + 1),
                           keep_last=max(CHIP_WINDOWS))

    cards: list[dict[str, Any]] = []
    for p in players:
        pid = int(p["player_id"])
        games = history.get(pid, [])
        season = [g for g in games if g["season"] == p["season"]]
        matchup = (f"{p['away_abbr']} @ {p['home_abbr']}" if p["home_abbr"] else None)
        card = {k: p[k] for k in ("player_id", "player_name", "game_id", "team_abbr", "opponent_abbr", "is_home")}
        card["matchup"] = matchup
        card["markets"] = []
        mine = quotes.get(pid, {})
        for market in sorted(mine, key=market_order):
            qs = mine[market]
            pred = preds.get((pid, market))
            predicted = pred["line"] if pred and pred["line"] is not None else None
            line = tonights_line(qs, predicted)
            col = STAT_COLUMNS.get(market)
            row: dict[str, Any] = {"market": market, "label": market_label(market), "line": line,
                                   "line_origin": "prediction" if predicted is not None else "books",
                                   "books": len({q["sportsbook"] for q in qs}), **best_prices(qs, line)}
            for n in CHIP_WINDOWS:
                row[f"hit_{n}"] = line_record([g[col] for g in games[:n]], line).as_dict() if col else None
            row["streak"] = streak([g[col] for g in season], line).as_dict() if col else None
            row.update({k: pred[k] if pred is not None else None for k in PREDICTION_FIELDS})
            card["markets"].append(row)
        card["points"] = next((m for m in card["markets"] if m["market"] == "player_points"), None)
        cards.append(card)
    return cards


def _focus(card: dict[str, Any], market: str) -> dict[str, Any] | None:
    return next((m for m in card["markets"] if m["market"] == market), None)


def _sort_value(card: dict[str, Any], key: str, market: str) -> Any:
    if key == "player":
        return card["player_name"]
    if key == "team":
        return card["team_abbr"]
    if key == "game":
        return card["matchup"]
    m = _focus(card, market)
    if m is None:
        return None
    if key == "ev":
        return m.get("expected_value")
    if key == "hit_10":
        return (m.get("hit_10") or {}).get("hit_rate")
    if key == "streak":
        return (m.get("streak") or {}).get("games")
    return m.get(key)


def load_board(cur: duckdb.DuckDBPyConnection, game_date: dt.date, *, system: str = "catboost",
               team: str | None = None, game_id: str | None = None, market: str | None = None,
               recommendation: str | None = None, min_ev: float | None = None, sort: str = "ev",
               order: Literal["asc", "desc"] = "desc") -> BoardData:
    """The board of a date, filtered and sorted.

    Args:
        cur: A warehouse cursor.
        game_date: The date.
        system: The system whose prediction fills the points market.
        team: Only this team's players.
        game_id: Only this game.
        market: Only players quoted in this market, showing only it (the focus of value sorts and of
            the recommendation and EV filters).
        recommendation: Only players whose prediction of the focus market (points by default) has this
            recommendation.
        min_ev: Only players whose prediction of the focus market has an expected value >= this.
        sort: A key of :data:`BOARD_SORTS` (missing values last; ties by player name).
        order: ``asc`` or ``desc``.

    Raises:
        ValueError: unknown sort key or order.
    """
    if sort not in BOARD_SORTS:
        raise ValueError(f"unknown sort key {sort!r}")
    if order not in ("asc", "desc"):
        raise ValueError(f"unknown order {order!r}")
    cards = board_cards(cur, game_date, system=system)
    data = BoardData(game_date, system, total_cards=len(cards), sort=sort, order=order,
                     filters={"team": team, "game": game_id, "market": market, "recommendation": recommendation,
                              "min_ev": min_ev})
    data.teams = sorted({c["team_abbr"] for c in cards if c["team_abbr"]})
    data.games = sorted(({"game_id": c["game_id"], "label": c["matchup"]} for c in cards if c["game_id"]),
                        key=lambda g: g["label"] or "")
    data.games = list({g["game_id"]: g for g in data.games}.values())
    data.markets = [{"key": k, "label": market_label(k)} for k in
                    sorted({m["market"] for c in cards for m in c["markets"]}, key=market_order)]
    focus = market or "player_points"
    out = []
    for c in cards:
        if team and c["team_abbr"] != team:
            continue
        if game_id and c["game_id"] != game_id:
            continue
        if market:
            shown = [m for m in c["markets"] if m["market"] == market]
            if not shown:
                continue
            c = {**c, "markets": shown}
        pts = _focus(c, focus) or {}
        if recommendation and pts.get("recommendation") != recommendation:
            continue
        if min_ev is not None and (pts.get("expected_value") is None or pts["expected_value"] < min_ev):
            continue
        out.append(c)
    present = [c for c in out if _sort_value(c, sort, focus) is not None]
    missing = [c for c in out if _sort_value(c, sort, focus) is None]
    present.sort(key=lambda c: c["player_name"])        # ties by name (stable sort)
    present.sort(key=lambda c: _sort_value(c, sort, focus), reverse=order == "desc")
    data.cards = present + sorted(missing, key=lambda c: c["player_name"])
    return data
