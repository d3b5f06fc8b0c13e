"""The per-market row layout (features.market_rows) on an empty warehouse: every market and feature
version gives the points columns in the points order, the stat-specific map names only real
columns, and a market that is not the registry's is refused. The values are tested on the shared
data (tests/integration/test_market_features_shared.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import duckdb
import pytest

from nbaprops.errors import NbapropsError
from nbaprops.features.definitions import CONTEXT_COLUMNS, FEATURE_VERSIONS, FEATURES_V2, MARKET_FEATURES
from nbaprops.features.market_rows import (
    POINTS_ONLY_FEATURES,
    ROW_META,
    STAT_CONTEXT,
    STAT_FEATURES,
    load_market_rows,
    market_rows_sql,
    stat_sql,
)
from nbaprops.features.reader import SLATE_META, load_rows, wide_features_sql
from nbaprops.markets import MARKETS, POINTS, Market, get_market
from nbaprops.warehouse import connect


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = connect(":memory:")
    yield c
    c.close()


def _columns(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    return list(con.execute(f"SELECT * FROM ({sql}) AS x LIMIT 0").df().columns)


def test_stat_features_name_points_columns_and_real_market_columns(con: duckdb.DuckDBPyConnection) -> None:
    assert set(STAT_FEATURES) <= set(FEATURES_V2) | set(CONTEXT_COLUMNS)
    assert {"opp_points_allowed_avg"} == STAT_CONTEXT
    # every line-derived feature is stat-specific (a market's line replaces the points line) or
    # computed for points only (NULL in another market's rows, checked below)
    assert set(STAT_FEATURES) | POINTS_ONLY_FEATURES >= MARKET_FEATURES
    assert not set(STAT_FEATURES) & POINTS_ONLY_FEATURES
    table = set(_columns(con, "SELECT * FROM market_feature_values"))
    computed = {"line_move"}
    for name, col in STAT_FEATURES.items():
        assert col in table or col in computed, name
        if col in table and col not in {"line", "opening_line", "has_line"}:
            assert f"{col}__src" in table, col


@pytest.mark.parametrize("version", sorted(FEATURE_VERSIONS))
@pytest.mark.parametrize("m", MARKETS, ids=[m.name for m in MARKETS])
def test_every_market_has_the_points_layout(con: duckdb.DuckDBPyConnection, m: Market, version: str) -> None:
    for meta, outcome in ((ROW_META, True), (SLATE_META, False)):
        want = _columns(con, wide_features_sql(version, meta=meta, line=True, outcome=outcome))
        got = _columns(con, market_rows_sql(m, version, meta=meta, line=True, outcome=outcome))
        assert got == [*want, "market"]


def test_load_market_rows_on_an_empty_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    day = dt.date(2024, 4, 10)
    points = load_rows(con, day, day)
    for m in MARKETS:
        rows = load_market_rows(con, m, day, day)
        assert rows.empty and list(rows.columns) == [*points.columns, "market"]


def test_stat_sql_is_the_settling_sum_over_the_summary_columns() -> None:
    assert stat_sql(POINTS) == "p.points"
    assert stat_sql(get_market("pra"), "g") == "g.points + g.reb + g.ast"
    assert stat_sql(get_market("threes")) == "p.fg3m"


def test_a_market_that_is_not_the_registrys_is_refused() -> None:
    fake = dataclasses.replace(get_market("rebounds"), columns=("reb", "ast"))
    with pytest.raises(NbapropsError):
        stat_sql(fake)
    with pytest.raises(NbapropsError):
        market_rows_sql(fake)
