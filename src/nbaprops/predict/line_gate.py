"""The line validation gate (pure; the odds maths it uses are in :mod:`nbaprops.odds`).

The gate (:func:`validate_lines`) never raises on bad data: each row gets ``is_valid`` and a
``reject_reason`` (first failing check). It fixes the old gate (``docs/systems.md``): a real 20.0 quote
from a book is valid; only a *pattern* of one constant value across a slate is rejected.

Cross-book sanity (:func:`cross_book_check`, ``docs/market.md``): every book's quote for a player is
compared with the other books' at the same time. A quote far behind the others in time
(``stale_quote``), whose line sits far from theirs (``cross_book_line``) or whose de-vigged P(over)
contradicts theirs (``cross_book_prob``: swapped over/under prices) is quarantined and never shopped.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import pandas as pd

from nbaprops.errors import MissingColumnsError
from nbaprops.markets import MARKETS, POINTS
from nbaprops.odds import is_valid_american, shift_p_over

__all__ = [
    "ACTUAL_PROP",
    "CROSS_BOOK_LINE",
    "CROSS_BOOK_PROB",
    "CROSS_BOOK_REASONS",
    "STALE_AFTER",
    "MAX_LINE",
    "PLACEHOLDER_MIN_LINES",
    "PLACEHOLDER_SHARE",
    "REJECT_REASONS",
    "SLATE_COLUMNS",
    "cross_book_check",
    "validate_lines",
]

FloatArray = npt.NDArray[np.float64]

ACTUAL_PROP = "ACTUAL_PROP"
#: The points market's highest plausible line (each market's is ``Market.max_line``).
MAX_LINE = POINTS.max_line
#: A slate (or one book's part of it) with at least this many lines ...
PLACEHOLDER_MIN_LINES = 10
#: ... of which at least this share are one identical value is a placeholder pattern: real books
#: post many distinct lines across a slate (players score from 3 to 35).
PLACEHOLDER_SHARE = 0.8
#: Books' strings that mean "no book".
_UNKNOWN_BOOKS = frozenset({"", "unknown", "none", "null", "nan", "n/a", "na", "estimated", "default"})

SLATE_COLUMNS: tuple[str, ...] = (
    "player_id", "game_id", "line", "sportsbook", "quoted_at", "tipoff_at", "quote_basis",
    "over_price", "under_price", "line_source", "points_avg_season", "points_avg_last_10",
)

REJECT_REASONS: tuple[str, ...] = (
    "not_actual_prop", "no_sportsbook", "bad_quote_basis", "missing_quote_time", "naive_timestamp",
    "quoted_after_tipoff", "bad_line_value", "implausible_for_player", "bad_price", "placeholder_pattern",
    "unknown_market",
)
_MARKET_BY_KEY = {m.key: m for m in MARKETS}


# ------------------------------------------------------------------------------- the gate
def _to_utc(values: pd.Series) -> tuple[pd.Series, npt.NDArray[np.bool_]]:
    """UTC timestamps and a mask of tz-naive (ambiguous) values, which become NaT."""
    naive = np.zeros(len(values), dtype=bool)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC"), naive
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]"), values.notna().to_numpy()
    out: list[pd.Timestamp | None] = []
    for i, value in enumerate(values.tolist()):
        ts = None
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            try:
                parsed = pd.Timestamp(value) if isinstance(value, str | dt.datetime | pd.Timestamp) else None
            except (ValueError, TypeError):
                parsed = None
            if parsed is not None and parsed is not pd.NaT:
                if parsed.tzinfo is None:
                    naive[i] = True
                else:
                    ts = parsed.tz_convert("UTC")
        out.append(ts)
    return pd.Series(pd.to_datetime(pd.Series(out, index=values.index, dtype=object), utc=True)), naive


def _placeholder_rows(frame: pd.DataFrame, line: FloatArray, candidate: npt.NDArray[np.bool_],
                      keys: list[str]) -> npt.NDArray[np.bool_]:
    """Rows carrying a value that >= PLACEHOLDER_SHARE of a group's (>= PLACEHOLDER_MIN_LINES) lines share."""
    flagged = np.zeros(len(frame), dtype=bool)
    positions = np.flatnonzero(candidate)
    if positions.size == 0:
        return flagged
    sub = frame.iloc[positions][keys].astype(str).copy()
    sub["_line"] = line[positions]
    sub["_pos"] = positions
    groups = [group for _, group in sub.groupby(keys, sort=False)] if keys else [sub]
    for group in groups:
        if len(group) < PLACEHOLDER_MIN_LINES:
            continue
        counts = group["_line"].value_counts()
        if counts.iloc[0] / len(group) >= PLACEHOLDER_SHARE:
            value = counts.index[0]
            flagged[group.loc[group["_line"] == value, "_pos"].to_numpy()] = True
    return flagged


def validate_lines(slate: pd.DataFrame) -> pd.DataFrame:
    """Mark each quoted line valid or not, with the first reason it fails.

    Checks, in order (with a ``market`` column each row is checked with its market's parameters from
    :data:`nbaprops.markets.MARKETS`; without one every row is a points line):

    0. ``unknown_market``: a ``market`` that is not in the registry.
    1. ``not_actual_prop``: ``line_source`` present and not ``ACTUAL_PROP`` (nothing estimated is a line).
    2. ``no_sportsbook``: sportsbook missing, empty or a placeholder string such as "unknown".
    3. ``bad_quote_basis``: ``quote_basis`` not ``'quoted_at'`` or ``'closing'``.
    4. ``missing_quote_time``: basis ``'quoted_at'`` without ``quoted_at``. A ``'closing'`` row
       (a source publishing the final pre-tip line without a time) needs no ``quoted_at``.
    5. ``naive_timestamp``: ``quoted_at`` or ``tipoff_at`` without a time zone (ambiguous).
    6. ``quoted_after_tipoff``: ``quoted_at >= tipoff_at`` (an in-game quote).
    7. ``bad_line_value``: line NaN, Inf, <= 0 or > the market's ``max_line`` (points: :data:`MAX_LINE`).
    8. ``implausible_for_player``: ``|line - avg| > max(min_tolerance, 1.5 * avg)`` (points: 15) with
       ``avg`` the L10 average of the market's stat (season average when L10 is missing; skipped when
       neither exists): ``stat_avg_last_10`` / ``stat_avg_season`` when given, else, for points rows
       only, ``points_avg_last_10`` / ``points_avg_season``.
    9. ``bad_price``: an over/under price missing or not valid American odds (|price| < 100).
    10. ``placeholder_pattern``: among the rows passing 1-9 within one slate (``game_date`` when the
        column exists, else the whole frame; and per market) — and separately within each sportsbook
        of it — at least :data:`PLACEHOLDER_MIN_LINES` lines of which at least :data:`PLACEHOLDER_SHARE`
        share one identical value: the rows with that value are rejected. Real slates have many
        distinct lines, so a real 20.0 (even several) passes. Skipped for markets whose
        ``placeholder_check`` is off (low counts and assists, where most real lines are 0.5 or 1.5).

    Args:
        slate: Quotes with the :data:`SLATE_COLUMNS` (``line_source``, ``points_avg_*``,
            ``stat_avg_*``, ``market`` and ``game_date`` optional).

    Returns:
        A copy with ``is_valid`` (bool) and ``reject_reason`` (str or None) added.

    Raises:
        MissingColumnsError: If a column the gate cannot work without is absent.
    """
    required = ("line", "sportsbook", "quoted_at", "tipoff_at", "quote_basis", "over_price", "under_price")
    missing = [c for c in required if c not in slate.columns]
    if missing:
        raise MissingColumnsError(f"slate lacks columns {missing}", field=missing[0])
    out = slate.copy()
    n = len(out)
    reason = np.full(n, None, dtype=object)

    def reject(mask: npt.NDArray[np.bool_], why: str) -> None:
        hit = mask & pd.isna(reason)
        reason[hit] = why

    def text(col: str) -> pd.Series:
        return out[col].astype(object).where(out[col].notna(), "").astype(str).str.strip().str.lower()

    has_market = "market" in out.columns
    market = text("market").to_numpy(dtype=object) if has_market else np.full(n, POINTS.key, dtype=object)
    known = np.array([m in _MARKET_BY_KEY for m in market], dtype=bool)
    reject(~known, "unknown_market")
    params = [_MARKET_BY_KEY.get(m, POINTS) for m in market]
    max_line = np.array([p.max_line for p in params], dtype=np.float64)
    min_tolerance = np.array([p.min_tolerance for p in params], dtype=np.float64)
    placeholder_check = np.array([p.placeholder_check for p in params], dtype=bool)
    is_points = market == POINTS.key

    if "line_source" in out.columns:
        reject((text("line_source") != ACTUAL_PROP.lower()).to_numpy(), "not_actual_prop")
    reject(text("sportsbook").isin(_UNKNOWN_BOOKS).to_numpy(), "no_sportsbook")
    basis = text("quote_basis")
    reject((~basis.isin(["quoted_at", "closing"])).to_numpy(), "bad_quote_basis")
    quoted, quoted_naive = _to_utc(out["quoted_at"])
    tipoff, tipoff_naive = _to_utc(out["tipoff_at"])
    reject(((basis == "quoted_at").to_numpy() & quoted.isna().to_numpy() & ~quoted_naive), "missing_quote_time")
    reject(quoted_naive | tipoff_naive, "naive_timestamp")
    both = (quoted.notna() & tipoff.notna()).to_numpy()
    after = np.zeros(n, dtype=bool)
    after[both] = (quoted[both] >= tipoff[both]).to_numpy()
    reject(after, "quoted_after_tipoff")

    line = pd.to_numeric(out["line"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        reject(~(np.isfinite(line) & (line > 0) & (line <= max_line)), "bad_line_value")
        avg = np.full(n, np.nan)
        for col, rows in (("points_avg_season", is_points), ("points_avg_last_10", is_points),
                          ("stat_avg_season", np.ones(n, dtype=bool)), ("stat_avg_last_10", np.ones(n, dtype=bool))):
            if col in out.columns:  # later wins when present: L10 over season, the stat's own over points
                values = pd.to_numeric(out[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
                avg = np.where(rows & np.isfinite(values), values, avg)
        tolerance = np.maximum(min_tolerance, 1.5 * avg)
        reject(np.isfinite(avg) & (np.abs(line - avg) > tolerance), "implausible_for_player")
        over = pd.to_numeric(out["over_price"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        under = pd.to_numeric(out["under_price"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        reject(~(is_valid_american(over) & is_valid_american(under)), "bad_price")

    candidate = np.asarray(pd.isna(reason), dtype=bool) & placeholder_check
    slate_keys = ["game_date"] if "game_date" in out.columns else []
    if has_market:
        slate_keys.append("market")
    flagged = _placeholder_rows(out, line, candidate, slate_keys)
    flagged |= _placeholder_rows(out, line, candidate, [*slate_keys, "sportsbook"])
    reject(flagged, "placeholder_pattern")

    out["is_valid"] = pd.isna(reason)
    out["reject_reason"] = pd.Series(reason, index=out.index, dtype=object)
    return out


# ------------------------------------------------------------------------------- cross-book sanity
#: |P(over) - median of the other books' P(over) moved to the quote's line| above which a quote is
#: ``cross_book_prob``. Chosen on the shared data (``bench/line_disagreement.py``, docs/market.md):
#: honest books at the same line never disagree by more than 0.067 (99.9th percentile 0.051 over
#: 33,993 closing quotes), so 0.07 is the smallest round value above every honest same-line gap. A
#: swapped -125/-105 quote is 0.08 off (and would "offer" +5% EV), -200/+160 0.28.
CROSS_BOOK_PROB = 0.07
#: |line - median of the other books' lines| (points) above which a quote is ``cross_book_line``
#: (shared data: 2.0 at the 99.9th percentile; > 2.5 quarantines 14 of 36,958 closing quotes).
CROSS_BOOK_LINE = 2.5
#: A quote made more than this long before the other books' median quote time is ``stale_quote``
#: (one fetch of every book spans minutes: the 99.5th percentile lag is 4 minutes; fetches are hours
#: apart, and 63 closing quotes sit a day or more behind the others: books that stopped quoting).
STALE_AFTER = pd.Timedelta(hours=2)
#: Other books needed before a quote can be judged against them (with one other, who is wrong?).
MIN_OTHER_BOOKS = 2
CROSS_BOOK_REASONS: tuple[str, ...] = ("stale_quote", "cross_book_line", "cross_book_prob")


def cross_book_check(quotes: pd.DataFrame, *, slope: float = float("nan"),
                     prob_threshold: float = CROSS_BOOK_PROB, line_threshold: float = CROSS_BOOK_LINE,
                     stale_after: pd.Timedelta = STALE_AFTER) -> pd.DataFrame:
    """Judge each book's quote against the other books' quotes of the same player-game.

    Per quote, with "the others" the other books' quotes of the same ``(game_date, player_id)``:

    1. ``stale_quote``: ``quoted_at`` more than ``stale_after`` before the median quote time of the
       others (needs :data:`MIN_OTHER_BOOKS` other timed quotes; the median, so one book quoting late
       cannot make all the others stale).
    2. ``cross_book_line``: ``|line - median(other lines)| > line_threshold`` (needs
       :data:`MIN_OTHER_BOOKS` others).
    3. ``cross_book_prob``: ``|fair_p_over - median(others' fair P(over) moved to this line)| >
       prob_threshold``; others are moved by ``slope`` (:func:`nbaprops.odds.shift_p_over`); without a
       slope only others at the same line count (needs :data:`MIN_OTHER_BOOKS` of them). Stale
       quotes are left out of the others.

    Args:
        quotes: one row per book with ``game_date, player_id, sportsbook, line, fair_p_over, quoted_at``.
        slope: P(over) per point for moving between lines (NaN: same line only).
        prob_threshold, line_threshold, stale_after: the thresholds (defaults chosen on shared data).

    Returns:
        A copy with ``cross_book_reason`` (None = passes), and the diagnostics ``xb_lag_seconds``
        (behind the others' median quote time), ``xb_line_gap`` and ``xb_prob_gap`` (NaN when not judged).
    """
    out = quotes.copy()
    n = len(out)
    reason = np.full(n, None, dtype=object)
    lag = np.full(n, np.nan)
    line_gap = np.full(n, np.nan)
    prob_gap = np.full(n, np.nan)
    if n:
        quoted, _ = _to_utc(out["quoted_at"])
        t = np.asarray(quoted.to_numpy(dtype="datetime64[ns]").astype("int64"), dtype=np.float64)
        t[quoted.isna().to_numpy()] = np.nan
        line = pd.to_numeric(out["line"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        prob = pd.to_numeric(out["fair_p_over"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        for idx in out.groupby(["game_date", "player_id"], sort=False).indices.values():
            pos = np.asarray(idx)
            if pos.size < 2:
                continue
            tt, ll, pp = t[pos], line[pos], prob[pos]
            for k, i in enumerate(pos):
                others = (np.arange(pos.size) != k) & np.isfinite(tt)
                if np.isfinite(tt[k]) and others.sum() >= MIN_OTHER_BOOKS:
                    lag[i] = (float(np.median(tt[others])) - tt[k]) / 1e9
            fresh = ~(lag[pos] > stale_after.total_seconds())
            for k, i in enumerate(pos):
                others = (np.arange(pos.size) != k) & fresh & np.isfinite(ll)
                if others.sum() >= MIN_OTHER_BOOKS:
                    line_gap[i] = ll[k] - float(np.median(ll[others]))
                moved = np.asarray(shift_p_over(pp[others], ll[others], ll[k], slope), dtype=np.float64)
                moved = moved[np.isfinite(moved)]
                if moved.size >= MIN_OTHER_BOOKS and np.isfinite(pp[k]):
                    prob_gap[i] = pp[k] - float(np.median(moved))
        with np.errstate(invalid="ignore"):
            reason[lag > stale_after.total_seconds()] = "stale_quote"
            reason[pd.isna(reason) & (np.abs(line_gap) > line_threshold)] = "cross_book_line"
            reason[pd.isna(reason) & (np.abs(prob_gap) > prob_threshold)] = "cross_book_prob"
    out["cross_book_reason"] = pd.Series(reason, index=out.index, dtype=object)
    out["xb_lag_seconds"] = lag
    out["xb_line_gap"] = line_gap
    out["xb_prob_gap"] = prob_gap
    return out
