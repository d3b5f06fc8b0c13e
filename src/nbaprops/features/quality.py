"""Per-row feature quality: a 0-100 score from each feature's source, for any feature count."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nbaprops.features.definitions import OPTIONAL_FEATURES, SOURCE_WEIGHTS

__all__ = ["TIERS", "quality_scores", "quality_sql", "tier_of"]

TIERS: tuple[tuple[str, float], ...] = (("gold", 95.0), ("silver", 85.0), ("bronze", 70.0), ("poor", 50.0),
                                        ("critical", 0.0))


def tier_of(score: float) -> str:
    """Tier name for a quality score."""
    for name, floor in TIERS:
        if score >= floor:
            return name
    return "critical"


def quality_scores(sources: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Score rows from a frame of per-feature sources (columns = feature names).

    Score = mean source weight over the features, where an optional feature that is missing is left
    out of the mean (a player without a line is not a worse row). A required feature that is
    missing caps the score: 1-4 missing -> at most 69, 5 or more -> at most 49.

    Returns columns quality_score, quality_tier, required_missing, missing_features.
    """
    src = sources[list(names)].to_numpy(dtype=object)
    weights = np.vectorize(lambda s: SOURCE_WEIGHTS.get(str(s), 0.0), otypes=[float])(src)
    missing = src == "missing"
    optional = np.array([n in OPTIONAL_FEATURES for n in names])
    counted = ~(missing & optional[None, :])
    n_counted = counted.sum(axis=1)
    score = np.where(n_counted > 0, (weights * counted).sum(axis=1) / np.maximum(n_counted, 1), 0.0)
    required_missing = (missing & ~optional[None, :]).sum(axis=1)
    score = np.where(required_missing >= 5, np.minimum(score, 49.0),
                     np.where(required_missing >= 1, np.minimum(score, 69.0), score))
    # half away from zero, as SQL round() does (np.round rounds half to even: 12.125 -> 12.12, SQL 12.13)
    score = np.floor(score * 100.0 + 0.5) / 100.0
    return pd.DataFrame({
        "quality_score": score,
        "quality_tier": [tier_of(s) for s in score],
        "required_missing": required_missing.astype(int),
        "missing_features": missing.sum(axis=1).astype(int),
    }, index=sources.index)


def quality_sql(names: Sequence[str], src: str = "v") -> dict[str, str]:
    """The same score as :func:`quality_scores`, as SQL expressions over ``<src>.<name>__src``
    columns (set-based, for the warehouse build). Keys: quality_score, quality_tier, required_missing."""
    def weight(n: str) -> str:
        cases = " ".join(f"WHEN '{k}' THEN {w}" for k, w in SOURCE_WEIGHTS.items())
        return f"(CASE {src}.{n}__src {cases} ELSE 0.0 END)"

    def miss(n: str) -> str:
        return f"(CASE WHEN {src}.{n}__src = 'missing' THEN 1 ELSE 0 END)"

    counted = [f"(CASE WHEN {src}.{n}__src = 'missing' THEN 0 ELSE 1 END)" if n in OPTIONAL_FEATURES else "1"
               for n in names]
    num = " + ".join(
        f"{weight(n)} * (CASE WHEN {src}.{n}__src = 'missing' THEN 0 ELSE 1 END)" if n in OPTIONAL_FEATURES
        else weight(n) for n in names)
    den = " + ".join(counted)
    req = " + ".join(miss(n) for n in names if n not in OPTIONAL_FEATURES) or "0"
    raw = f"(({num}) / greatest({den}, 1))"
    score = (f"round(CASE WHEN ({req}) >= 5 THEN least({raw}, 49.0) WHEN ({req}) >= 1 THEN least({raw}, 69.0) "
             f"ELSE {raw} END, 2)")
    tier = "CASE " + " ".join(f"WHEN {score} >= {floor} THEN '{name}'" for name, floor in TIERS) + " ELSE 'critical' END"
    return {"quality_score": score, "quality_tier": tier, "required_missing": f"CAST({req} AS INTEGER)"}
