"""Read-only queries behind the dashboard pages: the slate, performance and pipeline.

Every function takes a warehouse cursor and returns plain records (``dict`` per row, NaN as None)
so that the templates, the charts and the tests all see the same numbers. Nothing here writes.

Definitions follow the grading module (:mod:`nbaprops.evaluate.grading`): a **bet** is an OVER/UNDER
recommendation on a real, validated book line (``is_bet AND has_valid_line`` on the grade and
``line_source = 'ACTUAL_PROP'`` on the stored prediction). The SQL here only counts wins, losses, pushes,
voids and profit; bets, hit rate and ROI come from the one definition,
:class:`nbaprops.evaluate.metrics.betting.BetRecord` (bets = wins + losses + pushes, voids refunded and
counted apart; hit rate = wins / (wins + losses); ROI = profit / bets), as in the report. The model's
MAE is always shown next to the line's MAE on exactly the same rows (valid line, player played).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

import duckdb

from nbaprops.evaluate.grade import load_graded
from nbaprops.evaluate.metrics.betting import SETTLED_RESULTS, BetRecord
from nbaprops.evaluate.metrics.clv import consensus_clv
from nbaprops.leases import BATCH_STALE_AFTER_S, is_alive, is_stale, run_holder
from nbaprops.markets import MARKETS, POINTS
from nbaprops.odds import BREAK_EVEN_MINUS_110
from nbaprops.ops.alerts import Alert
from nbaprops.queries.tables import conditions

__all__ = [
    "BREAK_EVEN",
    "CALIBRATION_BINS",
    "INJURY_FLAGS",
    "PHASE_STALL_AFTER",
    "PRIMARY_SYSTEM",
    "SLATE_SORTS",
    "PerformanceData",
    "PipelineData",
    "SlateData",
    "load_performance",
    "load_pipeline",
    "load_slate_page",
    "prediction_dates",
]

_EASTERN = ZoneInfo("America/New_York")
#: Statuses flagged on the slate (the recommendation stands; OUT rows carry a reason instead).
INJURY_FLAGS = ("QUESTIONABLE", "DOUBTFUL")

#: The system the slate shows when none is chosen (``docs/systems.md``: catboost is the primary system).
PRIMARY_SYSTEM = "catboost"
#: Hit rate needed to break even at -110 (110 / 210 = 52.38%).
BREAK_EVEN = BREAK_EVEN_MINUS_110
#: Equal-width P(over) bins of the calibration curve.
CALIBRATION_BINS = 10
#: A phase run still ``running`` after this long is reported as stalled.
PHASE_STALL_AFTER = dt.timedelta(hours=6)

#: Slate sort keys (query value -> SQL expression); anything else is refused by the request model.
SLATE_SORTS: dict[str, str] = {
    "player": "player_name",
    "team": "team_abbr",
    "opponent": "opponent_abbr",
    "system": "system_id",
    "line": "line",
    "book": "sportsbook",
    "predicted": "predicted_points",
    "p_over": "p_over",
    "edge": "edge",
    "confidence": "confidence",
    "recommendation": "recommendation",
    "model": "model_version",
}

Order = Literal["asc", "desc"]


def _records(cur: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """Run a query and return one dict per row (NaN becomes None)."""
    res = cur.execute(sql, params or [])
    cols = [d[0] for d in res.description]
    out: list[dict[str, Any]] = []
    for row in res.fetchall():
        rec: dict[str, Any] = {}
        for name, value in zip(cols, row, strict=True):
            rec[name] = None if isinstance(value, float) and value != value else value
        out.append(rec)
    return out


def _scalar(cur: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    row = cur.execute(sql, params or []).fetchone()
    return row[0] if row else None


def _has_relation(cur: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a table or view exists (views of newer migrations are used only when present)."""
    n = _scalar(cur, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?",
                [name])
    return bool(n)


# ------------------------------------------------------------------------------------------ slate
def prediction_dates(cur: duckdb.DuckDBPyConnection, limit: int = 400) -> list[dt.date]:
    """Dates that have stored predictions, newest first.

    Args:
        cur: A warehouse cursor.
        limit: At most this many dates.

    Returns:
        Distinct ``game_date`` values of ``player_prop_predictions``.
    """
    rows = cur.execute("SELECT DISTINCT game_date FROM player_prop_predictions ORDER BY game_date DESC LIMIT ?",
                       [limit]).fetchall()
    return [r[0] for r in rows]


@dataclass
class SlateData:
    """What the slate page shows for one date.

    Attributes:
        game_date: The slate date.
        system: The system shown (``None`` = every system).
        recommendation: The recommendation filter (``None`` = all).
        sort: Sort key (a key of :data:`SLATE_SORTS`).
        order: ``asc`` or ``desc``.
        rows: Prediction rows after filtering and sorting, with player name, team, opponent and,
            for NO_LINE rows, ``reason`` (the quarantine reason or "no pre-tip book line").
        counts: Per recommendation, over the date and system (before the recommendation filter),
            plus ``players``, ``rows`` and ``with_line``.
        batch: The ``prediction_batches`` row the stored predictions came from (or the date's latest).
        quarantined: ``line_quarantine`` rows of that batch (player name, book, line, reason).
        skipped: ``prediction_skips`` rows of that batch (player name, system, reason).
        systems: Systems with predictions on the date.
        market: The market shown (stored key; ``None`` = every market).
        markets: ``{key, name, label}`` of the markets with predictions on the date (registry order).
    """

    game_date: dt.date
    system: str | None
    recommendation: str | None
    sort: str
    order: Order
    market: str | None = POINTS.key
    markets: list[dict[str, str]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    batch: dict[str, Any] | None = None
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)


_PLAYER_CONTEXT = """
    ctx AS (
        SELECT player_id, arg_min(team_abbr, game_id) AS team_abbr, arg_min(opponent_abbr, game_id) AS opponent_abbr,
               arg_min(is_home, game_id) AS is_home
        FROM upcoming_player_game_context WHERE game_date = ? GROUP BY player_id
    )"""


def _slate_batch(cur: duckdb.DuckDBPyConnection, game_date: dt.date) -> dict[str, Any] | None:
    """The batch that wrote the date's stored predictions, else the date's newest batch."""
    batch_id = _scalar(cur, """SELECT batch_id FROM player_prop_predictions WHERE game_date = ?
                               GROUP BY batch_id ORDER BY count(*) DESC, batch_id LIMIT 1""", [game_date])
    if batch_id is None:
        batch_id = _scalar(cur, """SELECT batch_id FROM prediction_batches WHERE game_date = ?
                                   ORDER BY started_at DESC LIMIT 1""", [game_date])
    if batch_id is None:
        return None
    rows = _records(cur, "SELECT * FROM prediction_batches WHERE batch_id = ?", [batch_id])
    return rows[0] if rows else {"batch_id": batch_id}


#: A prediction's or grade's market (rows written before migration 013 read NULL only in an
#: unmigrated copy; the column's default is points).
_MARKET = "coalesce(p.market, 'player_points')"


def market_choices(cur: duckdb.DuckDBPyConnection, table: str, game_date: dt.date | None = None
                   ) -> list[dict[str, str]]:
    """``{key, name, label}`` of the markets present in ``table`` (on ``game_date``), registry order;
    points is always offered (the pages' default)."""
    where, params = ("WHERE game_date = ?", [game_date]) if game_date is not None else ("", [])
    present = {str(r[0]) for r in cur.execute(
        f"SELECT DISTINCT coalesce(market, 'player_points') FROM {table} {where}", params).fetchall()}
    present.add(POINTS.key)
    return [{"key": m.key, "name": m.name, "label": m.label} for m in MARKETS if m.key in present]


def load_slate_page(cur: duckdb.DuckDBPyConnection, game_date: dt.date, *,
                    system: str | None = PRIMARY_SYSTEM, recommendation: str | None = None,
                    sort: str = "edge", order: Order = "desc", market: str | None = POINTS.key) -> SlateData:
    """The predictions of one date with names, teams, lines and reasons, filtered and sorted.

    Args:
        cur: A warehouse cursor.
        game_date: The slate date.
        system: Only this system (``None``: every system).
        market: Only this market's rows (stored key; default points, ``None``: every market).
        recommendation: Only this recommendation (``None``: all).
        sort: A key of :data:`SLATE_SORTS` (NULLs always last; ties by player name, then system).
        order: ``asc`` or ``desc``.

    Returns:
        The slate.

    Raises:
        ValueError: ``sort`` or ``order`` is not one of the allowed values.
    """
    if sort not in SLATE_SORTS:
        raise ValueError(f"unknown sort key {sort!r}")
    if order not in ("asc", "desc"):
        raise ValueError(f"unknown order {order!r}")
    data = SlateData(game_date, system, recommendation, sort, order, market)
    data.batch = _slate_batch(cur, game_date)
    batch_id = data.batch["batch_id"] if data.batch else None
    data.systems = [r[0] for r in cur.execute(
        "SELECT DISTINCT system_id FROM player_prop_predictions WHERE game_date = ? ORDER BY 1", [game_date]).fetchall()]
    data.markets = market_choices(cur, "player_prop_predictions", game_date)

    where: list[str] = ["p.game_date = ?"]
    params: list[Any] = [game_date]
    if market is not None:
        where.append(f"{_MARKET} = ?")
        params.append(market)
    if system is not None:
        where.append("p.system_id = ?")
        params.append(system)
    base_where = " AND ".join(where)
    counts = cur.execute(f"""
        SELECT count(*), count(DISTINCT p.player_id), count(p.line),
               count(CASE WHEN p.recommendation = 'OVER' THEN 1 END),
               count(CASE WHEN p.recommendation = 'UNDER' THEN 1 END),
               count(CASE WHEN p.recommendation = 'PASS' THEN 1 END),
               count(CASE WHEN p.recommendation = 'NO_LINE' THEN 1 END)
        FROM player_prop_predictions p WHERE {base_where}""", params).fetchone()
    keys = ("rows", "players", "with_line", "OVER", "UNDER", "PASS", "NO_LINE")
    data.counts = {k: int(v) for k, v in zip(keys, counts or (0,) * len(keys), strict=True)}

    if recommendation is not None:
        where.append("p.recommendation = ?")
        params.append(recommendation)
    direction = "ASC" if order == "asc" else "DESC"
    data.rows = _records(cur, f"""
        WITH {_PLAYER_CONTEXT},
        q AS (
            SELECT batch_id, player_id, arg_max(reason, quarantined_at) AS reason,
                   arg_max(line, quarantined_at) AS quarantined_line,
                   arg_max(sportsbook, quarantined_at) AS quarantined_book
            FROM line_quarantine WHERE game_date = ? GROUP BY batch_id, player_id
        ),
        s AS (
            SELECT p.game_id, p.player_id, coalesce(pl.full_name, 'player ' || CAST(p.player_id AS VARCHAR))
                       AS player_name,
                   ctx.team_abbr, ctx.opponent_abbr, ctx.is_home, g.home_abbr, g.away_abbr,
                   p.system_id, {_MARKET} AS market, CAST(p.line AS DOUBLE) AS line, p.line_source, p.sportsbook,
                   p.line_quoted_at,
                   p.over_price, p.under_price, p.predicted_points, p.p_over, p.market_p_over, p.confidence, p.edge,
                   p.expected_value, p.recommendation, p.model_version, p.feature_quality_score, p.is_fallback,
                   p.fallback_reason, p.batch_id, p.injury_status, p.injury_report_time, p.decision_reason,
                   q.reason AS quarantine_reason, q.quarantined_line, q.quarantined_book
            FROM player_prop_predictions p
            LEFT JOIN players pl ON pl.player_id = p.player_id
            LEFT JOIN ctx ON ctx.player_id = p.player_id
            LEFT JOIN games g ON g.game_id = p.game_id
            LEFT JOIN q ON q.batch_id = p.batch_id AND q.player_id = p.player_id
            WHERE {" AND ".join(where)}
        )
        SELECT * FROM s
        ORDER BY {SLATE_SORTS[sort]} {direction} NULLS LAST, player_name ASC, system_id ASC""",
                         [game_date, game_date, *params])
    for row in data.rows:
        row["reason"] = _row_reason(row)
        row["injury_flag"] = row.get("injury_status") in INJURY_FLAGS
    data.counts["injury_flagged"] = len({r["player_id"] for r in data.rows if r["injury_flag"]})
    data.counts["listed_out"] = len({r["player_id"] for r in data.rows if r.get("injury_status") == "OUT"})

    if batch_id is not None:
        data.quarantined = _records(cur, f"""
            WITH {_PLAYER_CONTEXT}
            SELECT lq.player_id, coalesce(pl.full_name, 'player ' || CAST(lq.player_id AS VARCHAR)) AS player_name,
                   ctx.team_abbr, ctx.opponent_abbr, lq.sportsbook, lq.line, lq.reason, lq.line_snapshot_id,
                   lq.quarantined_at
            FROM line_quarantine lq
            LEFT JOIN players pl ON pl.player_id = lq.player_id
            LEFT JOIN ctx ON ctx.player_id = lq.player_id
            WHERE lq.batch_id = ?
            ORDER BY player_name, lq.sportsbook""", [game_date, batch_id])
        skip_where = "s.batch_id = ?"
        skip_params: list[Any] = [game_date, batch_id]
        if system is not None:
            skip_where += " AND (s.system_id = ? OR s.system_id IS NULL)"
            skip_params.append(system)
        data.skipped = _records(cur, f"""
            WITH {_PLAYER_CONTEXT}
            SELECT s.player_id, coalesce(pl.full_name, 'player ' || CAST(s.player_id AS VARCHAR)) AS player_name,
                   ctx.team_abbr, ctx.opponent_abbr, coalesce(s.system_id, 'all systems') AS system_id, s.reason
            FROM prediction_skips s
            LEFT JOIN players pl ON pl.player_id = s.player_id
            LEFT JOIN ctx ON ctx.player_id = s.player_id
            WHERE {skip_where}
            ORDER BY player_name, system_id""", skip_params)
    return data


def _report_time(row: dict[str, Any]) -> str:
    ts = row.get("injury_report_time")
    if not isinstance(ts, dt.datetime):
        return "the injury report"
    et = ts.astimezone(_EASTERN) if ts.tzinfo else ts.replace(tzinfo=dt.UTC).astimezone(_EASTERN)
    return f"the injury report of {et:%Y-%m-%d %I:%M %p} ET"


def _row_reason(row: dict[str, Any]) -> str | None:
    """Why a row has no bet: listed OUT, no line (quarantine reason or no quote), or its fallback reason."""
    if row.get("decision_reason") == "listed_out":
        return f"listed OUT on {_report_time(row)}: no OVER/UNDER"
    if row.get("recommendation") == "NO_LINE" or row.get("line") is None:
        if row.get("quarantine_reason"):
            line = row.get("quarantined_line")
            shown = f"{line:.1f}" if isinstance(line, float) else "line"
            book = row.get("quarantined_book") or "unknown book"
            return f"{shown} @ {book} quarantined: {row['quarantine_reason']}"
        return "no pre-tip book line"
    if row.get("is_fallback"):
        return f"fallback: {row.get('fallback_reason') or 'model unavailable'}"
    return None


# ------------------------------------------------------------------------------------------ performance
@dataclass
class PerformanceData:
    """What the performance page shows (graded rows in ``[date_from, date_to]``).

    Attributes:
        date_from: First graded date included (None when nothing is graded).
        date_to: Last graded date included.
        system: Only this system (None: all).
        graded_rows: Graded prediction rows in the window.
        by_system: Per system: bets, wins, losses, pushes, voids, hit_rate, profit_units, roi,
            mae_rows, mae, line_mae, mae_minus_line.
        by_date: The same per (game_date, system_id), plus cumulative ``cum_roi`` and ``cum_hit_rate``.
        by_month: The same per (month, system_id).
        calibration: Per (system_id, bin): n, p_mean (mean P(over)), observed (share that went over),
            bin_lo, bin_hi.
        break_even: The hit rate that breaks even at -110.
        graded_dates: Every date with grades (for the range inputs).
        clv: Per system, consensus CLV of every prediction with a line (``metrics.clv.consensus_clv``,
            scope ``predictions``, 95% slate-clustered intervals).
        market: The market shown by every figure above (stored key; default points).
        markets: ``{key, name, label}`` of the graded markets (the page's selector).
        by_market: Per (market, system) over every graded market of the window: the by-system figures
            with ``market``, ``market_name`` and ``market_label``.
    """

    date_from: dt.date | None
    date_to: dt.date | None
    system: str | None
    graded_rows: int = 0
    by_system: list[dict[str, Any]] = field(default_factory=list)
    by_date: list[dict[str, Any]] = field(default_factory=list)
    by_month: list[dict[str, Any]] = field(default_factory=list)
    calibration: list[dict[str, Any]] = field(default_factory=list)
    break_even: float = BREAK_EVEN
    graded_dates: list[dt.date] = field(default_factory=list)
    clv: list[dict[str, Any]] = field(default_factory=list)
    market: str = POINTS.key
    markets: list[dict[str, str]] = field(default_factory=list)
    by_market: list[dict[str, Any]] = field(default_factory=list)


#: Bootstrap replicates of the page's CLV intervals (the report uses 1,000).
CLV_BOOT = 300


_GRADED = """
    graded AS (
        SELECT g.game_date, g.system_id, coalesce(g.market, 'player_points') AS market,
               strftime(g.game_date, '%Y-%m') AS month, g.result, g.profit_units,
               g.abs_error, g.line_abs_error, g.is_void, g.p_over, g.graded_over,
               (g.is_bet AND g.has_valid_line AND p.line_source = 'ACTUAL_PROP') AS valid_bet,
               (g.has_valid_line AND p.line_source = 'ACTUAL_PROP') AS valid_line
        FROM prediction_grades g
        JOIN player_prop_predictions p
          ON p.game_id = g.game_id AND p.player_id = g.player_id AND p.system_id = g.system_id
         AND p.line_key = g.line_key
        WHERE {where}
    )"""

_SETTLED_SQL = ", ".join(f"'{r}'" for r in SETTLED_RESULTS)

# The counts of a BetRecord (bets, hit rate and ROI are derived from them in _derive).
_AGG = f"""
    count(CASE WHEN valid_bet AND result = 'WIN' THEN 1 END) AS wins,
    count(CASE WHEN valid_bet AND result = 'LOSS' THEN 1 END) AS losses,
    count(CASE WHEN valid_bet AND result = 'PUSH' THEN 1 END) AS pushes,
    count(CASE WHEN valid_bet AND result = 'VOID' THEN 1 END) AS voids,
    coalesce(sum(CASE WHEN valid_bet AND result IN ({_SETTLED_SQL}) THEN coalesce(profit_units, 0.0) END), 0.0)
        AS profit_units,
    count(CASE WHEN valid_line AND NOT is_void AND abs_error IS NOT NULL AND line_abs_error IS NOT NULL
               THEN 1 END) AS mae_rows,
    avg(CASE WHEN valid_line AND NOT is_void AND abs_error IS NOT NULL AND line_abs_error IS NOT NULL
             THEN abs_error END) AS mae,
    avg(CASE WHEN valid_line AND NOT is_void AND abs_error IS NOT NULL AND line_abs_error IS NOT NULL
             THEN line_abs_error END) AS line_mae"""


def _record(rec: dict[str, Any]) -> BetRecord:
    return BetRecord(wins=int(rec["wins"]), losses=int(rec["losses"]), pushes=int(rec["pushes"]),
                     voids=int(rec["voids"]), profit_units=float(rec["profit_units"]))


def _defined(x: float) -> float | None:
    """A derived figure for the page: None when undefined (NaN)."""
    return None if x != x else x


def _derive(rec: dict[str, Any]) -> dict[str, Any]:
    """Add bets, hit rate and ROI (the one definition, :class:`BetRecord`) and the MAE difference."""
    record = _record(rec)
    rec["bets"] = record.bets
    rec["hit_rate"] = _defined(record.hit_rate)
    rec["roi"] = _defined(record.roi)
    rec["mae_minus_line"] = (rec["mae"] - rec["line_mae"]
                             if rec.get("mae") is not None and rec.get("line_mae") is not None else None)
    return rec


def load_performance(cur: duckdb.DuckDBPyConnection, *, date_from: dt.date | None = None,
                     date_to: dt.date | None = None, system: str | None = None,
                     market: str = POINTS.key) -> PerformanceData:
    """Hit rate, ROI, calibration and MAE against the line, by system, date and month, of one market
    (default points), and per (market, system) over every graded market.

    Args:
        cur: A warehouse cursor.
        date_from: First date (default: the first graded date).
        date_to: Last date (default: the last graded date).
        system: Only this system (None: every system).
        market: The market's stored key (its MAE is in its own stat).

    Returns:
        The performance figures; every list is empty when nothing is graded in the window.
    """
    dates = [r[0] for r in cur.execute("SELECT DISTINCT game_date FROM prediction_grades ORDER BY 1").fetchall()]
    lo = date_from or (dates[0] if dates else None)
    hi = date_to or (dates[-1] if dates else None)
    data = PerformanceData(lo, hi, system, graded_dates=dates, market=market)
    data.markets = market_choices(cur, "prediction_grades")
    if lo is None or hi is None:
        return data
    where: list[str] = ["g.game_date BETWEEN ? AND ?"]
    params: list[Any] = [lo, hi]
    if system is not None:
        where.append("g.system_id = ?")
        params.append(system)
    every_market = _GRADED.format(where=" AND ".join(where))
    labels = {m.key: m for m in MARKETS}
    data.by_market = [_derive(r) | {"market_name": labels[r["market"]].name if r["market"] in labels else r["market"],
                                    "market_label": labels[r["market"]].label if r["market"] in labels else r["market"]}
                      for r in _records(cur, f"""
        WITH {every_market} SELECT market, system_id, count(DISTINCT game_date) AS dates, {_AGG}
        FROM graded GROUP BY market, system_id ORDER BY market, system_id""", params)]
    data.by_market.sort(key=lambda r: (next((i for i, m in enumerate(MARKETS) if m.key == r["market"]), 99),
                                       r["system_id"]))
    where.append("coalesce(g.market, 'player_points') = ?")
    params.append(market)
    graded = _GRADED.format(where=" AND ".join(where))
    data.graded_rows = int(_scalar(cur, f"WITH {graded} SELECT count(*) FROM graded", params) or 0)
    data.by_system = [_derive(r) for r in _records(cur, f"""
        WITH {graded} SELECT system_id, count(DISTINCT game_date) AS dates, {_AGG}
        FROM graded GROUP BY system_id ORDER BY system_id""", params)]
    data.by_month = [_derive(r) for r in _records(cur, f"""
        WITH {graded} SELECT month, system_id, count(DISTINCT game_date) AS dates, {_AGG}
        FROM graded GROUP BY month, system_id ORDER BY month, system_id""", params)]
    data.by_date = [_derive(r) for r in _records(cur, f"""
        WITH {graded} SELECT game_date, system_id, {_AGG}
        FROM graded GROUP BY game_date, system_id ORDER BY game_date, system_id""", params)]
    running: dict[str, BetRecord] = {}
    for rec in data.by_date:  # cumulative figures per system, in date order
        total = running.get(rec["system_id"], BetRecord()) + _record(rec)
        running[rec["system_id"]] = total
        rec["cum_bets"] = total.bets
        rec["cum_hit_rate"] = _defined(total.hit_rate)
        rec["cum_roi"] = _defined(total.roi)
    graded_frame = load_graded(cur, lo, hi, markets=[market])
    if system is not None:
        graded_frame = graded_frame[graded_frame["system_id"] == system]
    if len(graded_frame):
        cclv = consensus_clv(graded_frame, n_boot=CLV_BOOT)
        cclv = cclv[cclv["scope"] == "predictions"]
        data.clv = [{str(k): (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                    for r in cclv.to_dict(orient="records")]
    data.calibration = _records(cur, f"""
        WITH {graded},
        scored AS (
            SELECT system_id, p_over, CASE WHEN graded_over THEN 1.0 ELSE 0.0 END AS went_over,
                   least(CAST(floor(p_over * {CALIBRATION_BINS}) AS INTEGER), {CALIBRATION_BINS - 1}) AS bin
            FROM graded
            WHERE valid_line AND NOT is_void AND graded_over IS NOT NULL AND p_over IS NOT NULL
        )
        SELECT system_id, bin, CAST(bin AS DOUBLE) / {CALIBRATION_BINS} AS bin_lo,
               CAST(bin + 1 AS DOUBLE) / {CALIBRATION_BINS} AS bin_hi,
               count(*) AS n, avg(p_over) AS p_mean, avg(went_over) AS observed
        FROM scored GROUP BY system_id, bin ORDER BY system_id, bin""", params)
    return data


# ------------------------------------------------------------------------------------------ pipeline
@dataclass
class PipelineData:
    """What the pipeline page shows.

    Attributes:
        phases: Per phase: runs, ok, failed, blocked, running, last_started, last_status, last_error, rows.
        runs: ``phase_runs`` rows (newest first, filtered), with ``seconds``.
        batches: ``prediction_batches`` rows (newest first), with ``seconds``, ``stalled``,
            ``quarantined_lines`` and ``skips``.
        alerts: Conditions computed from the tables (errors first).
        phase: The phase filter.
        status: The status filter.
        game_date: Only runs whose date range covers this date.
        limit: At most this many runs and batches.
        total_runs: Runs matching the filters (all pages).
    """

    phases: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    phase: str | None = None
    status: str | None = None
    game_date: dt.date | None = None
    limit: int = 200
    total_runs: int = 0


#: What the pipeline page says of a run left ``running`` by a process that no longer exists.
DEAD_RUN_ERROR = "left running by a process that died (crash or kill -9); re-run the phase"


def _dead_run(run_id: str | None) -> bool:
    """Whether a ``running`` record's holder provably died (a pid of this host that is gone).

    The pages read the warehouse and never write it: such a record is shown ``abandoned`` here and
    closed in the table by the next ``run``, ``backfill`` or ``status``.
    """
    holder = run_holder(run_id)
    return holder is not None and not is_alive(str(holder))


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def load_pipeline(cur: duckdb.DuckDBPyConnection, *, phase: str | None = None, status: str | None = None,
                  game_date: dt.date | None = None, limit: int = 200,
                  now: dt.datetime | None = None) -> PipelineData:
    """Phase runs, prediction batches and alerts computed from the warehouse.

    Args:
        cur: A warehouse cursor.
        phase: Only runs of this phase.
        status: Only runs with this status.
        game_date: Only runs whose ``[date_from, date_to]`` covers this date (and batches of it).
        limit: At most this many runs and batches.
        now: Current naive UTC time (for tests).

    Returns:
        The pipeline state.
    """
    now = now or _utcnow()
    data = PipelineData(phase=phase, status=status, game_date=game_date, limit=limit)
    data.phases = _records(cur, """
        SELECT phase, count(*) AS runs,
               count(CASE WHEN status = 'ok' THEN 1 END) AS ok,
               count(CASE WHEN status = 'failed' THEN 1 END) AS failed,
               count(CASE WHEN status = 'blocked' THEN 1 END) AS blocked,
               count(CASE WHEN status = 'running' THEN 1 END) AS running,
               min(date_from) AS first_date, max(date_to) AS last_date,
               max(started_at) AS last_started,
               arg_max(status, started_at) AS last_status,
               arg_max(error, started_at) AS last_error,
               arg_max(run_id, started_at) AS last_run_id,
               coalesce(sum(n_rows), 0) AS rows
        FROM phase_runs GROUP BY phase ORDER BY phase""")
    for p in data.phases:
        last_run_id = p.pop("last_run_id")
        if p["last_status"] == "running" and _dead_run(last_run_id):
            p["last_status"], p["last_error"] = "abandoned", DEAD_RUN_ERROR
    cond, params = conditions(("? BETWEEN date_from AND date_to", [game_date]) if game_date is not None else None,
                              phase=phase, status=status)
    data.total_runs = int(_scalar(cur, f"SELECT count(*) FROM phase_runs WHERE {cond}", params) or 0)
    data.runs = _records(cur, f"""
        SELECT run_id, phase, date_from, date_to, status, n_rows, started_at, finished_at,
               date_diff('millisecond', started_at, finished_at) / 1000.0 AS seconds, error
        FROM phase_runs WHERE {cond}
        ORDER BY started_at DESC, phase LIMIT ?""", [*params, limit])
    for r in data.runs:
        if r["status"] == "running" and _dead_run(r["run_id"]):
            r["status"], r["error"] = "abandoned", DEAD_RUN_ERROR

    bwhere, bparams = "TRUE", list[Any]()
    if game_date is not None:
        bwhere, bparams = "b.game_date = ?", [game_date]
    data.batches = _records(cur, f"""
        WITH q AS (SELECT batch_id, count(DISTINCT coalesce(line_snapshot_id, CAST(player_id AS VARCHAR))) AS n
                   FROM line_quarantine GROUP BY batch_id),
             s AS (SELECT batch_id, count(DISTINCT player_id) AS n FROM prediction_skips GROUP BY batch_id)
        SELECT b.*, date_diff('millisecond', b.started_at, b.finished_at) / 1000.0 AS seconds,
               coalesce(q.n, 0) AS quarantined_lines, coalesce(s.n, 0) AS skipped
        FROM prediction_batches b
        LEFT JOIN q ON q.batch_id = b.batch_id
        LEFT JOIN s ON s.batch_id = b.batch_id
        WHERE {bwhere}
        ORDER BY b.started_at DESC LIMIT ?""", [*bparams, limit])
    for b in data.batches:
        b["stalled"] = b["status"] == "stalled" or (
            b["status"] in ("running", "consolidating") and is_stale(b.get("owner"), b.get("heartbeat_at"), after=BATCH_STALE_AFTER_S, now=now))
    data.alerts = _alerts(cur, now)
    return data


def _alerts(cur: duckdb.DuckDBPyConnection, now: dt.datetime) -> list[Alert]:
    """Quarantine, stall and failure conditions computed from the tables (errors first, newest first)."""
    out: list[Alert] = []
    # the newest run of each (phase, range) decides: a failure fixed by a later ok run is not an alert
    for r in _records(cur, """
            SELECT run_id, phase, date_from, date_to, status, error, started_at FROM (
                SELECT *, row_number() OVER (PARTITION BY phase, date_from, date_to
                                             ORDER BY started_at DESC) AS rn FROM phase_runs) AS x
            WHERE rn = 1 AND status IN ('failed', 'blocked', 'running')
            ORDER BY started_at DESC LIMIT 100"""):
        span = str(r["date_from"]) if r["date_from"] == r["date_to"] else f"{r['date_from']}..{r['date_to']}"
        if r["status"] == "running" and _dead_run(r["run_id"]):
            out.append(Alert(severity="error", kind="phase_abandoned", game_date=r["date_to"],
                             title=f"{r['phase']} {span} abandoned", detail=DEAD_RUN_ERROR))
            continue
        if r["status"] == "running":
            if now - r["started_at"] > PHASE_STALL_AFTER:
                out.append(Alert(severity="error", kind="phase_stalled", game_date=r["date_to"],
                                 title=f"{r['phase']} {span} stalled",
                                 detail=f"running since {r['started_at']:%Y-%m-%d %H:%M} UTC; re-run the phase"))
            continue
        out.append(Alert(severity="error" if r["status"] == "failed" else "warning", kind=f"phase_{r['status']}",
                         game_date=r["date_to"], title=f"{r['phase']} {span} {r['status']}",
                         detail=str(r["error"] or "")[:500]))
    # the newest batch of each date decides
    for b in _records(cur, """
            SELECT * FROM (
                SELECT *, row_number() OVER (PARTITION BY game_date ORDER BY started_at DESC) AS rn
                FROM prediction_batches) AS x
            WHERE rn = 1 ORDER BY game_date DESC LIMIT 200"""):
        if b["status"] in ("running", "consolidating"):
            if is_stale(b.get("owner"), b.get("heartbeat_at"), after=BATCH_STALE_AFTER_S, now=now):
                out.append(Alert(severity="error", kind="batch_stalled", game_date=b["game_date"],
                                 title=f"prediction batch {b['batch_id']} stalled",
                                 detail=f"{b['status']} with its last heartbeat at {b.get('heartbeat_at')} (owner "
                                        f"{b.get('owner')}); start the date again"))
        elif b["status"] == "stalled":  # a queue reported work units waiting with no consumer
            out.append(Alert(severity="error", kind="batch_stalled", game_date=b["game_date"],
                             title=f"prediction batch {b['batch_id']} stalled",
                             detail=str(b.get("error") or "work units are waiting with no worker to run them")[:500]))
        elif b["status"] in ("failed", "abandoned"):
            out.append(Alert(severity="error", kind=f"batch_{b['status']}", game_date=b["game_date"],
                             title=f"prediction batch {b['batch_id']} {b['status']}",
                             detail=str(b.get("error") or "")[:500]))
        elif b["status"] == "complete_with_failures":
            out.append(Alert(severity="warning", kind="batch_partial", game_date=b["game_date"],
                             title=f"prediction batch {b['batch_id']} completed with failures",
                             detail=f"{b.get('failed_players') or 0} players failed"))
    for q in _records(cur, """
            SELECT game_date, count(DISTINCT coalesce(line_snapshot_id, CAST(player_id AS VARCHAR))) AS n,
                   string_agg(DISTINCT reason, '; ' ORDER BY reason) AS reasons
            FROM line_quarantine GROUP BY game_date ORDER BY game_date DESC LIMIT 100"""):
        out.append(Alert(severity="warning", kind="lines_quarantined", game_date=q["game_date"],
                         title=f"{q['n']} line{'s' if q['n'] != 1 else ''} quarantined",
                         detail=str(q["reasons"] or "")[:500]))
    for e in _records(cur, """
            SELECT b.game_date, e.batch_id, e.system_id, e.last_error FROM system_circuit_events e
            LEFT JOIN prediction_batches b ON b.batch_id = e.batch_id
            ORDER BY e.event_at DESC LIMIT 100"""):
        out.append(Alert(severity="warning", kind="circuit_open", game_date=e["game_date"],
                         title=f"system {e['system_id']} stopped in {e['batch_id']}",
                         detail=str(e["last_error"] or "")[:500]))
    if _has_relation(cur, "placeholder_alerts"):
        for p in _records(cur, "SELECT * FROM placeholder_alerts ORDER BY game_date DESC LIMIT 100"):
            where = " / ".join(str(p[k]) for k in ("source", "sportsbook") if p.get(k))
            out.append(Alert(severity="error", kind=f"placeholder_{p['alert']}", game_date=p["game_date"],
                             title=f"{p['alert']} {where}".strip(),
                             detail=f"{p.get('n_lines')} lines, modal line {p.get('modal_line')}"))
    rank = {"error": 0, "warning": 1}
    out.sort(key=lambda a: (rank[a.severity], -(a.game_date.toordinal() if a.game_date else 0), a.kind))
    return out
