"""``nbaprops verify --date D``: after a run, prove the slate's predictions are what we claim.

    predictions       every game of the date has prediction rows
    batch             the date's latest batch completed, with no failed players, not stalled
    confidence        confidences vary within each system (one constant value = a fallback in disguise)
    fallback          no row is a fallback
    lines             no OVER/UNDER on a line that is not a real book quote (line_source ACTUAL_PROP, line set)
    model_versions    every row's model_version belongs to the pinned (served) model set
    grading_coverage  >= 95% of the previous game date's predictions are graded once its box scores exist

:func:`batch_alerts` adds what is worth an alert without failing verification: quarantined lines.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from nbaprops.config import Settings
from nbaprops.errors import ModelError
from nbaprops.ops.alerts import Alert
from nbaprops.ops.checks import Check
from nbaprops.warehouse.calendar import previous_game_date

__all__ = ["COVERAGE_MIN", "STALLED_AFTER_S", "alerts_from_checks", "batch_alerts", "grading_coverage",
           "verify_date"]

COVERAGE_MIN = 0.95
STALLED_AFTER_S = 300
#: verify check -> alert kind (the issue's alert list); other failures are ``verify_failed``.
_ALERT_KIND = {"fallback": "model_fallback", "grading_coverage": "grading_coverage", "batch": "batch_stalled"}


def _one(con: duckdb.DuckDBPyConnection, sql: str, args: list[object]) -> tuple[Any, ...]:
    row = con.execute(sql, args).fetchone()
    assert row is not None  # aggregate queries always return one row
    return tuple(row)


def grading_coverage(con: duckdb.DuckDBPyConnection, game_date: dt.date) -> tuple[int, int, bool]:
    """(graded predictions, predictions, box scores exist) for one date."""
    n_pred, n_graded = _one(con, """SELECT count(*), count(g.game_id) FROM player_prop_predictions p
        LEFT JOIN prediction_grades g USING (game_id, player_id, system_id, line_key)
        WHERE p.game_date = ?""", [game_date])
    (box,) = _one(con, "SELECT count(*) > 0 FROM player_boxscores WHERE game_date = ?", [game_date])
    return int(n_graded), int(n_pred), bool(box)


def _coverage_check(con: duckdb.DuckDBPyConnection, game_date: dt.date, minimum: float) -> Check:
    prev = previous_game_date(con, game_date)
    if prev is None:
        return Check.passed("grading_coverage", f"no game date before {game_date}")
    graded, total, box = grading_coverage(con, prev)
    if total == 0:
        return Check.passed("grading_coverage", f"{prev}: no predictions to grade")
    if not box:
        return Check.passed("grading_coverage", f"{prev}: box scores not in yet ({total} predictions wait)")
    share = graded / total
    detail = f"{prev}: {graded} of {total} predictions graded ({share:.1%}, minimum {minimum:.0%})"
    if share < minimum:
        return Check.failure("grading_coverage", f"{detail}; run `nbaprops grade --date {prev}`")
    return Check.passed("grading_coverage", detail)


def verify_date(con: duckdb.DuckDBPyConnection, settings: Settings, game_date: dt.date, *,
                coverage_min: float = COVERAGE_MIN) -> list[Check]:
    """Every post-run check for a date (see the module docstring)."""
    from nbaprops.models.registry import served_model_set

    d = game_date
    checks: list[Check] = []
    games = [r[0] for r in con.execute("SELECT game_id FROM games WHERE game_date = ? ORDER BY 1", [d]).fetchall()]
    predicted = {r[0] for r in con.execute("SELECT DISTINCT game_id FROM player_prop_predictions WHERE game_date = ?",
                                           [d]).fetchall()}
    (n_rows,) = _one(con, "SELECT count(*) FROM player_prop_predictions WHERE game_date = ?", [d])
    if not games:
        checks.append(Check.failure("predictions", f"no games on {d} in the warehouse"))
    elif missing := [g for g in games if g not in predicted]:
        checks.append(Check.failure("predictions", f"{len(missing)} of {len(games)} games of {d} have no predictions: "
                                                   f"{', '.join(missing[:10])}"))
    else:
        checks.append(Check.passed("predictions", f"{n_rows} rows cover all {len(games)} games of {d}"))

    batch = con.execute("""SELECT batch_id, status, failed_players, heartbeat_at FROM prediction_batches
                           WHERE game_date = ? ORDER BY started_at DESC LIMIT 1""", [d]).fetchone()
    if batch is None:
        checks.append(Check.failure("batch", f"no prediction batch for {d}"))
    else:
        batch_id, status, failed_players, hb = batch
        stale = hb is not None and (dt.datetime.now(dt.UTC).replace(tzinfo=None) - hb).total_seconds() > STALLED_AFTER_S
        if status in ("stalled", "failed", "abandoned") or (status in ("running", "consolidating") and stale):
            checks.append(Check.failure("batch", f"batch {batch_id} is {status}"
                                                 f"{' (no heartbeat for 5 min)' if stale else ''}"))
        elif failed_players:
            checks.append(Check.failure("batch", f"batch {batch_id} ({status}) failed for {failed_players} player(s); "
                                                 "see prediction_skips"))
        elif status in ("running", "consolidating"):
            checks.append(Check.failure("batch", f"batch {batch_id} is still {status}"))
        else:
            checks.append(Check.passed("batch", f"batch {batch_id} {status}"))

    const = con.execute("""SELECT system_id, count(*), min(confidence) FROM player_prop_predictions
                           WHERE game_date = ? AND confidence IS NOT NULL GROUP BY system_id
                           HAVING count(*) > 1 AND count(DISTINCT round(confidence, 6)) = 1 ORDER BY 1""",
                        [d]).fetchall()
    if const:
        checks.append(Check.failure("confidence", "one constant confidence per system: " + ", ".join(
            f"{s} = {c:.4f} on {n} rows" for s, n, c in const)))
    else:
        (n_conf,) = _one(con, """SELECT count(DISTINCT round(confidence, 6)) FROM player_prop_predictions
                                 WHERE game_date = ?""", [d])
        checks.append(Check.passed("confidence", f"{n_conf} distinct confidence values"))

    (n_fb,) = _one(con, "SELECT count(*) FROM player_prop_predictions WHERE game_date = ? AND is_fallback", [d])
    if n_fb:
        (why,) = _one(con, """SELECT string_agg(DISTINCT fallback_reason, '; ') FROM player_prop_predictions
                              WHERE game_date = ? AND is_fallback""", [d])
        checks.append(Check.failure("fallback", f"{n_fb} fallback row(s): {why}"))
    else:
        checks.append(Check.passed("fallback", "no fallback rows"))

    (n_bad,) = _one(con, """SELECT count(*) FROM player_prop_predictions WHERE game_date = ?
                            AND recommendation IN ('OVER', 'UNDER')
                            AND (line_source <> 'ACTUAL_PROP' OR line IS NULL)""", [d])
    if n_bad:
        checks.append(Check.failure("lines", f"{n_bad} OVER/UNDER recommendation(s) on a line that is not a real "
                                             "book quote (line_source <> 'ACTUAL_PROP' or no line)"))
    else:
        checks.append(Check.passed("lines", "every OVER/UNDER is on an ACTUAL_PROP line"))

    try:
        served = served_model_set(settings.model_path, required=False)
    except ModelError as exc:
        served, served_err = None, str(exc)
    else:
        served_err = f"no model set is served from {settings.model_path}"
    versions = [r[0] for r in con.execute("""SELECT DISTINCT model_version FROM player_prop_predictions
                                            WHERE game_date = ? ORDER BY 1""", [d]).fetchall()]
    if served is None:
        checks.append(Check.failure("model_versions", served_err))
    elif off := [v for v in versions if not str(v).startswith(f"{served}:")]:
        checks.append(Check.failure("model_versions", f"rows not from the pinned model set {served}: "
                                                      f"{', '.join(map(str, off[:6]))}"))
    else:
        checks.append(Check.passed("model_versions", f"{len(versions)} model versions, all of {served}"))

    checks.append(_coverage_check(con, d, coverage_min))
    return checks


def batch_alerts(con: duckdb.DuckDBPyConnection, game_date: dt.date) -> list[Alert]:
    """Alerts about the date's latest batch that do not fail verification: quarantined lines."""
    out: list[Alert] = []
    batch = con.execute("""SELECT batch_id FROM prediction_batches WHERE game_date = ?
                           ORDER BY started_at DESC LIMIT 1""", [game_date]).fetchone()
    if batch is None:
        return out
    reasons = con.execute("""SELECT reason, count(*) FROM line_quarantine WHERE batch_id = ?
                             GROUP BY reason ORDER BY 2 DESC""", [batch[0]]).fetchall()
    if reasons:
        n = sum(int(c) for _, c in reasons)
        out.append(Alert(kind="lines_quarantined", title=f"{n} line(s) quarantined by the validation gate",
                         detail="; ".join(f"{c} x {r}" for r, c in reasons) + " (those players were predicted "
                         "NO_LINE; see table line_quarantine)", severity="warning", game_date=game_date))
    return out


def alerts_from_checks(checks: list[Check], game_date: dt.date | None, *, source: str = "verify") -> list[Alert]:
    """One alert per failed check (kinds: model_fallback, grading_coverage, batch_stalled, ...)."""
    out = []
    for c in checks:
        if c.ok:
            continue
        kind = _ALERT_KIND.get(c.name, f"{source}_failed")
        if c.name.startswith("freshness"):
            kind = "freshness_breach"
        out.append(Alert(kind=kind, title=f"{source} check {c.name} failed", detail=c.detail, severity="error",
                         game_date=game_date))
    return out
