"""The export documents of a date: tonight's games, tonight's players, predictions, best bets and streaks.

Each document is an envelope (which document, the date, when it was made, the package, feature and
model versions, the row count) around its rows; the pydantic models below are the schemas, and their
JSON Schema files live in ``docs/exports/`` (``python -m nbaprops.queries.exports docs/exports`` writes
them; a test checks they are current). ``nbaprops export`` writes the documents as JSON (the
envelope) or CSV (the rows; the envelopes go to ``manifest.json``), and the API serves the JSON under
``/exports/{date}/{document}.json``.

* **games**: the date's games (no scores: the documents are about tonight, before the games).
* **players**: the players expected to play (a points line or a rotation player of a team that plays),
  with team, opponent, rest and the chosen pre-tip points line.
* **predictions**: every stored prediction row of the date (every system, every market: each row says
  its ``market``), with name and teams.
* **best_bets**: the OVER/UNDER recommendations of one system (default: the primary system) on real
  book lines, with the price of the side taken; possibly none.

``market`` (``build_documents(market=...)``, ``nbaprops export --market``, the API's ``?market=``)
keeps the rows of one market (a stored key) in ``predictions``, ``best_bets`` and ``streaks``.
* **streaks**: players who went over (or under) tonight's line of a market in at least
  :data:`MIN_STREAK` straight games of the season (definitions in :mod:`nbaprops.queries.markets`).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any, Literal

import duckdb
from pydantic import BaseModel, ConfigDict, Field

from nbaprops._version import __version__
from nbaprops.features.definitions import SERVED_FEATURE_VERSION
from nbaprops.queries.board import board_cards
from nbaprops.queries.tables import records

__all__ = ["DOCUMENTS", "MIN_STREAK", "SCHEMA_VERSION", "BestBetRow", "GameRow", "PlayerRow", "PredictionExportRow",
           "StreakRow", "build_documents", "document_model", "row_model", "schema_files"]

#: Version of the export schemas (bump when a field changes meaning or is removed).
SCHEMA_VERSION = 1
#: Fewest straight games for a streak to be exported.
MIN_STREAK = 3


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GameRow(_Row):
    """One game of the date."""

    game_id: str = Field(description="10-digit NBA game id")
    game_date: dt.date = Field(description="US/Eastern date of tip-off")
    season: str
    season_type: str = Field(description="Regular Season | Playoffs | PlayIn | ...")
    home_abbr: str
    away_abbr: str
    tipoff_at: dt.datetime | None = Field(description="tip-off, UTC")


class PlayerRow(_Row):
    """One player expected to play on the date."""

    player_id: int
    player_name: str | None
    game_id: str
    team_abbr: str
    opponent_abbr: str
    is_home: bool
    has_line: bool = Field(description="a pre-tip points line exists")
    is_rotation: bool = Field(description="a rotation player of a team that plays")
    days_rest: int | None
    back_to_back: bool | None
    points_line: float | None = Field(description="the chosen pre-tip points line (book priority), or null")
    sportsbook: str | None
    over_price: int | None = Field(description="American odds")
    under_price: int | None = Field(description="American odds")
    n_books: int | None = Field(description="books quoting the player's points before tip-off")


class PredictionExportRow(_Row):
    """One stored prediction (``player_prop_predictions``) with the player's name and teams."""

    game_id: str
    game_date: dt.date
    player_id: int
    player_name: str | None
    team_abbr: str | None
    opponent_abbr: str | None
    system_id: str
    market: str = Field("player_points", description="the market's stored key (docs/markets.md); for another "
                                                     "market than points, line, predicted_points and edge are "
                                                     "that market's stat")
    line: float | None
    predicted_points: float | None
    predicted_scale: float | None
    p_over: float | None = Field(description="calibrated, market-blended P(stat > line)")
    market_p_over: float | None = Field(description="the books' consensus fair P(over) at the line (docs/market.md)")
    model_only_points: float | None = Field(None, description="the system's forecast from inputs without any line or "
                                                              "price (NULL for older model sets)")
    model_only_p_over: float | None = Field(None, description="its calibrated P(over), never blended with the market")
    best_book: str | None = Field(None, description="book of the best price of the side among the books at the line")
    best_price: int | None = Field(None, description="that best American price")
    injury_status: str | None = Field(None, description="the official injury report at the prediction's as-of "
                                                        "time (NULL: not listed or no report)")
    decision_reason: str | None = Field(None, description="why a side was not taken (listed_out), else NULL")
    confidence: float | None
    edge: float | None = Field(description="predicted_points - line")
    expected_value: float | None = Field(description="per unit staked on the side taken, at its price")
    recommendation: Literal["OVER", "UNDER", "PASS", "NO_LINE"]
    line_source: str
    sportsbook: str | None
    over_price: int | None
    under_price: int | None
    line_quoted_at: dt.datetime | None
    model_version: str
    feature_version: str
    is_fallback: bool
    batch_id: str


class BestBetRow(_Row):
    """One recommendation (OVER or UNDER) on a real book line."""

    game_id: str
    player_id: int
    player_name: str | None
    team_abbr: str | None
    opponent_abbr: str | None
    system_id: str
    market: str = Field("player_points", description="the market's stored key (docs/markets.md)")
    side: Literal["OVER", "UNDER"]
    line: float
    sportsbook: str | None
    price: int | None = Field(description="American odds of the side taken: the best price among the books at the "
                                          "line (line shopping), else the chosen book's")
    predicted_points: float | None
    p_over: float | None
    confidence: float | None = Field(description="P(side taken)")
    edge: float | None
    expected_value: float | None
    model_version: str


class StreakRow(_Row):
    """A player on one side of tonight's line of a market in at least ``min_streak`` straight games."""

    player_id: int
    player_name: str | None
    team_abbr: str | None
    opponent_abbr: str | None
    game_id: str | None
    market: str
    line: float = Field(description="tonight's line (the prediction's for points, else the books' most common)")
    side: Literal["OVER", "UNDER"]
    games: int = Field(description="straight games of this season on that side (a push ends a streak)")
    hit_rate_10: float | None = Field(description="over / (over + under) in the last 10 games")


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document: str
    schema_version: int = SCHEMA_VERSION
    game_date: dt.date
    generated_at: dt.datetime = Field(description="when the document was made, UTC")
    package_version: str
    feature_version: str = Field(description="the served feature version")
    model_set: str | None = Field(description="the model set of the date's stored predictions")
    model_versions: dict[str, str] = Field(description="system -> model version of the stored predictions")
    row_count: int


class GamesDocument(_Document):
    """Tonight's games."""

    document: Literal["games"] = "games"
    rows: list[GameRow]


class PlayersDocument(_Document):
    """Tonight's players."""

    document: Literal["players"] = "players"
    rows: list[PlayerRow]


class PredictionsDocument(_Document):
    """Every stored prediction of the date."""

    document: Literal["predictions"] = "predictions"
    rows: list[PredictionExportRow]


class BestBetsDocument(_Document):
    """The recommendations of one system (possibly none)."""

    document: Literal["best_bets"] = "best_bets"
    system: str
    rows: list[BestBetRow]


class StreaksDocument(_Document):
    """Streaks against tonight's lines."""

    document: Literal["streaks"] = "streaks"
    min_streak: int
    rows: list[StreakRow]


#: Document name -> its model.
DOCUMENTS: dict[str, type[_Document]] = {"games": GamesDocument, "players": PlayersDocument,
                                          "predictions": PredictionsDocument, "best_bets": BestBetsDocument,
                                          "streaks": StreaksDocument}
_ROWS: dict[str, type[_Row]] = {"games": GameRow, "players": PlayerRow, "predictions": PredictionExportRow,
                                "best_bets": BestBetRow, "streaks": StreakRow}


def document_model(name: str) -> type[_Document]:
    """The model of a document (KeyError for an unknown name)."""
    return DOCUMENTS[name]


def row_model(name: str) -> type[_Row]:
    """The row model of a document."""
    return _ROWS[name]




def _utc(ts: Any) -> Any:
    if isinstance(ts, dt.datetime):
        return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)
    return ts


def build_documents(cur: duckdb.DuckDBPyConnection, game_date: dt.date, *, system: str = "catboost",
                    min_streak: int = MIN_STREAK, only: str | None = None,
                    now: dt.datetime | None = None, market: str | None = None) -> dict[str, _Document]:
    """The documents of a date (all of them, or ``only`` one), validated by their models; ``market``
    (a stored key) keeps one market's rows in predictions, best_bets and streaks (None: every market).

    Raises:
        KeyError: ``only`` is not a document name.
    """
    names = [only] if only is not None else list(DOCUMENTS)
    for n in names:
        document_model(n)
    now = now or dt.datetime.now(dt.UTC)
    versions = dict(cur.execute("""SELECT system_id, any_value(model_version) FROM player_prop_predictions
                                   WHERE game_date = ? GROUP BY system_id ORDER BY system_id""",
                                [game_date]).fetchall())
    model_sets = sorted({v.partition(":")[0] for v in versions.values() if ":" in v})
    head: dict[str, Any] = {"game_date": game_date, "generated_at": now, "package_version": __version__,
                            "feature_version": SERVED_FEATURE_VERSION,
                            "model_set": model_sets[0] if len(model_sets) == 1 else (",".join(model_sets) or None),
                            "model_versions": versions}
    out: dict[str, _Document] = {}
    for name in names:
        extra: dict[str, Any] = {}
        if name == "games":
            rows = records(cur, """SELECT game_id, game_date, season, season_type, home_abbr, away_abbr, tipoff_at
                                    FROM games WHERE game_date = ? ORDER BY tipoff_at NULLS LAST, game_id""",
                            [game_date])
        elif name == "players":
            rows = records(cur, """
                SELECT c.player_id, pl.full_name AS player_name, c.game_id, c.team_abbr, c.opponent_abbr, c.is_home,
                       c.has_line, c.is_rotation, c.days_rest, c.back_to_back,
                       CAST(c.current_points_line AS DOUBLE) AS points_line, c.sportsbook, c.over_price,
                       c.under_price, c.n_books
                FROM upcoming_player_game_context c LEFT JOIN players pl ON pl.player_id = c.player_id
                WHERE c.game_date = ? AND c.is_expected
                ORDER BY c.game_id, c.team_abbr, player_name, c.player_id""", [game_date])
        elif name in ("predictions", "best_bets"):
            where = "p.game_date = ?"
            params: list[Any] = [game_date]
            if market is not None:
                where += " AND coalesce(p.market, 'player_points') = ?"
                params.append(market)
            if name == "best_bets":
                where += (" AND p.system_id = ? AND p.recommendation IN ('OVER', 'UNDER') "
                          "AND p.line_source = 'ACTUAL_PROP' AND p.line IS NOT NULL")
                params.append(system)
                extra["system"] = system
            rows = records(cur, f"""
                WITH ctx AS (SELECT player_id, arg_min(team_abbr, game_id) AS team_abbr,
                                    arg_min(opponent_abbr, game_id) AS opponent_abbr
                             FROM upcoming_player_game_context WHERE game_date = ? GROUP BY player_id)
                SELECT p.game_id, p.game_date, p.player_id, pl.full_name AS player_name, ctx.team_abbr,
                       ctx.opponent_abbr, p.system_id, coalesce(p.market, 'player_points') AS market,
                       CAST(p.line AS DOUBLE) AS line, p.predicted_points,
                       p.predicted_scale, p.p_over, p.market_p_over, p.confidence, p.edge, p.expected_value,
                       p.recommendation, p.line_source, p.sportsbook, p.over_price, p.under_price, p.line_quoted_at,
                       p.model_version, p.feature_version, p.is_fallback, p.batch_id, p.model_only_points,
                       p.model_only_p_over, p.best_book, p.best_price, p.injury_status, p.decision_reason
                FROM player_prop_predictions p
                LEFT JOIN players pl ON pl.player_id = p.player_id
                LEFT JOIN ctx ON ctx.player_id = p.player_id
                WHERE {where}
                ORDER BY {'p.expected_value DESC NULLS LAST, ' if name == 'best_bets' else ''}p.game_id, p.player_id,
                         p.system_id, p.market, p.line_key""", [game_date, *params])
            if name == "best_bets":
                keep = set(BestBetRow.model_fields)
                rows = [{**{k: v for k, v in r.items() if k in keep}, "side": r["recommendation"],
                         "sportsbook": r["best_book"] or r["sportsbook"],
                         "price": r["best_price"] if r["best_price"] is not None else (
                             r["over_price"] if r["recommendation"] == "OVER" else r["under_price"])}
                        for r in rows]
        else:   # streaks
            extra["min_streak"] = min_streak
            rows = []
            for card in board_cards(cur, game_date, system=system):
                for m in card["markets"]:
                    if market is not None and m["market"] != market:
                        continue
                    s = m.get("streak") or {}
                    if s.get("side") and s.get("games", 0) >= min_streak and m["line"] is not None:
                        rows.append({k: card[k] for k in ("player_id", "player_name", "team_abbr", "opponent_abbr",
                                                          "game_id")}
                                    | {"market": m["market"], "line": m["line"], "side": s["side"], "games": s["games"],
                                       "hit_rate_10": (m.get("hit_10") or {}).get("hit_rate")})
            rows.sort(key=lambda r: (-r["games"], r["market"], r["player_name"] or ""))
        for r in rows:
            for k, v in r.items():
                r[k] = _utc(v)
        model = document_model(name)
        out[name] = model.model_validate({**head, **extra, "document": name, "row_count": len(rows), "rows": rows})
    return out


def schema_files() -> dict[str, str]:
    """``{file name: JSON Schema text}`` of every document (what ``docs/exports/`` holds)."""
    return {f"{name}.schema.json": json.dumps(model.model_json_schema(mode="serialization"), indent=2,
                                              sort_keys=True) + "\n"
            for name, model in DOCUMENTS.items()}


def _main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else Path("docs/exports")
    target.mkdir(parents=True, exist_ok=True)
    for name, text in schema_files().items():
        (target / name).write_text(text, encoding="utf-8")
        print(target / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
