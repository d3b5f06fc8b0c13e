"""The data spine on the real shared data: one backfill (session fixture), then its proofs.

- every input row is accounted for (loaded + quarantined + reported), tables have the expected rows;
- book names resolve to player_id for >= 95% of points-line player-games per source, and every
  unresolved name is listed in ``unmatched_player_names``;
- the chosen line is sane: mean |points - line| 5.0-5.7 and over/under within 45-55% per source;
- ``status`` says every date is complete; ``features --json`` rows carry value + source per feature
  and a NULL value always has source 'missing';
- both feature versions sit side by side (v1 = first 25 of v2) and the Python and SQL quality
  scorers agree for any feature list;
- re-running the whole backfill changes nothing (row counts and a content checksum of every
  table) and no table has a duplicate key.

Run with ``-s`` to see the measured figures.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from nbaprops.features.definitions import FEATURE_VERSIONS, FEATURES_V1, FEATURES_V2, SOURCE_WEIGHTS
from nbaprops.features.quality import quality_scores, quality_sql
from nbaprops.ingest.sources.files import discover
from nbaprops.markets import MARKETS

pytestmark = pytest.mark.integration

FEATURES_DATE = "2024-04-10"          # a regular-season date inside the Odds API period
BOXSCORE_ROWS = 144_440               # data/README.md
OFFICIAL_LOG_ROWS = 26_051
ODDS_API_ROWS = 614_106
PLAYERS = 5_198
MIN_RESOLVED = 0.95

# natural key of every table the pipeline writes
KEYS: dict[str, tuple[str, ...]] = {
    "games": ("game_id",),
    "player_boxscores": ("game_id", "player_id"),
    "team_boxscores": ("game_id", "team_abbr"),
    "prop_line_snapshots": ("snapshot_id",),
    "prop_line_alternates": ("snapshot_id", "line"),
    "player_game_summary": ("game_id", "player_id"),
    "team_game_summary": ("game_id", "team_abbr"),
    "upcoming_player_game_context": ("game_date", "player_id"),
    "team_defense": ("analysis_date", "team_abbr"),
    "player_scoring_profile": ("analysis_date", "player_id"),
    "player_daily_cache": ("cache_date", "player_id"),
    "composite_factors": ("game_date", "player_id"),
    "player_availability": ("game_date", "player_id"),
    "line_movement": ("game_date", "player_id"),
    "feature_values": ("game_date", "player_id"),
    "feature_store": ("game_date", "player_id", "feature_version"),
    "market_feature_values": ("game_date", "player_id", "market"),
}
# phase_runs is an append-only log of runs: it is meant to grow on a re-run
NOT_CHECKSUMMED = {"phase_runs"}


@pytest.fixture(scope="module")
def con(warehouse: Path, db_connect: Callable[[Path], duckdb.DuckDBPyConnection]
        ) -> Iterator[duckdb.DuckDBPyConnection]:
    c = db_connect(warehouse)
    yield c
    c.close()


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    row = con.execute(sql, params or []).fetchone()
    assert row is not None
    return row[0] if len(row) == 1 else row


def _tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("""SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY 1""").fetchall()]


# ------------------------------------------------------------------------------ inputs and counts
def test_backfill_leaves_shared_data_untouched(warehouse: Path) -> None:
    before = json.loads((warehouse.parent / "shared_files_before.json").read_text())
    after = json.loads((warehouse.parent / "shared_files_after.json").read_text())
    assert before == after


def test_core_row_counts(con: duckdb.DuckDBPyConnection, backfill_report: dict[str, Any]) -> None:
    loaded = backfill_report["loaded"]
    assert loaded["player_boxscores"] == BOXSCORE_ROWS == _one(con, "SELECT count(*) FROM player_boxscores")
    assert loaded["official_game_log"] == OFFICIAL_LOG_ROWS == _one(con, "SELECT count(*) FROM official_player_game_logs")
    assert loaded["players"] == PLAYERS == _one(con, "SELECT count(*) FROM players")
    assert loaded["teams"] == 30 == _one(con, "SELECT count(*) FROM teams")
    # every team game log row is one game with two team box rows
    n_logs = loaded["team_game_logs"]
    assert _one(con, "SELECT count(*) FROM games WHERE source LIKE '%team_game_logs%'") == n_logs
    assert _one(con, "SELECT count(*) FROM team_boxscores") == 2 * n_logs
    # every box-score game is a game
    assert _one(con, "SELECT count(DISTINCT game_id) FROM player_boxscores WHERE game_id NOT IN (SELECT game_id FROM games)") == 0


def test_derived_row_counts(con: duckdb.DuckDBPyConnection, backfill_report: dict[str, Any]) -> None:
    lo, hi = backfill_report["date_from"], backfill_report["date_to"]
    phases = backfill_report["phases"]
    n = {t: _one(con, f"SELECT count(*) FROM {t}") for t in phases}
    assert n == phases, "report and tables disagree"
    assert n["player_game_summary"] == BOXSCORE_ROWS
    ctx = n["upcoming_player_game_context"]
    for t in ("player_scoring_profile", "player_daily_cache", "composite_factors", "player_availability",
              "line_movement", "feature_values"):
        assert n[t] == ctx, t
    assert n["feature_store"] == len(FEATURE_VERSIONS) * ctx
    assert n["market_feature_values"] == (len(MARKETS) - 1) * ctx   # every market but points
    # every player who played has a context row flagged played; every team that plays has a defense row
    assert _one(con, "SELECT count(*) FROM upcoming_player_game_context WHERE played") == BOXSCORE_ROWS
    assert n["team_defense"] == 2 * _one(con, "SELECT count(*) FROM games WHERE game_date BETWEEN ? AND ?", [lo, hi])
    assert n["team_game_summary"] == _one(con, "SELECT count(*) FROM team_boxscores WHERE game_date BETWEEN ? AND ?",
                                          [lo, hi])


def test_every_file_loaded_or_reported(con: duckdb.DuckDBPyConnection, shared_data: Path,
                                       backfill_report: dict[str, Any]) -> None:
    files = discover(con, shared_data)
    unknown = sorted((str(f.path), f.reason) for f in files if not f.kind)
    assert sorted((s["file"], s["reason"]) for s in backfill_report["skipped"]) == unknown
    quarantined = con.execute("""SELECT file, reason FROM quarantine_rows WHERE source = 'files'
                                 ORDER BY file""").fetchall()
    assert [f for f, _ in quarantined] == [f for f, _ in unknown]
    assert all(reason.startswith("file not loaded: ") for _, reason in quarantined)
    print(f"\nfiles: {len(files)} found, {len(unknown)} reported and not loaded: {unknown}")


def test_odds_api_rows_accounted_for(con: duckdb.DuckDBPyConnection, shared_data: Path,
                                     backfill_report: dict[str, Any]) -> None:
    """count in = sides in snapshots + sides in alternates + quarantined + duplicate rows."""
    odds = {k: v for k, v in backfill_report["lines"].items() if k.endswith(".parquet")}
    assert len(odds) == 1
    ((file, stats),) = odds.items()
    rows_in = _one(con, "SELECT count(*) FROM read_parquet(?)", [file])
    assert stats["rows"] == rows_in == ODDS_API_ROWS
    snap_sides = _one(con, """SELECT count(over_price) + count(under_price) FROM prop_line_snapshots
                              WHERE file = ?""", [file])
    alt_sides = _one(con, """SELECT count(a.over_price) + count(a.under_price) FROM prop_line_alternates a
                             JOIN prop_line_snapshots s USING (snapshot_id) WHERE s.file = ?""", [file])
    quarantined = _one(con, "SELECT count(*) FROM quarantine_rows WHERE file = ?", [file])
    assert quarantined == stats["quarantined"]
    assert stats["duplicate_snapshots"] == 0  # one file: no snapshot can already exist
    assert rows_in == snap_sides + alt_sides + quarantined + stats["duplicate_rows"]
    assert _one(con, "SELECT count(*) FROM prop_line_snapshots WHERE file = ?", [file]) == stats["snapshots"]
    # an alternate is never the main line again (a repeated row is a duplicate, not an alternate)
    assert _one(con, """SELECT count(*) FROM prop_line_alternates a JOIN prop_line_snapshots s USING (snapshot_id)
                        WHERE a.line = s.line""") == 0


def test_bettingpros_rows_accounted_for(con: duckdb.DuckDBPyConnection, shared_data: Path,
                                        backfill_report: dict[str, Any]) -> None:
    stats = backfill_report["lines"]["bettingpros"]
    files = [str(f.path) for f in discover(con, shared_data) if f.kind == "bettingpros"]
    rows_in = sum(_one(con, "SELECT count(*) FROM read_csv(?, header = true, all_varchar = true)", [f])
                  for f in files)
    assert stats["rows"] == rows_in
    snaps = _one(con, "SELECT count(*) FROM prop_line_snapshots WHERE source = 'bettingpros'")
    quarantined = _one(con, "SELECT count(*) FROM quarantine_rows WHERE source = 'bettingpros'")
    assert (snaps, quarantined) == (stats["snapshots"], stats["quarantined"])
    assert rows_in == snaps + quarantined + stats["duplicate_snapshots"]
    # every quarantined row says which field and why
    assert _one(con, """SELECT count(*) FROM quarantine_rows WHERE source <> 'files'
                        AND (field IS NULL OR reason IS NULL OR file_row IS NULL)""") == 0


def test_file_row_points_at_the_csv_line(con: duckdb.DuckDBPyConnection) -> None:
    """file_row of a BettingPros snapshot / quarantine row is the line number in its CSV."""
    import csv

    rows = con.execute("""SELECT file, file_row, player_name, line FROM prop_line_snapshots
                          WHERE source = 'bettingpros' ORDER BY hash(snapshot_id) LIMIT 200""").fetchall()
    cache: dict[str, list[list[str]]] = {}
    for file, file_row, player, line in rows:
        if file not in cache:
            with open(file, newline="", encoding="utf-8") as fh:
                cache[file] = list(csv.reader(fh))
        header = cache[file][0]
        rec = dict(zip(header, cache[file][file_row - 1], strict=True))
        assert (rec["player"], float(rec["line"])) == (player, line), (file, file_row)


# ------------------------------------------------------------------------------ identity and lines
def test_points_line_names_resolve(con: duckdb.DuckDBPyConnection) -> None:
    rates = con.execute("""
        SELECT source, count(*) AS player_games, count(*) FILTER (WHERE resolved) AS resolved
        FROM (SELECT source, game_date, player_name, bool_or(player_id IS NOT NULL) AS resolved
              FROM prop_line_snapshots WHERE market = 'player_points' GROUP BY ALL)
        GROUP BY source ORDER BY source""").fetchall()
    assert {r[0] for r in rates} == {"bettingpros", "odds_api"}
    for source, n, ok in rates:
        print(f"\n[{source}] points-line player-games {n:,}, resolved {ok:,} ({ok / n:.2%})")
        assert ok / n >= MIN_RESOLVED, f"{source}: only {ok / n:.2%} resolved"


def test_unmatched_names_are_listed(con: duckdb.DuckDBPyConnection) -> None:
    missing = con.execute("""
        SELECT source, game_date, player_name, count(*) FROM prop_line_snapshots WHERE player_id IS NULL
        GROUP BY ALL ORDER BY ALL""").fetchall()
    listed = con.execute("""SELECT source, game_date, player_name, n_rows FROM unmatched_player_names
                            ORDER BY ALL""").fetchall()
    assert missing == listed
    print(f"\nunmatched names: {len(listed)}")


def test_chosen_line_is_sane_per_source(con: duckdb.DuckDBPyConnection) -> None:
    """On rows where the player played: mean |points - chosen line| in 5.0-5.7, over share 45-55%."""
    figures = con.execute("""
        SELECT c.line_source_feed, count(*) AS n, avg(abs(b.pts - c.current_points_line)) AS mae,
               count(*) FILTER (WHERE b.pts > c.current_points_line) AS n_over,
               count(*) FILTER (WHERE b.pts < c.current_points_line) AS n_under,
               count(*) FILTER (WHERE b.pts = c.current_points_line) AS n_push
        FROM upcoming_player_game_context c
        JOIN player_boxscores b ON b.player_id = c.player_id AND b.game_date = c.game_date
        WHERE c.current_points_line IS NOT NULL
        GROUP BY 1 ORDER BY 1""").fetchall()
    voids = dict(con.execute("""SELECT line_source_feed, avg(CASE WHEN played THEN 0.0 ELSE 1.0 END)
        FROM upcoming_player_game_context WHERE current_points_line IS NOT NULL GROUP BY 1""").fetchall())
    assert {f[0] for f in figures} == {"bettingpros", "odds_api"}
    for source, n, mae, n_over, n_under, n_push in figures:
        over = n_over / (n_over + n_under)
        print(f"\n[{source}] {n:,} player-games with a chosen line and a box score: mean |PTS - line| "
              f"{mae:.3f}, over {over:.1%} / under {1 - over:.1%} ({n_push} pushes), "
              f"no box score (void) {voids[source]:.1%}")
        assert n >= 1000, source
        assert 5.0 <= mae <= 5.7, f"{source}: mean |PTS - line| {mae:.3f}"
        assert 0.45 <= over <= 0.55, f"{source}: over share {over:.1%}"


def test_void_flag_matches_box_scores(con: duckdb.DuckDBPyConnection) -> None:
    wrong = _one(con, """
        SELECT count(*) FROM prop_line_snapshots s
        WHERE s.player_id IS NOT NULL
          AND s.game_date IN (SELECT DISTINCT game_date FROM player_boxscores)
          AND s.is_void IS DISTINCT FROM NOT EXISTS (
              SELECT 1 FROM player_boxscores b WHERE b.player_id = s.player_id AND b.game_date = s.game_date)""")
    assert wrong == 0


# ------------------------------------------------------------------------------ status and features
def test_status_every_date_complete(warehouse: Path, con: duckdb.DuckDBPyConnection,
                                    backfill_report: dict[str, Any],
                                    nbaprops_json: Callable[[list[str]], Any]) -> None:
    rows = nbaprops_json(["--db", str(warehouse), "status", "--json"])
    lo, hi = backfill_report["date_from"], backfill_report["date_to"]
    n_dates = _one(con, "SELECT count(DISTINCT game_date) FROM games WHERE game_date BETWEEN ? AND ?", [lo, hi])
    assert len(rows) == n_dates > 1000
    incomplete = [r for r in rows if not r["complete"]]
    assert not incomplete, f"{len(incomplete)} incomplete dates, e.g. {incomplete[:3]}"
    one = nbaprops_json(["--db", str(warehouse), "status", "--date", FEATURES_DATE, "--json"])
    assert one["game_date"] == FEATURES_DATE and one["complete"] is True
    assert one["points_lines"] > 0 and one["feature_store"] == len(FEATURE_VERSIONS) * one["upcoming_context"]


def _check_feature_rows(rows: list[dict[str, Any]], names: tuple[str, ...]) -> None:
    assert rows
    for r in rows:
        assert r["game_date"] == FEATURES_DATE
        assert {"game_id", "player_id", "team_abbr", "opponent_abbr", "is_expected", "has_line", "played",
                "quality_score", "quality_tier", "features"} <= set(r)
        assert list(r["features"]) == list(names)
        for name, cell in r["features"].items():
            assert set(cell) == {"value", "source"}, name
            assert cell["source"] in SOURCE_WEIGHTS, (name, cell)
            if cell["source"] != "missing":  # missing cells: test_features_json_missing_value_is_null
                value = cell["value"]
                assert isinstance(value, int | float) and math.isfinite(value), (r["player_id"], name, cell)


def test_features_json_shape(warehouse: Path, con: duckdb.DuckDBPyConnection,
                             nbaprops_json: Callable[[list[str]], Any]) -> None:
    v2 = nbaprops_json(["--db", str(warehouse), "features", "--date", FEATURES_DATE, "--json"])
    _check_feature_rows(v2, FEATURES_V2)
    assert len(v2) == _one(con, """SELECT count(*) FROM feature_store
                                   WHERE game_date = ? AND feature_version = 'v2_33features'""", [FEATURES_DATE])
    assert any(r["has_line"] and r["features"]["vegas_points_line"]["source"] == "vegas" for r in v2)
    assert any(r["features"]["injury_risk"]["source"] == "missing" for r in v2)

    v1 = nbaprops_json(["--db", str(warehouse), "features", "--date", FEATURES_DATE,
                        "--version", "v1_baseline_25", "--json"])
    _check_feature_rows(v1, FEATURES_V1)
    by_player = {r["player_id"]: r["features"] for r in v2}
    for r in v1:
        assert r["features"] == {n: by_player[r["player_id"]][n] for n in FEATURES_V1}

    pid = v2[0]["player_id"]
    one = nbaprops_json(["--db", str(warehouse), "features", "--date", FEATURES_DATE, "--player", str(pid),
                         "--json"])
    assert [r["player_id"] for r in one] == [pid]


def test_features_json_missing_value_is_null(warehouse: Path, nbaprops_json: Callable[[list[str]], Any]) -> None:
    rows = nbaprops_json(["--db", str(warehouse), "features", "--date", FEATURES_DATE, "--json"])
    bad = [(r["player_id"], n, c) for r in rows for n, c in r["features"].items()
           if c["source"] == "missing" and c["value"] is not None]
    assert any(c["source"] == "missing" for r in rows for c in r["features"].values())
    assert not bad, f"{len(bad)} missing features with a value, e.g. {bad[:3]}"


def test_null_feature_means_missing_everywhere(con: duckdb.DuckDBPyConnection) -> None:
    row = con.execute("""
        SELECT count(*) AS cells,
               count(*) FILTER (WHERE (v IS NULL) <> (s = 'missing')) AS inconsistent,
               count(*) FILTER (WHERE v IS NOT NULL AND (isnan(v) OR isinf(v))) AS not_finite,
               count(*) FILTER (WHERE s NOT IN ('phase4', 'phase3', 'calculated', 'vegas', 'partial', 'missing'))
        FROM (SELECT unnest(features) AS v, unnest(feature_sources) AS s FROM feature_store)""").fetchone()
    assert row is not None
    cells, inconsistent, not_finite, unknown_source = row
    assert cells > 1_000_000
    assert (inconsistent, not_finite, unknown_source) == (0, 0, 0)
    assert set(SOURCE_WEIGHTS) == {"phase4", "phase3", "calculated", "vegas", "partial", "missing"}


def test_feature_versions_side_by_side(con: duckdb.DuckDBPyConnection) -> None:
    counts = dict(con.execute("SELECT feature_version, count(*) FROM feature_store GROUP BY 1").fetchall())
    assert set(counts) == set(FEATURE_VERSIONS) and len(set(counts.values())) == 1
    bad = _one(con, """
        SELECT count(*) FROM feature_store a
        JOIN feature_store b ON a.game_date = b.game_date AND a.player_id = b.player_id
        WHERE a.feature_version = 'v1_baseline_25' AND b.feature_version = 'v2_33features'
          AND (a.feature_count <> 25 OR b.feature_count <> 33
               OR a.feature_names IS DISTINCT FROM b.feature_names[1:25]
               OR a.features IS DISTINCT FROM b.features[1:25]
               OR a.feature_sources IS DISTINCT FROM b.feature_sources[1:25])""")
    assert bad == 0
    names = dict(con.execute("SELECT DISTINCT feature_version, feature_names FROM feature_store").fetchall())
    assert {k: tuple(v) for k, v in names.items()} == FEATURE_VERSIONS


def _name_lists() -> list[tuple[str, ...]]:
    rng = random.Random(20240410)
    lists = [FEATURES_V1, FEATURES_V2, ("points_avg_last_5",), ("vegas_points_line", "injury_risk")]
    lists += [tuple(rng.sample(FEATURES_V2, k)) for k in (2, 5, 13, 29)]
    return lists


def test_quality_python_and_sql_agree(con: duckdb.DuckDBPyConnection) -> None:
    """For any feature list, quality_scores (pandas) == quality_sql (warehouse) on real rows."""
    src_cols = ", ".join(f"v.{n}__src" for n in FEATURES_V2)
    for names in _name_lists():
        q = quality_sql(list(names), "v")
        df = con.execute(f"""
            SELECT {q['quality_score']} AS sql_score, {q['quality_tier']} AS sql_tier,
                   {q['required_missing']} AS sql_required_missing, {src_cols}
            FROM feature_values v WHERE hash(v.player_id, v.game_date) % 40 = 0""").df()
        assert len(df) > 2000
        sources = df[[f"{n}__src" for n in names]].set_axis(list(names), axis=1)
        py = quality_scores(sources, list(names))
        assert (py["quality_score"] - df["sql_score"]).abs().max() < 1e-9, names
        assert (py["quality_tier"] == df["sql_tier"]).all(), names
        assert (py["required_missing"] == df["sql_required_missing"]).all(), names


def test_stored_quality_matches_python(con: duckdb.DuckDBPyConnection) -> None:
    for version, names in FEATURE_VERSIONS.items():
        df = con.execute("""SELECT feature_sources, quality_score, quality_tier, required_missing FROM feature_store
                            WHERE feature_version = ? AND hash(player_id, game_date) % 50 = 0""", [version]).df()
        sources = pd.DataFrame(df["feature_sources"].tolist(), columns=list(names))
        py = quality_scores(sources, list(names))
        assert np.abs(py["quality_score"].to_numpy() - df["quality_score"].to_numpy()).max() < 1e-9
        assert (py["quality_tier"].to_numpy() == df["quality_tier"].to_numpy()).all()
        assert (py["required_missing"].to_numpy() == df["required_missing"].to_numpy()).all()


# ------------------------------------------------------------------------------ idempotency
@pytest.fixture(scope="module")
def rerun(warehouse: Path, shared_data: Path, con: duckdb.DuckDBPyConnection,
          fingerprint: Callable[[duckdb.DuckDBPyConnection, str], tuple[int, int]],
          nbaprops_json: Callable[[list[str]], Any]) -> dict[str, Any]:
    """Fingerprint every table and the read-only commands' output, backfill again, fingerprint again."""
    def state() -> dict[str, Any]:
        return {
            "tables": {t: fingerprint(con, t) for t in _tables(con) if t not in NOT_CHECKSUMMED},
            "status": nbaprops_json(["--db", str(warehouse), "status", "--json"]),
            "features": nbaprops_json(["--db", str(warehouse), "features", "--date", FEATURES_DATE, "--json"]),
        }

    before = state()
    runs_before = _one(con, "SELECT count(*) FROM phase_runs WHERE status = 'ok'")
    report = nbaprops_json(["--db", str(warehouse), "backfill", "--data", str(shared_data), "--json"])
    after = state()
    runs_after = _one(con, "SELECT count(*) FROM phase_runs WHERE status = 'ok'")
    return {"before": before, "after": after, "report": report, "new_runs": runs_after - runs_before}


def test_rerun_changes_no_table(rerun: dict[str, Any]) -> None:
    before, after = rerun["before"]["tables"], rerun["after"]["tables"]
    assert set(before) == set(after)
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    assert not changed, f"re-run changed: {changed}"
    assert rerun["new_runs"] == len(rerun["report"]["phases"])  # it really ran every phase again
    for t in ("player_boxscores", "prop_line_snapshots", "feature_store", "upcoming_player_game_context"):
        assert before[t][0] > 0, t


def test_rerun_reports_the_same_counts(rerun: dict[str, Any], backfill_report: dict[str, Any]) -> None:
    again = rerun["report"]
    for key in ("loaded", "skipped", "lines", "names", "void_lines", "phases", "date_from", "date_to"):
        assert again[key] == backfill_report[key], key


def test_rerun_read_commands_unchanged(rerun: dict[str, Any]) -> None:
    assert rerun["before"]["status"] == rerun["after"]["status"]
    assert rerun["before"]["features"] == rerun["after"]["features"]


@pytest.mark.parametrize("table", sorted(KEYS))
def test_no_duplicate_keys(rerun: dict[str, Any], con: duckdb.DuckDBPyConnection, table: str) -> None:
    cols = ", ".join(KEYS[table])
    dup = _one(con, f"SELECT count(*) FROM (SELECT {cols} FROM {table} GROUP BY ALL HAVING count(*) > 1)")
    assert dup == 0, f"{table} has {dup} duplicated ({cols})"


def test_no_duplicate_snapshots_by_content(rerun: dict[str, Any], con: duckdb.DuckDBPyConnection) -> None:
    n, distinct = con.execute("""SELECT count(*), count(DISTINCT (source, game_date, coalesce(event_id, ''), sportsbook,
                                        market, player_name, coalesce(player_team, ''), quoted_at))
                                 FROM prop_line_snapshots""").fetchone() or (0, 0)
    assert n == distinct > 0
