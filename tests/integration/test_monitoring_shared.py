"""Monitoring views and remediation on the real shared data.

One module fixture: a private copy of the session warehouse, then through the CLI
``train --until 2024-04-10 --since 2023-10-24`` (the slate's season only, to keep the test short),
``predict --date 2024-04-10`` and ``grade --date 2024-04-10``. Tests that change data work on a
further copy of that file. Proofs:

- every monitoring view exists and returns rows; ``nbaprops views --json`` reports the same counts;
- ``placeholder_alerts`` is empty on real data (which has real 20.0 lines) and fires on a synthetic
  constant-20.0 book slate and on a stored slate rewritten to 20.0, which ``remediate`` then archives
  so nothing is graded against it;
- ``performance_valid_lines_only`` and ``system_daily_performance`` equal the same figures computed
  independently in pandas, with hit rate = wins / (wins + losses) (pushes and voids excluded);
- the one betting definition: the report's ``betting_metrics`` / ``summarize``, the dashboard's
  ``load_performance`` and both views give the same bets, hit rate and ROI (to 1e-9) on the graded slate;
- ``remediate`` archives exactly the injected invalid rows with the gate's reason in one transaction
  (a failure half-way changes nothing), and ``restore`` brings them back identical and re-graded.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from click.testing import Result

from nbaprops.evaluate.grade import load_graded
from nbaprops.evaluate.metrics import betting_metrics, summarize
from nbaprops.ops.remediate import KEY_COLUMNS, archive_invalid
from nbaprops.ops.views import MONITORING_VIEWS
from nbaprops.queries.dashboard import load_performance

pytestmark = pytest.mark.integration

@pytest.fixture(scope="module", autouse=True)
def _open_thresholds(opened_thresholds: None) -> None:
    """Bets must exist for the invariants below to mean anything (see conftest.open_thresholds)."""


DAY = dt.date(2024, 4, 10)
KEY = list(KEY_COLUMNS)
RunCli = Callable[[list[str]], Result]
CliJson = Callable[[list[str]], Any]


def _copy_db(src: Path, dst_dir: Path) -> Path:
    """A file copy of a warehouse (checkpointed first so the main file holds everything)."""
    con = duckdb.connect(str(src))
    try:
        con.execute("CHECKPOINT")
    finally:
        con.close()
    dst_dir.mkdir(parents=True, exist_ok=True)
    dst = dst_dir / src.name
    shutil.copyfile(src, dst)
    wal = src.with_name(src.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, dst.with_name(dst.name + ".wal"))
    return dst


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    rows = con.execute(sql, params or []).fetchall()  # fetchall: DuckDB refuses work on a half-read result
    assert len(rows) == 1
    return rows[0][0]


@pytest.fixture(scope="module")
def graded_db(warehouse_copy: Path, run_nbaprops: RunCli) -> Path:
    """The module's warehouse copy with a trained model set, the 2024-04-10 slate predicted and graded."""
    db = str(warehouse_copy)
    run_nbaprops(["--db", db, "train", "--until", str(DAY), "--since", "2023-10-24", "--json"])
    run_nbaprops(["--db", db, "predict", "--date", str(DAY), "--json"])
    run_nbaprops(["--db", db, "grade", "--date", str(DAY), "--json"])
    return warehouse_copy


@pytest.fixture
def scratch_db(graded_db: Path, tmp_path: Path) -> Path:
    """A private copy of the graded warehouse for one test that changes data."""
    return _copy_db(graded_db, tmp_path / "scratch")


@pytest.fixture
def con(graded_db: Path, db_connect: Callable[[Path], duckdb.DuckDBPyConnection]) -> duckdb.DuckDBPyConnection:
    return db_connect(graded_db)


# ------------------------------------------------------------------------------------ the views
def test_every_view_exists_and_returns_rows(con: duckdb.DuckDBPyConnection, graded_db: Path,
                                            nbaprops_json: CliJson) -> None:
    counts = {v: _one(con, f"SELECT count(*) FROM {v}") for v in MONITORING_VIEWS}
    assert counts["placeholder_alerts"] == 0
    assert all(n > 0 for v, n in counts.items() if v != "placeholder_alerts"), counts
    report = nbaprops_json(["--db", str(graded_db), "views", "--json"])
    assert report == {"views": counts, "placeholder_alerts": []}

    lq = con.execute("SELECT * FROM line_quality_daily").df()
    for c in ("share_player_resolved", "share_in_game", "modal_line_share"):
        assert lq[c].dropna().between(0, 1).all(), c
    assert lq["snapshots"].sum() == _one(con, "SELECT count(*) FROM prop_line_snapshots WHERE market = 'player_points'")
    assert not lq.duplicated(["game_date", "source", "sportsbook"]).any()

    dq = con.execute("SELECT * FROM data_quality_summary").df()
    assert dq["feature_rows"].sum() == _one(con, "SELECT count(*) FROM feature_store")
    tiers = dq[["tier_gold", "tier_silver", "tier_bronze", "tier_poor", "tier_critical"]].sum(axis=1)
    assert (tiers == dq["feature_rows"]).all()

    sd = con.execute("SELECT * FROM system_daily_performance WHERE game_date = ?", [DAY]).df()
    assert len(sd) == _one(con, "SELECT count(DISTINCT system_id) FROM player_prop_predictions WHERE game_date = ?", [DAY]) >= 5
    assert sd["predictions"].sum() == _one(con, "SELECT count(*) FROM player_prop_predictions WHERE game_date = ?", [DAY])


def _graded_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Grades and predictions fetched separately and joined in pandas on the prediction key."""
    grades = con.execute("SELECT * FROM prediction_grades").df()
    preds = con.execute("SELECT game_id, player_id, system_id, line_key, line_source FROM player_prop_predictions").df()
    merged = grades.merge(preds, on=KEY, how="inner", validate="one_to_one")
    assert len(merged) == len(grades), "every grade belongs to a stored prediction"
    return merged


def test_performance_valid_lines_only_equals_pandas(con: duckdb.DuckDBPyConnection) -> None:
    g = _graded_frame(con)
    bets = g[g["is_bet"].astype(bool) & g["has_valid_line"].astype(bool) & (g["line_source"] == "ACTUAL_PROP")]
    assert len(bets) > 0
    view = con.execute("SELECT * FROM performance_valid_lines_only").df().set_index("system_id").sort_index()
    assert set(view.index) == set(bets["system_id"])
    for sid, b in bets.groupby("system_id"):
        wins, losses = int((b["result"] == "WIN").sum()), int((b["result"] == "LOSS").sum())
        pushes, voids = int((b["result"] == "PUSH").sum()), int((b["result"] == "VOID").sum())
        settled = b[b["result"].isin(["WIN", "LOSS", "PUSH"])]
        same = settled[settled["abs_error"].notna() & settled["line_abs_error"].notna()]
        row = view.loc[sid]
        assert (row["wins"], row["losses"], row["pushes"], row["voids"]) == (wins, losses, pushes, voids), sid
        assert row["bets"] == wins + losses + pushes
        assert row["hit_rate"] == pytest.approx(wins / (wins + losses), abs=1e-12)
        assert row["roi"] == pytest.approx(settled["profit_units"].sum() / len(settled), abs=1e-9)
        assert row["mae"] == pytest.approx(same["abs_error"].mean(), abs=1e-9)
        assert row["line_mae"] == pytest.approx(same["line_abs_error"].mean(), abs=1e-9)
    # the slate has players who did not play: voids exist and stay out of the hit rate's denominator
    assert view["voids"].sum() > 0


def test_system_daily_performance_excludes_pushes_and_voids_from_hit_rate(con: duckdb.DuckDBPyConnection) -> None:
    g = _graded_frame(con)
    valid = g["is_bet"].astype(bool) & g["has_valid_line"].astype(bool) & (g["line_source"] == "ACTUAL_PROP")
    view = con.execute("SELECT * FROM system_daily_performance WHERE game_date = ?", [DAY]).df()
    for r in view.to_dict("records"):
        mine = g[(g["system_id"] == r["system_id"]) & (pd.to_datetime(g["game_date"]).dt.date == DAY)]
        b = mine[valid.loc[mine.index]]
        wins, losses = int((b["result"] == "WIN").sum()), int((b["result"] == "LOSS").sum())
        assert (r["wins"], r["losses"], r["voids"]) == (wins, losses, int((b["result"] == "VOID").sum()))
        assert r["hit_rate"] == pytest.approx(wins / (wins + losses), abs=1e-12)
        assert r["graded"] == len(mine)
        not_void = mine[~mine["is_void"].astype(bool)]
        assert r["mae"] == pytest.approx(not_void["abs_error"].mean(), abs=1e-9)
    with_voids = view[view["voids"] > 0]
    assert len(with_voids) > 0
    naive = with_voids["wins"] / (with_voids["wins"] + with_voids["losses"] + with_voids["voids"])
    assert not np.allclose(with_voids["hit_rate"], naive)


# ------------------------------------------------------------------------------ one betting definition
def _same(a: Any, b: Any) -> bool:
    """Equal to 1e-9, or both undefined (None / NaN / NULL)."""
    undefined_a = a is None or (isinstance(a, float) and math.isnan(a))
    undefined_b = b is None or (isinstance(b, float) and math.isnan(b))
    if undefined_a or undefined_b:
        return undefined_a and undefined_b
    return abs(float(a) - float(b)) <= 1e-9


def test_report_dashboard_and_views_give_the_same_hit_rate_and_roi(con: duckdb.DuckDBPyConnection) -> None:
    """The graded predictions of the slate, through all four consumers of the one betting definition."""
    graded = load_graded(con, DAY, DAY)
    assert len(graded) == _one(con, "SELECT count(*) FROM prediction_grades WHERE game_date = ?", [DAY])
    # the report: betting_metrics directly, and the 'betting' block of metrics.json that report.md renders
    metrics = {r["system_id"]: r for r in betting_metrics(graded, n_boot=0).to_dict("records")}
    report = {r["system_id"]: r for r in summarize(graded, n_boot=0)["betting"]}
    # the dashboard's performance page, per system and per date (with the cumulative figures)
    perf = load_performance(con, date_from=DAY, date_to=DAY)
    dash = {r["system_id"]: r for r in perf.by_system}
    dash_day = {r["system_id"]: r for r in perf.by_date}
    # the SQL views (a system without a bet has no row in performance_valid_lines_only)
    view = {r["system_id"]: r for r in con.execute("SELECT * FROM performance_valid_lines_only").df()
            .to_dict("records")}
    daily = {r["system_id"]: r for r in con.execute("SELECT * FROM system_daily_performance WHERE game_date = ?",
                                                    [DAY]).df().to_dict("records")}

    systems = set(graded["system_id"])
    assert len(systems) >= 5 and set(metrics) == set(report) == set(dash) == set(dash_day) == set(daily) == systems
    assert set(view) <= systems
    # not a vacuous comparison: real bets, some won and some lost, and voids that must stay out
    assert sum(r["bets"] for r in metrics.values()) > 0
    assert any(r["wins"] > 0 and r["losses"] > 0 for r in metrics.values())
    assert sum(r["voids"] for r in metrics.values()) > 0
    for sid in sorted(systems):
        m = metrics[sid]
        counts = (m["bets"], m["wins"], m["losses"], m["pushes"], m["voids"])
        sources: dict[str, dict[str, Any]] = {"report": report[sid], "dashboard": dash[sid],
                                              "dashboard by date": dash_day[sid], "system_daily_performance": daily[sid]}
        if sid in view:
            sources["performance_valid_lines_only"] = view[sid]
        else:
            assert m["bets"] == 0 and m["voids"] == 0, sid
        for name, r in sources.items():
            assert (r["bets"], r["wins"], r["losses"], r["pushes"], r["voids"]) == counts, (sid, name)
            assert _same(r["hit_rate"], m["hit_rate"]), (sid, name, r["hit_rate"], m["hit_rate"])
            assert _same(r["roi"], m["roi"]), (sid, name, r["roi"], m["roi"])
        assert _same(dash_day[sid]["cum_hit_rate"], m["hit_rate"]) and _same(dash_day[sid]["cum_roi"], m["roi"])
        if m["wins"] + m["losses"]:
            assert m["hit_rate"] == pytest.approx(m["wins"] / (m["wins"] + m["losses"]), abs=1e-12)
        if m["bets"]:
            settled = graded[(graded["system_id"] == sid) & graded["result"].isin(["WIN", "LOSS", "PUSH"])]
            assert m["roi"] == pytest.approx(settled["profit_units"].sum() / m["bets"], abs=1e-9)


# ------------------------------------------------------------------------------ placeholder alerts
def test_placeholder_alerts_fire_on_a_constant_slate_but_not_on_real_20_lines(
        scratch_db: Path, db_connect: Callable[[Path], duckdb.DuckDBPyConnection], nbaprops_json: CliJson) -> None:
    con = db_connect(scratch_db)
    assert _one(con, "SELECT count(*) FROM placeholder_alerts") == 0
    players = con.execute("""SELECT DISTINCT s.player_lookup, s.player_id, s.game_id, s.tipoff_at
                             FROM prop_line_snapshots s WHERE s.game_date = ? AND s.market = 'player_points'
                               AND s.player_id IS NOT NULL AND s.tipoff_at IS NOT NULL
                             ORDER BY s.player_id LIMIT 12""", [DAY]).df()
    assert len(players) == 12

    def add_book(book: str, lines: list[float]) -> None:
        # a synthetic book quoting the 12 players two hours before tip
        con.register("_fake", players.assign(line=lines))
        con.execute("""INSERT INTO prop_line_snapshots (snapshot_id, source, game_id, game_date, sportsbook,
                           player_name, player_lookup, player_id, market, line, over_price, under_price, quoted_at,
                           tipoff_at, minutes_before_tipoff, quote_basis, loaded_at)
                       SELECT ? || player_lookup, 'odds_api', game_id, ?, ?, player_lookup, player_lookup, player_id,
                              'player_points', line, -110, -110, tipoff_at - INTERVAL 2 HOUR, tipoff_at, 120.0,
                              'quoted_at', now()
                       FROM _fake""", [f"{book}-", DAY, book])
        con.unregister("_fake")

    # real 20.0 quotes among distinct lines (the shared data has only half-point lines): no alert
    add_book("realbook", [20.0, 20.0, 20.0, 8.5, 11.5, 14.5, 17.5, 22.5, 24.5, 26.5, 5.5, 30.5])
    assert _one(con, "SELECT count(*) FROM placeholder_alerts") == 0
    # a constant 20.0 slate: flagged
    add_book("placeholderbook", [20.0] * 12)
    alerts = con.execute("SELECT * FROM placeholder_alerts").df()
    assert alerts[["alert", "sportsbook", "n_lines", "modal_line", "modal_share"]].to_dict("records") == [
        {"alert": "constant_line", "sportsbook": "placeholderbook", "n_lines": 12, "modal_line": 20.0,
         "modal_share": 1.0}]
    assert pd.Timestamp(alerts["game_date"].iloc[0]).date() == DAY
    lq = con.execute("SELECT * FROM line_quality_daily WHERE game_date = ? AND sportsbook = 'placeholderbook'",
                     [DAY]).df()
    assert lq[["snapshots", "distinct_lines", "modal_line_share"]].to_dict("records") == [
        {"snapshots": 12, "distinct_lines": 1, "modal_line_share": 1.0}]

    # stored predictions rewritten to a constant 20.0: flagged, and remediation archives them all,
    # so nothing is graded against a placeholder
    n_lines = _one(con, "SELECT count(*) FROM player_prop_predictions WHERE game_date = ? AND line_source = 'ACTUAL_PROP'",
                   [DAY])
    assert n_lines >= 60
    con.execute("UPDATE player_prop_predictions SET line = 20.0 WHERE game_date = ? AND line_source = 'ACTUAL_PROP'",
                [DAY])
    kinds = set(con.execute("SELECT alert FROM placeholder_alerts").df()["alert"])
    assert kinds == {"constant_line", "constant_prediction_line"}
    con.close()
    report = nbaprops_json(["--db", str(scratch_db), "views", "--json"])
    assert {a["alert"] for a in report["placeholder_alerts"]} == kinds
    out = nbaprops_json(["--db", str(scratch_db), "remediate", "--from", str(DAY), "--to", str(DAY), "--json"])
    assert out["archived"] == n_lines
    assert set(out["archive_by_reason"]) <= {"placeholder_pattern", "implausible_for_player"}
    assert out["archive_by_reason"].get("placeholder_pattern", 0) > n_lines / 2
    con = db_connect(scratch_db)
    assert _one(con, "SELECT count(*) FROM player_prop_predictions WHERE game_date = ? AND line_source = 'ACTUAL_PROP'",
                [DAY]) == 0
    assert _one(con, "SELECT count(*) FROM prediction_grades WHERE game_date = ? AND is_bet", [DAY]) == 0
    assert _one(con, "SELECT count(*) FROM performance_valid_lines_only") == 0
    assert set(con.execute("SELECT alert FROM placeholder_alerts").df()["alert"]) == {"constant_line"}
    con.close()


# ------------------------------------------------------------------------------------ remediation
def _row(con: duckdb.DuckDBPyConnection, table: str, key: dict[str, Any]) -> pd.DataFrame:
    where = " AND ".join(f"{c} = ?" for c in KEY)
    return con.execute(f"SELECT * FROM {table} WHERE {where}", [key[c] for c in KEY]).df()


class _FailingDelete:
    """A connection proxy whose DELETE from the predictions table fails (a crash half-way)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.lstrip().startswith("DELETE FROM player_prop_predictions"):
            raise RuntimeError("simulated failure")
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def test_remediate_archives_exactly_the_invalid_rows_and_restore_brings_them_back(
        scratch_db: Path, db_connect: Callable[[Path], duckdb.DuckDBPyConnection], nbaprops_json: CliJson,
        fingerprint: Callable[[duckdb.DuckDBPyConnection, str], tuple[int, int]]) -> None:
    con = db_connect(scratch_db)
    keys = con.execute("""SELECT p.game_id, p.player_id, p.system_id, p.line_key
                          FROM player_prop_predictions p JOIN prediction_grades g USING (game_id, player_id, system_id, line_key)
                          WHERE p.game_date = ? AND p.line IS NOT NULL AND p.line_quote_basis = 'quoted_at'
                            AND p.system_id = 'catboost'
                          ORDER BY p.player_id LIMIT 2""", [DAY]).df().to_dict("records")
    assert len(keys) == 2
    late, bookless = keys
    where = " AND ".join(f"{c} = ?" for c in KEY)
    # a quote stamped after tip-off (an in-game quote) and a row that lost its sportsbook
    con.execute(f"""UPDATE player_prop_predictions SET line_quoted_at =
                        (SELECT c.tipoff_at + INTERVAL 5 MINUTE FROM upcoming_player_game_context c
                         WHERE c.game_date = player_prop_predictions.game_date
                           AND c.player_id = player_prop_predictions.player_id)
                    WHERE {where}""", [late[c] for c in KEY])
    con.execute(f"UPDATE player_prop_predictions SET sportsbook = NULL WHERE {where}", [bookless[c] for c in KEY])
    injected = {k: _row(con, "player_prop_predictions", key) for k, key in (("late", late), ("bookless", bookless))}
    assert injected["late"]["line_quoted_at"].notna().all()
    grades_before = {k: _row(con, "prediction_grades", key) for k, key in (("late", late), ("bookless", bookless))}
    assert all(len(g) == 1 for g in grades_before.values())
    preds_fp = fingerprint(con, "player_prop_predictions")
    n_grades = _one(con, "SELECT count(*) FROM prediction_grades")

    # a failure half-way leaves every table as it was (one transaction)
    with pytest.raises(RuntimeError, match="simulated failure"):
        archive_invalid(_FailingDelete(con), DAY, DAY)  # type: ignore[arg-type]
    assert fingerprint(con, "player_prop_predictions") == preds_fp
    assert _one(con, "SELECT count(*) FROM prediction_grades") == n_grades
    assert _one(con, "SELECT count(*) FROM prediction_archive") == 0
    con.close()

    dry = nbaprops_json(["--db", str(scratch_db), "remediate", "--from", str(DAY), "--to", str(DAY), "--dry-run", "--json"])
    assert dry["would_archive"] == 2
    assert dry["by_reason"] == {"no_sportsbook": 1, "quoted_after_tipoff": 1}
    out = nbaprops_json(["--db", str(scratch_db), "remediate", "--from", str(DAY), "--to", str(DAY), "--json"])
    assert out["archived"] == 2
    assert out["archive_by_reason"] == {"no_sportsbook": 1, "quoted_after_tipoff": 1}

    con = db_connect(scratch_db)
    archive = con.execute("SELECT * FROM prediction_archive ORDER BY player_id").df()
    got = archive[[*KEY, "archive_reason"]].to_dict("records")
    want = [{**late, "archive_reason": "quoted_after_tipoff"}, {**bookless, "archive_reason": "no_sportsbook"}]
    assert sorted(got, key=lambda r: r["player_id"]) == sorted(want, key=lambda r: r["player_id"])
    for k, key in (("late", late), ("bookless", bookless)):
        assert _row(con, "player_prop_predictions", key).empty
        assert _row(con, "prediction_grades", key).empty
        archived = _row(con, "prediction_archive", key).drop(columns=["archived_at", "archive_reason"])
        pd.testing.assert_frame_equal(archived, injected[k])
    assert _one(con, "SELECT count(*) FROM player_prop_predictions") == preds_fp[0] - 2
    assert _one(con, "SELECT count(*) FROM prediction_grades") == n_grades - 2
    con.close()
    again = nbaprops_json(["--db", str(scratch_db), "remediate", "--from", str(DAY), "--to", str(DAY), "--json"])
    assert again["archived"] == 0

    # restore one reason, then the rest: rows come back identical and re-graded
    r1 = nbaprops_json(["--db", str(scratch_db), "restore", "--from", str(DAY), "--to", str(DAY),
                        "--reason", "quoted_after_tipoff", "--json"])
    assert (r1["restored"], r1["still_archived"]) == (1, {"no_sportsbook": 1})
    r2 = nbaprops_json(["--db", str(scratch_db), "restore", "--from", str(DAY), "--to", str(DAY), "--json"])
    assert (r2["restored"], r2["still_archived"]) == (1, {})
    con = db_connect(scratch_db)
    for k, key in (("late", late), ("bookless", bookless)):
        pd.testing.assert_frame_equal(_row(con, "player_prop_predictions", key), injected[k])
        regraded = _row(con, "prediction_grades", key)
        assert regraded[["result", "abs_error", "profit_units"]].equals(grades_before[k][["result", "abs_error", "profit_units"]])
    assert fingerprint(con, "player_prop_predictions") == preds_fp
    assert _one(con, "SELECT count(*) FROM prediction_grades") == n_grades
    assert _one(con, "SELECT count(*) FROM prediction_archive") == 0
    con.close()
