"""Remediation: move stored predictions that fail today's line rules into an archive, and back.

When a validation rule changes (or a bad row slipped in), the stored predictions of a date range are
run through the same gate as a live slate (:func:`nbaprops.predict.line_gate.validate_lines`). Rows whose
line fails it move to ``prediction_archive`` with the gate's reason and their grades are deleted (they
are re-derivable with ``nbaprops grade``) — all in one transaction, so a failure leaves everything
as it was. :func:`restore_archived` moves archived rows back unchanged.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from nbaprops.predict.line_gate import validate_lines
from nbaprops.warehouse.connection import transaction

__all__ = ["KEY_COLUMNS", "archive_invalid", "archive_summary", "find_invalid", "restore_archived"]

#: The key of a stored prediction (and of its grade and archived copy).
KEY_COLUMNS: tuple[str, ...] = ("game_id", "player_id", "system_id", "line_key")

# The columns the gate looks at: rows of the same player that agree on all of them are one quote
# (the systems of a slate share it), so the placeholder check counts each quote once.
_QUOTE_COLUMNS = ("game_date", "game_id", "player_id", "line", "sportsbook", "quoted_at", "tipoff_at",
                  "quote_basis", "over_price", "under_price", "line_source", "points_avg_last_10",
                  "points_avg_season")

# Every stored prediction that claims a line: a line value or the ACTUAL_PROP source (a NULL line
# with ACTUAL_PROP is itself invalid). The quote's tip-off and the player's averages come from the
# date's context and feature rows, as when the slate was gated.
_SLATE_SQL = """
SELECT p.game_id, p.player_id, p.system_id, p.line_key, p.game_date,
       CAST(p.line AS DOUBLE) AS line, p.sportsbook, p.line_quoted_at AS quoted_at,
       coalesce(c.tipoff_at, g.tipoff_at) AS tipoff_at, p.line_quote_basis AS quote_basis,
       CAST(p.over_price AS DOUBLE) AS over_price, CAST(p.under_price AS DOUBLE) AS under_price,
       p.line_source, v.points_avg_last_10, v.points_avg_season
FROM player_prop_predictions AS p
LEFT JOIN upcoming_player_game_context AS c ON c.game_date = p.game_date AND c.player_id = p.player_id
LEFT JOIN games AS g ON g.game_id = p.game_id
LEFT JOIN feature_values AS v ON v.game_date = p.game_date AND v.player_id = p.player_id
WHERE p.game_date BETWEEN ? AND ?
  AND (p.line IS NOT NULL OR p.line_source = 'ACTUAL_PROP')
ORDER BY p.game_date, p.game_id, p.player_id, p.system_id, p.line_key
"""

_KEY_MATCH = " AND ".join(f"k.{c} = t.{c}" for c in KEY_COLUMNS)


def find_invalid(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date) -> pd.DataFrame:
    """Stored predictions of [date_from, date_to] whose line fails today's validation gate.

    Args:
        con: An open warehouse.
        date_from: First game date.
        date_to: Last game date.

    Returns:
        One row per failing prediction: :data:`KEY_COLUMNS`, ``game_date`` and ``reason`` (the gate's
        first reject reason).
    """
    rows = con.execute(_SLATE_SQL, [date_from, date_to]).df()
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in (*KEY_COLUMNS, "game_date", "reason")})
    if rows.empty:
        return empty
    # one row per distinct quote: the systems quoting the same line are one line for the
    # placeholder check, while a row that differs (e.g. a lost book) is checked on its own
    quote_id = rows.groupby(list(_QUOTE_COLUMNS), dropna=False, sort=False).ngroup()
    first = ~quote_id.duplicated()
    quotes = rows.loc[first, list(_QUOTE_COLUMNS)].copy()
    quotes["game_date"] = pd.to_datetime(quotes["game_date"])
    checked = validate_lines(quotes)
    reason_by_quote = pd.Series(checked["reject_reason"].to_numpy(), index=quote_id[first].to_numpy())
    reasons = reason_by_quote.reindex(quote_id.to_numpy()).to_numpy()
    bad = rows.assign(reason=reasons)
    bad = bad[bad["reason"].notna()]
    if bad.empty:
        return empty
    return bad[[*KEY_COLUMNS, "game_date", "reason"]].reset_index(drop=True)


def archive_invalid(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date) -> int:
    """Move stored predictions that fail the gate into ``prediction_archive``, in one transaction.

    Each moved row keeps every column and gains ``archived_at`` and ``archive_reason``; its
    ``prediction_grades`` row is deleted (``nbaprops grade`` re-derives grades). A key archived
    before (a re-run re-created it) is replaced by the newer copy.

    Args:
        con: An open warehouse.
        date_from: First game date.
        date_to: Last game date.

    Returns:
        The number of predictions archived.
    """
    bad = find_invalid(con, date_from, date_to)
    if bad.empty:
        return 0
    keys = bad[[*KEY_COLUMNS, "reason"]].astype({"player_id": "int64"})
    con.register("_remediate_keys", keys)
    try:
        with transaction(con) as tx:
            tx.execute(f"DELETE FROM prediction_archive AS t WHERE EXISTS (SELECT 1 FROM _remediate_keys AS k "
                       f"WHERE {_KEY_MATCH})")
            tx.execute(f"""INSERT INTO prediction_archive BY NAME
                            SELECT t.*, now() AS archived_at, k.reason AS archive_reason
                            FROM player_prop_predictions AS t JOIN _remediate_keys AS k ON {_KEY_MATCH}""")
            for table in ("prediction_grades", "player_prop_predictions"):
                tx.execute(f"DELETE FROM {table} AS t WHERE EXISTS (SELECT 1 FROM _remediate_keys AS k "
                           f"WHERE {_KEY_MATCH})")
    finally:
        con.unregister("_remediate_keys")
    return len(keys)


def restore_archived(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date,
                     reason: str | None = None) -> int:
    """Move archived predictions of [date_from, date_to] back into ``player_prop_predictions``.

    Rows come back exactly as they were archived (one transaction). A row whose key is taken by a
    newer prediction (the date was predicted again since) stays in the archive. Grades are not
    recomputed here: run ``nbaprops grade`` (``nbaprops restore`` does it for the range).

    Args:
        con: An open warehouse.
        date_from: First game date.
        date_to: Last game date.
        reason: Restore only rows archived for this reason (all when ``None``).

    Returns:
        The number of predictions restored.
    """
    args: list[object] = [date_from, date_to]
    where = "a.game_date BETWEEN ? AND ?"
    if reason is not None:
        where += " AND a.archive_reason = ?"
        args.append(reason)
    keys = con.execute(f"""SELECT {", ".join(f"a.{c}" for c in KEY_COLUMNS)} FROM prediction_archive AS a
                           WHERE {where} AND NOT EXISTS (
                               SELECT 1 FROM player_prop_predictions AS p
                               WHERE {" AND ".join(f"p.{c} = a.{c}" for c in KEY_COLUMNS)})""", args).df()
    if keys.empty:
        return 0
    con.register("_restore_keys", keys)
    try:
        with transaction(con) as tx:
            tx.execute(f"""INSERT INTO player_prop_predictions BY NAME
                            SELECT t.* EXCLUDE (archived_at, archive_reason)
                            FROM prediction_archive AS t JOIN _restore_keys AS k ON {_KEY_MATCH}""")
            tx.execute(f"DELETE FROM prediction_archive AS t WHERE EXISTS (SELECT 1 FROM _restore_keys AS k "
                       f"WHERE {_KEY_MATCH})")
    finally:
        con.unregister("_restore_keys")
    return len(keys)


def archive_summary(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date) -> dict[str, int]:
    """Archived predictions of [date_from, date_to] per reason.

    Args:
        con: An open warehouse.
        date_from: First game date.
        date_to: Last game date.

    Returns:
        ``{archive_reason: rows}``.
    """
    rows = con.execute("""SELECT archive_reason, count(*) FROM prediction_archive
                          WHERE game_date BETWEEN ? AND ? GROUP BY archive_reason ORDER BY archive_reason""",
                       [date_from, date_to]).fetchall()
    return {str(r): int(n) for r, n in rows}
