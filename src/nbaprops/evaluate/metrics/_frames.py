"""Frame helpers shared by the metric modules (private to :mod:`nbaprops.evaluate.metrics`)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_BY", "MARKET_COLUMN", "as_bool", "as_float", "date_resamples", "frame", "groups", "market_by",
           "nanmean", "slate_dates", "valid_line"]

#: Metrics are reported per system unless told otherwise.
DEFAULT_BY: tuple[str, ...] = ("system_id",)
#: The graded frames' market column (the registry's stored key, ``player_points`` for points).
MARKET_COLUMN = "market"


def market_by(graded: pd.DataFrame, by: Sequence[str] = DEFAULT_BY) -> tuple[str, ...]:
    """``by`` with ``market`` in front when ``graded`` holds more than one market (every metric is
    then per market and system); ``by`` unchanged otherwise, so a points-only frame reports exactly
    as before."""
    keys = tuple(by)
    if MARKET_COLUMN in keys or MARKET_COLUMN not in graded.columns:
        return keys
    if graded[MARKET_COLUMN].nunique(dropna=False) > 1:
        return (MARKET_COLUMN, *keys)
    return keys


def as_float(values: Any) -> np.ndarray:
    """Float array with every missing marker (None, NA, NaT-free numerics) as NaN."""
    s = pd.Series(values)
    if s.dtype == "boolean" or s.dtype == bool:
        s = s.astype("Float64")
    return pd.to_numeric(s, errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def as_bool(values: Any) -> np.ndarray:
    """Bool array; missing values are False."""
    return np.asarray(pd.Series(values).astype("boolean").fillna(False), dtype=bool)


def nanmean(x: np.ndarray) -> float:
    """Mean of an array, NaN when it is empty."""
    return float(np.mean(x)) if x.size else math.nan


def groups(df: pd.DataFrame, by: Sequence[str]) -> Iterator[tuple[dict[str, Any], pd.DataFrame]]:
    """``(key dict, sub-frame)`` per group of ``by`` (one group, ``{}``, when ``by`` is empty)."""
    keys = list(by)
    if not keys:
        yield {}, df
        return
    for key, sub in df.groupby(keys, sort=True, dropna=False):
        values = key if isinstance(key, tuple) else (key,)
        yield dict(zip(keys, values, strict=True)), sub


def frame(rows: list[dict[str, Any]], by: Sequence[str]) -> pd.DataFrame:
    """A frame of metric rows (the ``by`` columns only when there are none)."""
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=list(by))
    return df


def valid_line(df: pd.DataFrame) -> np.ndarray:
    """Rows with a real, validated book line (``has_valid_line`` of the grader when present)."""
    if "has_valid_line" in df.columns:
        return as_bool(df["has_valid_line"])
    return as_bool(df["line_valid"]) & ~np.isnan(as_float(df["line"]))


def slate_dates(df: pd.DataFrame) -> np.ndarray:
    """The slate date of each row (normalised timestamps)."""
    return np.asarray(pd.to_datetime(df["game_date"]).dt.normalize().to_numpy())


def date_resamples(k: int, n_boot: int, seed: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """The slate-date resamples of a clustered bootstrap, in blocks: ``(start, stop, idx)`` where
    ``idx[i]`` lists the ``k`` date indices (drawn with replacement) of replicate ``start + i``.

    One seeded generator, so every metric resampled with the same seed and dates draws the same
    replicates; blocks bound memory at ~16 MB whatever ``k``.
    """
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // max(k, 1))
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        yield start, stop, rng.integers(0, k, size=(stop - start, k))
