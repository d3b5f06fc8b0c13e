"""The player-prop markets: one registry that ingest, the line gate, settlement and grading read.

A :class:`Market` is pure data: its stored key (the ``market`` of ``prop_line_snapshots``, which is
The Odds API's market key, so the points rows stay exactly as they were), a short name for the CLI,
the box-score columns whose sum settles it (PRA = pts + reb + ast), its keys per source, whether it
is a low count (its predictive distribution is a count distribution) and the line gate's
parameters. Adding a market is one entry of :data:`MARKETS` plus its tests; the warehouse's
``markets`` table is a mirror of this registry (``warehouse.connection.migrate`` syncs it).

The BettingPros market ids were checked against the box scores (``bench/market_ids.py``,
``docs/markets.md``): an id not in the registry is quarantined and counted, never guessed.

Settlement (:func:`settle`): a line settles over when the actual value is above it, under when
below, and push when equal; a half-point line never pushes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from nbaprops.errors import InputError

__all__ = [
    "BOX_SCORE_COLUMNS",
    "MARKETS",
    "POINTS",
    "Market",
    "as_market",
    "Settlement",
    "bettingpros_market",
    "by_odds_api_key",
    "get_market",
    "line_key",
    "parse_markets",
    "settle",
]

Settlement = Literal["over", "under", "push"]

#: The ``player_boxscores`` columns a market's expression may add up (the ``markets`` table has one
#: ``<column>_weight`` per column).
BOX_SCORE_COLUMNS: tuple[str, ...] = ("pts", "reb", "ast", "fg3m", "stl", "blk", "tov")


@dataclass(frozen=True)
class Market:
    """One player-prop market.

    Attributes:
        key: The stored market key (``prop_line_snapshots.market``), e.g. ``player_points``.
        name: Short name (``points``, ``pra``), what ``--market`` accepts besides the key.
        label: Human label.
        columns: ``player_boxscores`` columns whose sum is the settled value.
        odds_api_keys: The Odds API market keys that quote it (the first is the stored key).
        bettingpros_ids: BettingPros ``market_id`` values (checked against box scores).
        count_like: A low count (threes, blocks, steals, turnovers): predicted with a count
            distribution (Poisson / negative binomial), never a normal.
        max_line: The line gate's highest plausible line.
        min_tolerance: The line gate's implausibility check: a line farther than
            ``max(min_tolerance, 1.5 * average)`` from the player's average of the stat is rejected.
        placeholder_check: Whether one constant value across a slate is a placeholder pattern. Off
            for low counts and assists, where most real lines of a slate (or of one book's part of
            it) are the same 0.5 or 1.5.
    """

    key: str
    name: str
    label: str
    columns: tuple[str, ...]
    odds_api_keys: tuple[str, ...]
    bettingpros_ids: tuple[int, ...]
    count_like: bool
    max_line: float
    min_tolerance: float
    placeholder_check: bool = True

    def __post_init__(self) -> None:
        unknown = [c for c in self.columns if c not in BOX_SCORE_COLUMNS]
        if not self.columns or unknown:
            raise ValueError(f"market {self.key}: columns {self.columns} must be box-score columns "
                             f"{BOX_SCORE_COLUMNS}")
        if len(set(self.columns)) != len(self.columns):
            raise ValueError(f"market {self.key}: a column appears twice in {self.columns}")
        if not self.odds_api_keys or self.odds_api_keys[0] != self.key:
            raise ValueError(f"market {self.key}: its first Odds API key must be its stored key")

    @property
    def expression(self) -> str:
        """The settling value over ``player_boxscores`` columns, e.g. ``pts + reb + ast``."""
        return " + ".join(self.columns)

    def sql_expression(self, alias: str = "") -> str:
        """:attr:`expression` with each column qualified by ``alias`` (NULL when any part is NULL)."""
        prefix = f"{alias}." if alias else ""
        return " + ".join(f"{prefix}{c}" for c in self.columns)

    def actual(self, row: Mapping[str, object]) -> float:
        """The settled value from one box-score row (lower- or upper-case column names); NaN if a
        part is missing."""
        total = 0.0
        for c in self.columns:
            value = row.get(c, row.get(c.upper()))
            if value is None:
                return math.nan
            try:
                number = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return math.nan
            if math.isnan(number):
                return math.nan
            total += number
        return total


def _m(key: str, name: str, label: str, columns: tuple[str, ...], bp: tuple[int, ...], *, count_like: bool,
       max_line: float, min_tolerance: float, placeholder_check: bool | None = None) -> Market:
    return Market(key=key, name=name, label=label, columns=columns, odds_api_keys=(key,), bettingpros_ids=bp,
                  count_like=count_like, max_line=max_line, min_tolerance=min_tolerance,
                  placeholder_check=not count_like if placeholder_check is None else placeholder_check)


#: Every market, in display order. The BettingPros ids are the ones ``bench/market_ids.py`` matched
#: to the stat (docs/markets.md); markets with no id in the shared files have none.
MARKETS: tuple[Market, ...] = (
    _m("player_points", "points", "Points", ("pts",), (156,), count_like=False, max_line=80.0, min_tolerance=15.0),
    _m("player_rebounds", "rebounds", "Rebounds", ("reb",), (157,), count_like=False, max_line=40.0,
       min_tolerance=8.0),
    # assists: no placeholder check either. A lower-priority book is the chosen book of the players the
    # preferred books do not quote, mostly bench players whose real assists line is 1.5; the check
    # read that subset as one constant value and dropped real quotes (365 player-games of the shared
    # windows, no other market affected: docs/markets.md)
    _m("player_assists", "assists", "Assists", ("ast",), (151,), count_like=False, max_line=30.0, min_tolerance=6.0,
       placeholder_check=False),
    _m("player_threes", "threes", "Threes made", ("fg3m",), (162,), count_like=True, max_line=15.0,
       min_tolerance=4.0),
    _m("player_points_rebounds_assists", "pra", "Points + rebounds + assists", ("pts", "reb", "ast"), (338,),
       count_like=False, max_line=100.0, min_tolerance=20.0),
    _m("player_points_rebounds", "pr", "Points + rebounds", ("pts", "reb"), (336,), count_like=False,
       max_line=90.0, min_tolerance=18.0),
    _m("player_points_assists", "pa", "Points + assists", ("pts", "ast"), (335,), count_like=False, max_line=90.0,
       min_tolerance=18.0),
    _m("player_rebounds_assists", "ra", "Rebounds + assists", ("reb", "ast"), (337,), count_like=False,
       max_line=50.0, min_tolerance=10.0),
    _m("player_blocks", "blocks", "Blocks", ("blk",), (152,), count_like=True, max_line=10.0, min_tolerance=3.0),
    _m("player_steals", "steals", "Steals", ("stl",), (160,), count_like=True, max_line=10.0, min_tolerance=3.0),
    _m("player_turnovers", "turnovers", "Turnovers", ("tov",), (), count_like=True, max_line=12.0,
       min_tolerance=4.0),
)

POINTS: Market = MARKETS[0]

_BY_KEY: dict[str, Market] = {m.key: m for m in MARKETS}
_BY_NAME: dict[str, Market] = {m.name: m for m in MARKETS}
_BY_ODDS_KEY: dict[str, Market] = {k: m for m in MARKETS for k in m.odds_api_keys}
_BY_BP_ID: dict[int, Market] = {i: m for m in MARKETS for i in m.bettingpros_ids}


def _check_registry() -> None:
    for what, n in (("key", len(_BY_KEY)), ("name", len(_BY_NAME))):
        if n != len(MARKETS):
            raise ValueError(f"two markets share a {what}")
    if len(_BY_BP_ID) != sum(len(m.bettingpros_ids) for m in MARKETS):
        raise ValueError("two markets share a BettingPros market id")


_check_registry()


def get_market(key_or_name: str) -> Market:
    """The market of a stored key (``player_rebounds``) or short name (``rebounds``), case-insensitive.

    Raises:
        InputError: An unknown market (the message lists the known names).
    """
    k = key_or_name.strip().lower()
    market = _BY_KEY.get(k) or _BY_NAME.get(k)
    if market is None:
        raise InputError(f"unknown market {key_or_name!r}; known: {', '.join(m.name for m in MARKETS)}",
                         field="market")
    return market


def as_market(market: Market | str) -> Market:
    """A :class:`Market` given itself, its stored key or its short name (:func:`get_market`)."""
    return market if isinstance(market, Market) else get_market(market)


def by_odds_api_key(key: str) -> Market | None:
    """The market an Odds API market key quotes, or None (a market not in the registry)."""
    return _BY_ODDS_KEY.get(key)


def bettingpros_market(market_id: int) -> Market | None:
    """The market of a BettingPros ``market_id``, or None (unknown: quarantined, never guessed)."""
    return _BY_BP_ID.get(market_id)


def settle(actual: float, line: float) -> Settlement:
    """Settle one line: ``'over'`` when actual > line, ``'under'`` when below, ``'push'`` when equal.

    A half-point line never pushes (a box-score stat is a whole number).

    Raises:
        InputError: ``actual`` or ``line`` missing or not finite (a void bet is not settled).
    """
    if not (math.isfinite(actual) and math.isfinite(line)):
        raise InputError(f"cannot settle actual={actual!r} against line={line!r}: both must be numbers",
                         field="actual/line")
    if actual > line:
        return "over"
    if actual < line:
        return "under"
    return "push"


def line_key(market: str, line: float | None) -> str:
    """The key part of a prediction row besides game, player and system (``line_key``).

    Points keep the key they always had: the line with one decimal (``'24.5'``) or ``'none'``
    without a line. Another market prefixes its stored key (``'player_rebounds|8.5'``,
    ``'player_rebounds|none'``), so one player's rows of two markets never share a key and every
    join on ``(game_id, player_id, system_id, line_key)`` keeps working.
    """
    part = f"{line:.1f}" if line is not None and math.isfinite(line) else "none"
    return part if market == POINTS.key else f"{market}|{part}"


def parse_markets(value: str | None, *, default: tuple[Market, ...] = (POINTS,)) -> tuple[Market, ...]:
    """The markets a ``--market`` option names: one name or key, a comma-separated list, or ``all``
    (every market of the registry, in display order); ``None`` or empty gives ``default``.

    Raises:
        InputError: An unknown market name.
    """
    if value is None or not value.strip():
        return default
    if value.strip().lower() == "all":
        return MARKETS
    out: list[Market] = []
    for part in value.split(","):
        if part.strip():
            m = get_market(part)
            if m not in out:
                out.append(m)
    return tuple(out) or default
