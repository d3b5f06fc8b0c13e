"""The player prop page of one player on one date: recent games against tonight's line, hit rates,
minutes, availability, the line's history and every book's quote, and the model's distribution.

Everything about the player's past is read strictly before the date (``player_games``); the injury
report is read as of tip-off (:func:`nbaprops.warehouse.injuries.latest_report_status`); quotes are
the date's stored snapshots. Definitions of a market's stat, tonight's line, the record against a line
and streaks are those of :mod:`nbaprops.queries.markets` (the board and the exports use the same).

The model section needs the model set named on the stored prediction row (``model_version`` is
``<model_set>:<system version>``): its spread gives the predictive distribution's scale and family, its
calibrator the model-only P(over), its market blend the shrink of the mean toward the line. The stored
``predicted_points`` is the blended mean, so the model's own mean is recovered by inverting the blend
(``mean = line + (blended - line) / beta``) and checked against the stored ``predicted_scale`` (the
spread of the model's own mean); when the set is gone or the check fails, the section says so and
draws nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from nbaprops.errors import ModelError
from nbaprops.models.registry import load_output_maps
from nbaprops.models.systems.base import PointsDistribution
from nbaprops.queries.markets import (
    PRE_TIP,
    STAT_COLUMNS,
    book_lines,
    line_record,
    market_label,
    market_order,
    player_games,
    streak,
    tonights_line,
)
from nbaprops.queries.tables import records
from nbaprops.warehouse.injuries import latest_report_status

__all__ = ["HISTORY_GAMES", "OUT_STATUSES", "PlayerPage", "load_player_page", "model_distribution"]

#: Games shown as bars (and the longest hit-rate window).
HISTORY_GAMES = 20
#: Hit-rate windows over the most recent games.
WINDOWS = (5, 10, 20)
#: Injury-report statuses shown as "out" for teammates.
OUT_STATUSES = ("Out", "Doubtful")
#: Where the model's distribution is drawn: points 0..this (or further when the line is higher).
MAX_POINTS_DRAWN = 60


@dataclass
class PlayerPage:
    """What the player page shows (see the module docstring for each definition).

    Attributes:
        player_id, player_name, game_date, market, market_label: who, when, which market.
        game: game_id, team_abbr, opponent_abbr, is_home, tipoff_at, season of tonight's game.
        markets: Markets the player was quoted in on the date (with their labels), for the selector.
        line: Tonight's line of the market (None without quotes or prediction).
        line_origin: ``prediction`` (the model's line: the chosen book's pre-tip quote) or ``books``.
        games: The last :data:`HISTORY_GAMES` games before the date, newest first: game_date, opp_abbr,
            is_home, minutes, value (the market's stat), side (OVER/UNDER/PUSH against tonight's line).
        hit_rates: Rows ``{window, label, games, over, under, push, hit_rate}`` for the last 5/10/20,
            the season and the games against tonight's opponent (this season and the last).
        streak: ``{side, games}`` over the season.
        minutes: ``{avg_5, avg_10, avg_20, avg_season}`` and the per-game minutes are in ``games``.
        availability: The player's row of the injury report as of tip-off (or None), ``report_time``
            and ``report_note`` (why there is nothing to show).
        teammates_out: Teammates listed Out or Doubtful in that report.
        books: Each book's latest pre-tip quote of the market.
        history: Every stored quote of the player's market that date in time order (pre-tip flagged).
        predictions: Stored prediction rows of the player, date and market, one per system.
        distribution: The drawn distribution of ``system`` (see :func:`model_distribution`), or None.
        distribution_note: Why there is no distribution.
        result: The graded result of tonight (actual points) when the date is graded, else None.
    """

    player_id: int
    player_name: str
    game_date: dt.date
    market: str
    market_label: str
    system: str
    game: dict[str, Any] = field(default_factory=dict)
    markets: list[dict[str, str]] = field(default_factory=list)
    line: float | None = None
    line_origin: str | None = None
    games: list[dict[str, Any]] = field(default_factory=list)
    hit_rates: list[dict[str, Any]] = field(default_factory=list)
    streak: dict[str, Any] = field(default_factory=lambda: {"side": None, "games": 0})
    minutes: dict[str, float | None] = field(default_factory=dict)
    availability: dict[str, Any] | None = None
    report_time: dt.datetime | None = None
    report_note: str | None = None
    teammates_out: list[dict[str, Any]] = field(default_factory=list)
    books: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    predictions: list[dict[str, Any]] = field(default_factory=list)
    distribution: dict[str, Any] | None = None
    distribution_note: str | None = None
    result: dict[str, Any] | None = None




def _side(value: float | None, line: float | None) -> str | None:
    if value is None or line is None:
        return None
    return "OVER" if value > line else ("UNDER" if value < line else "PUSH")


def _mean(values: list[float | None]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def _game(cur: duckdb.DuckDBPyConnection, player_id: int, game_date: dt.date) -> dict[str, Any] | None:
    """Tonight's game of the player: the slate context, else the box score of the date."""
    rows = records(cur, """
        SELECT c.game_id, c.team_abbr, c.opponent_abbr, c.is_home, g.tipoff_at, g.season, g.season_year
        FROM upcoming_player_game_context c JOIN games g ON g.game_id = c.game_id
        WHERE c.game_date = ? AND c.player_id = ? ORDER BY c.game_id LIMIT 1""", [game_date, player_id])
    if not rows:
        rows = records(cur, """
            SELECT b.game_id, b.team_abbr, b.opp_abbr AS opponent_abbr, b.is_home, g.tipoff_at, g.season,
                   g.season_year
            FROM player_boxscores b JOIN games g ON g.game_id = b.game_id
            WHERE b.game_date = ? AND b.player_id = ? LIMIT 1""", [game_date, player_id])
    return rows[0] if rows else None


def load_player_page(cur: duckdb.DuckDBPyConnection, player_id: int, game_date: dt.date, *,
                     market: str | None = None, system: str = "catboost",
                     model_dir: Path | None = None) -> PlayerPage | None:
    """The player page's data, or None when the player has no game on the date.

    Args:
        cur: A warehouse cursor.
        player_id: The player.
        game_date: The date.
        market: The market (default ``player_points``).
        system: The system whose distribution is drawn.
        model_dir: The model registry (None: no distribution).
    """
    game = _game(cur, player_id, game_date)
    if game is None:
        return None
    market = market or "player_points"
    name_row = cur.execute("SELECT full_name FROM players WHERE player_id = ?", [player_id]).fetchone()
    page = PlayerPage(player_id, name_row[0] if name_row else f"player {player_id}", game_date, market,
                      market_label(market), system, game=game)
    quoted = [r[0] for r in cur.execute(f"""SELECT DISTINCT s.market FROM prop_line_snapshots s
                                             WHERE s.game_date = ? AND s.player_id = ? AND {PRE_TIP}""",
                                        [game_date, player_id]).fetchall()]
    page.markets = [{"key": m, "label": market_label(m)} for m in sorted(set(quoted) | {"player_points"},
                                                                             key=market_order)]

    # tonight's line: the stored prediction's of the market, else the books'
    page.predictions = records(cur, """
        SELECT system_id, CAST(line AS DOUBLE) AS line, sportsbook, line_quoted_at, over_price, under_price,
               predicted_points, predicted_scale, p_over, market_p_over, confidence, edge, expected_value,
               recommendation, model_version, feature_version, is_fallback, fallback_reason, batch_id
        FROM player_prop_predictions
        WHERE game_date = ? AND player_id = ? AND coalesce(market, 'player_points') = ?
        ORDER BY system_id, line_key""", [game_date, player_id, market])
    primary = next((p for p in page.predictions if p["system_id"] == system), None)
    page.books = book_lines(cur, game_date, [player_id], market)
    predicted_line = primary["line"] if primary and primary["line"] is not None else None
    page.line = tonights_line(page.books, predicted_line)
    page.line_origin = "prediction" if predicted_line is not None else ("books" if page.line is not None else None)
    page.history = records(cur, f"""
        SELECT s.quoted_at, s.source, s.sportsbook, s.line, s.over_price, s.under_price, s.minutes_before_tipoff,
               s.quote_basis, s.opening_line, s.opening_price, s.opening_at, {PRE_TIP} AS pre_tip, s.snapshot_id
        FROM prop_line_snapshots s WHERE s.game_date = ? AND s.player_id = ? AND s.market = ?
        ORDER BY s.quoted_at NULLS LAST, s.sportsbook, s.snapshot_id""", [game_date, player_id, market])

    # the player's games before tonight
    season_year = int(game["season_year"])
    since = dt.date(season_year - 1, 7, 1)     # this season and the last
    games = player_games(cur, [player_id], game_date, since)[player_id]
    col = STAT_COLUMNS.get(market)
    recent = games[:HISTORY_GAMES]
    page.games = [{"game_id": g["game_id"], "game_date": g["game_date"], "opp_abbr": g["opp_abbr"],
                   "is_home": g["is_home"], "starter": g["starter"], "minutes": g["minutes"],
                   "value": g[col] if col else None, "side": _side(g[col] if col else None, page.line)}
                  for g in recent]
    if col is not None:
        season = [g for g in games if g["season"] == game["season"]]
        versus = [g for g in games if g["opp_abbr"] == game["opponent_abbr"]]
        windows = [(f"last_{n}", f"Last {n}", games[:n]) for n in WINDOWS]
        windows += [("season", f"Season {game['season']}", season),
                    ("opponent", f"vs {game['opponent_abbr']} (this and last season)", versus)]
        page.hit_rates = [{"window": key, "label": label, **line_record([g[col] for g in rows], page.line).as_dict()}
                          for key, label, rows in windows]
        page.streak = streak([g[col] for g in season], page.line).as_dict()
    season_games = [g for g in games if g["season"] == game["season"]]
    page.minutes = {f"avg_{n}": _mean([g["minutes"] for g in games[:n]]) for n in WINDOWS}
    page.minutes["avg_season"] = _mean([g["minutes"] for g in season_games])

    _availability(cur, page)
    graded = records(cur, """SELECT actual_points, actual_minutes, is_void, result FROM prediction_grades
                              WHERE game_date = ? AND player_id = ? AND system_id = ?
                                AND coalesce(market, 'player_points') = ? LIMIT 1""",
                      [game_date, player_id, system, market])
    page.result = graded[0] if graded else None

    if market != "player_points":
        page.distribution_note = (f"no {system} prediction of this market for this player on {game_date}"
                                  if primary is None else "the model's distribution is drawn for points only")
    elif primary is None:
        page.distribution_note = f"no {system} prediction for this player on {game_date}"
    elif model_dir is None:
        page.distribution_note = "no model registry"
    else:
        try:
            page.distribution = model_distribution(model_dir, primary)
        except ModelError as exc:
            page.distribution_note = str(exc)
    return page


def _availability(cur: duckdb.DuckDBPyConnection, page: PlayerPage) -> None:
    """The player's and the teammates' injury-report rows as of tip-off (point in time)."""
    tipoff = page.game.get("tipoff_at")
    if not isinstance(tipoff, dt.datetime):
        page.report_note = "tip-off time unknown: no report can be placed before it"
        return
    as_of = tipoff if tipoff.tzinfo is not None else tipoff.replace(tzinfo=dt.UTC)
    report = latest_report_status(cur, as_of, page.game_date)
    if report.empty:
        page.report_note = f"no official injury report of {page.game_date} loaded before tip-off"
        return
    page.report_time = report["report_time"].iloc[0].to_pydatetime()
    team = page.game["team_abbr"]
    rows: list[dict[str, Any]] = [
        {str(k): (None if v is None or (isinstance(v, float) and math.isnan(v)) else v) for k, v in r.items()}
        for r in report.astype(object).where(report.notna(), None).to_dict("records")]
    mine = [r for r in rows if r["player_id"] is not None and int(r["player_id"]) == page.player_id]
    page.availability = mine[0] if mine else None
    team_rows = [r for r in rows if r["team_abbr"] == team]
    if any(r["status"] == "NOT_YET_SUBMITTED" for r in team_rows):
        page.report_note = f"{team} had not submitted its report"
    elif page.availability is None:
        page.report_note = "not listed in the report (the team filed)"
    page.teammates_out = [r for r in team_rows if r["status"] in OUT_STATUSES
                          and (r["player_id"] is None or int(r["player_id"]) != page.player_id)]


def model_distribution(model_dir: Path, row: dict[str, Any]) -> dict[str, Any]:
    """The predictive distribution of one stored prediction row, model-only and blended.

    Returns:
        ``family``, ``scale``, ``line``, ``model_mean`` / ``blended_mean``, ``model_p_over_raw`` (the
        distribution's tail), ``model_p_over`` (calibrated), ``blended_p_over`` (the stored P(over)),
        ``market_p_over``, ``blend`` (beta, prob_source), ``points`` and the PMFs ``model_pmf`` /
        ``blended_pmf`` over them.

    Raises:
        ModelError: the model set is not in the registry, or its spread does not reproduce the stored
            scale (the row was not made by these files).
    """
    version = str(row.get("model_version") or "")
    model_set, sep, _ = version.partition(":")
    if not sep or row.get("is_fallback"):
        raise ModelError(f"the prediction was not made by a model set ({version or 'no model version'})")
    maps = load_output_maps(model_dir, model_set, str(row["system_id"]))
    if maps.model_version != version:
        raise ModelError(f"model set {model_set} holds {maps.model_version}, not {version}")
    blended = row.get("predicted_points")
    scale = row.get("predicted_scale")
    line = row.get("line")
    if blended is None or scale is None:
        raise ModelError("the prediction has no mean or scale")
    blend = maps.blend
    stored_model_only = row.get("model_only_points")
    model_scale = float(scale)
    if stored_model_only is not None:       # the system's own forecast, stored by the worker
        model_mean = float(stored_model_only)
        model_scale = float(maps.model_only_spread.scale(np.array([model_mean]))[0])
    elif blend is not None and blend.fitted_ and line is not None:
        if blend.beta_ <= 0:
            raise ModelError("the market blend replaced the model's mean by the line: the model's own mean "
                             "is not stored")
        model_mean = float(line) + (float(blended) - float(line)) / blend.beta_
    else:
        model_mean = float(blended)
    expected_scale = float(maps.spread.scale(np.array([model_mean]))[0])
    if stored_model_only is None and not math.isclose(expected_scale, float(scale), rel_tol=1e-6, abs_tol=1e-6):
        raise ModelError(f"the spread of {version} gives scale {expected_scale:.4f} for the recovered mean, the "
                         f"row stores {float(scale):.4f}: the distribution cannot be redrawn")
    top = int(max(MAX_POINTS_DRAWN, math.ceil((float(line) if line is not None else 0) + 4 * float(scale)),
                  math.ceil(model_mean + 4 * model_scale)))
    points = np.arange(0, top + 1, dtype=np.float64)
    own = PointsDistribution(np.full(points.shape, model_mean), np.full(points.shape, model_scale),
                             maps.model_only_spread.family if stored_model_only is not None else maps.spread.family)
    mixed = PointsDistribution(np.full(points.shape, float(blended)), np.full(points.shape, float(scale)),
                               maps.spread.family)
    raw = cal = None
    if line is not None:
        raw = float(own.p_over(np.array([float(line)]))[0])
        if stored_model_only is not None and row.get("model_only_p_over") is not None:
            cal = float(row["model_only_p_over"])
        else:
            cal = float(maps.calibrator.transform(np.array([raw]))[0]) if maps.calibrator is not None else raw
    return {
        "system_id": row["system_id"], "model_version": version, "family": maps.spread.family,
        "scale": float(scale), "line": line, "model_mean": model_mean, "blended_mean": float(blended),
        "model_p_over_raw": raw, "model_p_over": cal, "blended_p_over": row.get("p_over"),
        "market_p_over": row.get("market_p_over"),
        "blend": ({"beta": blend.beta_, "prob_source": blend.prob_source_, "fitted": blend.fitted_}
                  if blend is not None else None),
        "points": [int(p) for p in points], "model_pmf": [float(x) for x in own.pmf(points)],
        "blended_pmf": [float(x) for x in mixed.pmf(points)],
    }
