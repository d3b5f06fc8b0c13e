"""Build the versioned feature store from ``feature_values`` (one row per player, date and version)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from nbaprops.precompute.feature_defs import CONTEXT_COLUMNS, FEATURE_VERSIONS
from nbaprops.precompute.quality import quality_scores

__all__ = ["build_feature_store", "load_features"]


_META = ["game_date", "game_id", "player_id", "team_abbr", "opponent_abbr", "is_home", "is_expected",
         "has_line", "played"]


def build_feature_store(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date,
                        versions: tuple[str, ...] = tuple(FEATURE_VERSIONS)) -> int:
    """Replace the feature store rows of [date_from, date_to] for every version, atomically."""
    fv = con.execute("SELECT * FROM feature_values WHERE game_date BETWEEN ? AND ?", [date_from, date_to]).df()
    frames = []
    for version in versions:
        names = list(FEATURE_VERSIONS[version])
        values = fv[names].astype("float64")
        sources = fv[[f"{n}__src" for n in names]].set_axis(names, axis=1)
        q = quality_scores(sources, names)
        out = fv[_META].copy()
        out["feature_version"] = version
        out["feature_count"] = len(names)
        out["feature_names"] = [names] * len(fv)
        # NULL stays NULL: never a made-up default
        out["features"] = [[None if pd.isna(v) else float(v) for v in row] for row in values.to_numpy()]
        out["feature_sources"] = sources.to_numpy().tolist()
        out = pd.concat([out, q[["quality_score", "quality_tier", "required_missing"]]], axis=1)
        frames.append(out)
    allv = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM feature_store WHERE game_date BETWEEN ? AND ?", [date_from, date_to])
        if len(allv):
            con.register("_fs_in", allv)
            con.execute("INSERT INTO feature_store BY NAME SELECT *, now() AS built_at FROM _fs_in")
            con.unregister("_fs_in")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return len(allv)


def load_features(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date,
                  version: str = "v2_33features", *, expected_only: bool = False) -> pd.DataFrame:
    """Feature rows of a date range as a wide frame: meta columns, one column per feature
    (NaN where missing), the context columns, and quality."""
    names = list(FEATURE_VERSIONS[version])
    ctx = ", ".join(f"v.{c}" for c in CONTEXT_COLUMNS)
    where = "AND f.is_expected" if expected_only else ""
    df = con.execute(f"""
        SELECT f.game_date, f.game_id, f.player_id, f.team_abbr, f.opponent_abbr, f.is_home, f.is_expected,
               f.has_line, f.played, f.features, f.quality_score, f.quality_tier, f.required_missing, {ctx}
        FROM feature_store f
        JOIN feature_values v ON v.game_date = f.game_date AND v.player_id = f.player_id
        WHERE f.feature_version = ? AND f.game_date BETWEEN ? AND ? {where}
        ORDER BY f.game_date, f.game_id, f.player_id""", [version, date_from, date_to]).df()
    mat = pd.DataFrame(df.pop("features").tolist(), columns=names, index=df.index, dtype="float64")
    return pd.concat([df, mat], axis=1)
