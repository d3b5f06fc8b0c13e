"""Build the versioned feature store from ``feature_values`` (one row per player, date and version)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from nbaprops.features.definitions import (
    AVAILABILITY_FEATURES,
    CONTEXT_COLUMNS,
    FEATURE_VERSIONS,
    LINE_MOVEMENT_FEATURES,
    SERVED_FEATURE_VERSION,
)
from nbaprops.features.quality import quality_sql
from nbaprops.features.reader import feature_names, wide_features_sql
from nbaprops.warehouse.connection import transaction

__all__ = ["build_feature_store", "load_features"]


def _source_rows() -> str:
    """``feature_values`` with the availability features of ``player_availability`` and the
    line-movement features of ``line_movement`` beside it (one row per context row in each; a row a
    build has not reached reads as missing)."""
    cols = ", ".join([*(f"a.{n}, coalesce(a.{n}__src, 'missing') AS {n}__src" for n in AVAILABILITY_FEATURES),
                      *(f"m.{n}, coalesce(m.{n}__src, 'missing') AS {n}__src" for n in LINE_MOVEMENT_FEATURES)])
    return f"""(SELECT fv.*, {cols}
                FROM feature_values fv
                LEFT JOIN player_availability a ON a.game_date = fv.game_date AND a.player_id = fv.player_id
                LEFT JOIN line_movement m ON m.game_date = fv.game_date AND m.player_id = fv.player_id
                WHERE fv.game_date BETWEEN ? AND ?)"""


def build_feature_store(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date,
                        versions: tuple[str, ...] = tuple(FEATURE_VERSIONS)) -> int:
    """Replace the feature store rows of [date_from, date_to] for every version, atomically."""
    args = [date_from, date_to]
    with transaction(con) as tx:
        tx.execute("DELETE FROM feature_store WHERE game_date BETWEEN ? AND ?", args)
        for version in versions:
            names = list(FEATURE_VERSIONS[version])
            q = quality_sql(names, "v")
            # NULL stays NULL in the arrays: never a made-up default
            tx.execute(f"""INSERT INTO feature_store BY NAME
                SELECT v.game_date, v.game_id, v.player_id, ? AS feature_version,
                       v.team_abbr, v.opponent_abbr, v.is_home, v.is_expected, v.has_line, v.played,
                       {len(names)} AS feature_count, ? AS feature_names,
                       [{", ".join(f"CAST(v.{n} AS DOUBLE)" for n in names)}] AS features,
                       [{", ".join(f"v.{n}__src" for n in names)}] AS feature_sources,
                       {q["quality_score"]} AS quality_score, {q["quality_tier"]} AS quality_tier,
                       {q["required_missing"]} AS required_missing, now() AS built_at
                FROM {_source_rows()} AS v""", [version, names, date_from, date_to])
        row = tx.execute("SELECT count(*) FROM feature_store WHERE game_date BETWEEN ? AND ?", args).fetchone()
    return int(row[0]) if row else 0


def load_features(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date,
                  version: str = SERVED_FEATURE_VERSION, *, expected_only: bool = False,
                  sources: bool = False) -> pd.DataFrame:
    """Feature rows of a date range as a wide frame: meta columns, quality, the context columns,
    then one float column per feature (NaN where missing) and, when ``sources``, each feature's
    source as ``<feature>__src``."""
    where = "f.game_date BETWEEN ? AND ?" + (" AND f.is_expected" if expected_only else "")
    meta = ("game_date", "game_id", "player_id", "team_abbr", "opponent_abbr", "is_home", "is_expected",
            "has_line", "played", "quality_score", "quality_tier", "required_missing")
    names = feature_names(version)
    sql = wide_features_sql(version, where=where, meta=meta, sources=sources)
    df = con.execute(f"{sql}\n            ORDER BY f.game_date, f.game_id, f.player_id", [date_from, date_to]).df()
    order = [*meta, *CONTEXT_COLUMNS, *names, *([f"{n}__src" for n in names] if sources else [])]
    return df[order].astype(dict.fromkeys(names, "float64"))
