"""Every analytics / precompute phase's SQL, transpiled by sqlglot to Spark SQL
(``nbaprops.warehouse.transpile.phase_sql``), gives on Spark (pyspark, local mode) the rows DuckDB
gives for 2024-03-01 .. 2024-04-15: the same keys, every other value equal (numbers within 1e-9
relative). Each phase reads the same input tables on both engines (the warehouse's, exported to
Parquet and loaded into Spark). Spark is started and stopped by this module."""

from __future__ import annotations

import datetime as dt
import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nbaprops.config import load_settings
from nbaprops.pipeline.builds import FAR_FUTURE, set_book_priority
from nbaprops.warehouse import connect, read_sql
from nbaprops.warehouse.connection import DERIVED_TABLES
from nbaprops.warehouse.transpile import PHASE_TABLES, phase_inputs, phase_sql

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
# CI installs the extra: there a missing pyspark fails instead of skipping
pyspark_sql = importlib.import_module("pyspark.sql") if os.environ.get("CI") else \
    pytest.importorskip("pyspark.sql")

LO, HI = dt.date(2024, 3, 1), dt.date(2024, 4, 15)
RTOL = 1e-9


def _params(settings: Any) -> dict[str, Any]:
    return {"date_from": LO, "date_to": HI, "rotation_min_minutes": settings.rotation_min_minutes,
            "as_of": FAR_FUTURE}


#: the grain of each phase table (one row per key; checked on both engines)
KEYS: dict[str, list[str]] = {
    "player_game_summary": ["game_id", "player_id"],
    "team_game_summary": ["game_id", "team_abbr"],
    "upcoming_player_game_context": ["game_id", "player_id"],
    "team_defense": ["analysis_date", "team_abbr"],
    "player_scoring_profile": ["analysis_date", "player_id"],
    "player_daily_cache": ["cache_date", "player_id"],
    "composite_factors": ["game_date", "player_id"],
    "player_availability": ["game_id", "player_id"],
    "line_movement": ["game_id", "player_id"],
    "feature_values": ["game_id", "player_id"],
    "market_feature_values": ["game_id", "player_id", "market"],
}


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[c] = pd.to_datetime(s).dt.tz_localize(None) if getattr(s.dt, "tz", None) else pd.to_datetime(s)
        elif s.dtype == object and s.dropna().map(lambda v: isinstance(v, dt.date | dt.datetime)).all() \
                and s.notna().any():
            out[c] = pd.to_datetime(s)
        elif s.dtype == object and s.dropna().map(lambda v: type(v).__name__ == "Decimal").all() and s.notna().any():
            out[c] = s.astype("float64")
    return out


def compare(duck: pd.DataFrame, spark: pd.DataFrame, keys: list[str], table: str) -> None:
    """Same key set; every other column equal (floats within RTOL relative)."""
    duck, spark = _normalise(duck), _normalise(spark)
    assert sorted(duck.columns) == sorted(spark.columns), f"{table}: columns differ"
    assert not duck.duplicated(keys).any() and not spark.duplicated(keys).any(), f"{table}: duplicate keys"
    m = duck.merge(spark, on=keys, how="outer", suffixes=("_duck", "_spark"), indicator=True)
    only = m[m["_merge"] != "both"]
    assert only.empty, f"{table}: {len(only)} keys on one engine only, e.g. {only[keys + ['_merge']].head(3).to_dict('records')}"
    assert len(m) == len(duck) > 0
    for c in duck.columns:
        if c in keys:
            continue
        a, b = m[f"{c}_duck"], m[f"{c}_spark"]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(a):
            x, y = a.to_numpy(dtype="float64"), b.to_numpy(dtype="float64")
            same = np.isclose(x, y, rtol=RTOL, atol=1e-12) | (np.isnan(x) & np.isnan(y))
        else:
            same = (a.astype(object).where(a.notna(), None).to_numpy() == b.astype(object).where(b.notna(), None)
                    .to_numpy()) | (a.isna().to_numpy() & b.isna().to_numpy())
        if not same.all():
            bad = m.loc[~same, [*keys, f"{c}_duck", f"{c}_spark"]]
            raise AssertionError(f"{table}.{c}: {len(bad)} rows differ, e.g.\n{bad.head(5).to_string()}")


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = (pyspark_sql.SparkSession.builder.master("local[2]").appName("nbaprops-phase-sql")
               .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "4").config("spark.driver.memory", "2g")
               .config("spark.sql.ansi.enabled", "false")
               .getOrCreate())
    try:
        yield session
    finally:
        session.stop()


def run_all(db: Path, spark: Any, work: Path, tables: tuple[str, ...] = PHASE_TABLES) -> dict[str, int]:
    """Load the inputs into Spark, run every phase's transpiled SQL there and on DuckDB, compare."""
    settings = load_settings(db=db)
    con = connect(db)
    rows: dict[str, int] = {}
    try:
        set_book_priority(con, settings.book_priority)
        loaded: set[str] = set()
        params = _params(settings)
        for table in tables:
            for src in phase_inputs(table):
                if src in loaded:
                    continue
                path = work / f"{src}.parquet"
                con.execute(f"COPY (SELECT * FROM {src}) TO '{path}' (FORMAT parquet)")
                spark.read.parquet(str(path)).createOrReplaceTempView(src)
                loaded.add(src)
            body = read_sql(DERIVED_TABLES[table][0])
            duck = con.execute(f"SELECT * FROM ({body}) AS q",
                               {k: v for k, v in params.items() if f"${k}" in body}).df()
            got = spark.sql(phase_sql(table, "spark", params)).toPandas()
            compare(duck, got, KEYS[table], table)
            rows[table] = len(duck)
    finally:
        con.close()
    return rows


def test_every_phase_sql_gives_the_same_rows_on_spark_and_duckdb(warehouse: Path, spark: Any, tmp_path: Path) -> None:
    rows = run_all(warehouse, spark, tmp_path)
    assert set(rows) == set(PHASE_TABLES) and all(n > 0 for n in rows.values())
