"""The scale-out pieces without data: the phase SQL transpiled for Spark / BigQuery, the serial
executor, the retrain blocks of the backtest."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlglot

from nbaprops.errors import NbapropsError
from nbaprops.evaluate.backtest import _blocks
from nbaprops.executors import SerialExecutor, make_executor
from nbaprops.predict.queues import ExecutorQueue
from nbaprops.warehouse.transpile import PHASE_TABLES, phase_inputs, phase_sql

P = {"date_from": dt.date(2024, 3, 1), "date_to": dt.date(2024, 4, 15)}


@pytest.mark.parametrize("dialect", ["spark", "bigquery", "duckdb"])
@pytest.mark.parametrize("table", PHASE_TABLES)
def test_phase_sql_inlines_every_parameter_and_parses_back(table: str, dialect: str) -> None:
    sql = phase_sql(table, dialect, P)
    assert "2024-03-01" in sql and "2024-04-15" in sql
    tree = sqlglot.parse_one(sql, read=dialect)
    assert not list(tree.find_all(sqlglot.exp.Parameter, sqlglot.exp.Placeholder))


@pytest.mark.parametrize("table", PHASE_TABLES)
def test_spark_sql_has_no_window_name_with_a_frame_and_no_bare_decimal_literal(table: str) -> None:
    sql = phase_sql(table, "spark", P)
    assert not re.search(r"OVER \(\w+ ROWS", sql)
    tree = sqlglot.parse_one(sql, read="spark")
    for lit in tree.find_all(sqlglot.exp.Literal):
        if not lit.is_string and "." in lit.this:
            assert isinstance(lit.parent, sqlglot.exp.Cast) and lit.parent.to.is_type("double"), lit.parent.sql()


def test_named_windows_keep_their_partition_and_order_on_spark() -> None:
    sql = phase_sql("player_daily_cache", "spark", P)
    assert "AVG(points) OVER (PARTITION BY player_id ORDER BY game_date" in sql
    assert "OVER (w ROWS" in phase_sql("player_daily_cache", "duckdb", P)   # DuckDB keeps the original


def test_phase_inputs_are_tables_not_ctes() -> None:
    assert phase_inputs("player_game_summary") == ["games", "player_boxscores"]
    assert "pg" not in phase_inputs("player_daily_cache")
    with pytest.raises(NbapropsError):
        phase_sql("games", "spark", P)
    with pytest.raises(NbapropsError, match="date_to"):
        phase_sql("player_game_summary", "spark", {"date_from": dt.date(2024, 3, 1)})


def test_blocks_start_every_n_days_of_game_dates() -> None:
    d = [dt.date(2024, 4, x) for x in (1, 2, 3, 5, 6, 8, 9)]
    assert _blocks(d, 4) == [d[:3], d[3:6], d[6:]]
    assert _blocks(d, 1) == [[x] for x in d]
    assert _blocks([], 7) == []


def test_serial_executor_runs_in_order_and_make_executor_refuses_unknown_names() -> None:
    ex = make_executor("serial")
    assert isinstance(ex, SerialExecutor) and ex.put(3) == 3
    handles = [ex.submit(pow, 2, k) for k in range(4)]
    assert list(ex.as_completed(handles)) == [(0, 1), (1, 2), (2, 4), (3, 8)]
    with pytest.raises(NbapropsError, match="unknown executor"):
        make_executor("dask")


def test_executor_queue_gives_every_unit_result_once() -> None:
    closed: list[bool] = []

    class Recording(SerialExecutor):
        def close(self) -> None:
            closed.append(True)

    q = ExecutorQueue(Recording(), owns=True)
    for u in range(3):
        q.submit(lambda x: x * 10, u)
    assert sorted(q.results()) == [0, 10, 20]
    assert list(q.results()) == []          # results are handed out once
    q.close()
    assert closed == [True]
    shared = ExecutorQueue(Recording())
    shared.close()
    assert closed == [True]                 # an executor passed in is not closed by the queue
