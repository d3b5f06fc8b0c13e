"""Benchmark: a full prediction slate, and the one-query slate preload vs a per-player loop.

Usage: python bench/predict_slate.py [--db PATH] [--data ../shared/data] [--workers 1,2] [--runs 5] [--date D]
                                     [--market points|rebounds,pra|all] [--since D]

Builds the warehouse when ``--db`` does not exist (backfill of ``--data``), trains a model set when
none is served (``until`` = the benchmarked date), then prints:

    slate 2024-04-14 players=... rows=... workers=1 median_s=... rows_per_s=... runs=5
    preload one_query_s=... per_player_s=... ratio=...x players=... queries=... goal=100x

(a) start -> consolidated for the largest slate (most expected players) among the dates with points
lines, warm (one untimed run first, so models are loaded and caches hot), median of ``--runs``.
With ``--market`` the batch predicts those markets together (one model set per market, trained when
none is served, on games since ``--since`` when given); the line gives the rows per market.
(b) ``load_slate`` (slate + every player's history in ONE query) against the path the reference
system took: one query for the player list, then a features query and a history query per player.
That slow path exists only here, never in the package. Both must return the same rows (checked).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from nbaprops.config import Settings
from nbaprops.features.definitions import CONTEXT_COLUMNS, FEATURE_VERSION, FEATURE_VERSIONS
from nbaprops.markets import POINTS, Market, parse_markets
from nbaprops.models.registry import served_model_set
from nbaprops.models.training import train_models
from nbaprops.pipeline.backfill import BackfillReport, buildable_range, load_files
from nbaprops.pipeline.builds import run_phases
from nbaprops.predict.coordinator import BatchResult, start_batch
from nbaprops.predict.slate import HISTORY_DAYS, HISTORY_GAMES, load_slate
from nbaprops.warehouse import connect

ROOT = Path(__file__).resolve().parents[1]
GOAL_RATIO = 100.0


def _timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median wall seconds of ``runs`` calls, and the last result."""
    times: list[float] = []
    out: Any = None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def ensure_warehouse(db: Path, data: Path, threads: int) -> duckdb.DuckDBPyConnection:
    """Open ``db``, backfilling ``data`` into it first when the file does not exist."""
    fresh = not db.exists()
    con = connect(db, threads=threads)
    if fresh:
        t0 = time.perf_counter()
        load_files(con, data, BackfillReport())
        span = buildable_range(con)
        if not span:
            raise SystemExit(f"no games in {data}")
        run_phases(con, Settings(db=db, threads=threads), span[0], span[1])
        print(f"built warehouse {db} from {data} in {time.perf_counter() - t0:.1f}s", flush=True)
    return con


def largest_slate_date(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, int]:
    """The date with the most expected players among the dates that have points lines."""
    row = con.execute("""
        SELECT f.game_date, count(*) AS n FROM feature_store f
        WHERE f.feature_version = ? AND f.is_expected
          AND f.game_date IN (SELECT DISTINCT game_date FROM prop_line_snapshots
                              WHERE market = 'player_points' AND player_id IS NOT NULL)
        GROUP BY 1 ORDER BY n DESC, 1 LIMIT 1""", [FEATURE_VERSION]).fetchone()
    if not row:
        raise SystemExit("no date with points lines and features: is the warehouse built?")
    return row[0], int(row[1])


def ensure_model(con: duckdb.DuckDBPyConnection, settings: Settings, until: dt.date, market: Market = POINTS,
                 since: dt.date | None = None) -> str:
    served = served_model_set(settings.model_path, required=False, market=market.key)
    if served:
        return served
    t0 = time.perf_counter()
    manifest = train_models(con, settings.model_path, until, thread_count=settings.threads, market=market,
                            since=since)
    print(f"trained {manifest['model_set']} (until {until}) in {time.perf_counter() - t0:.1f}s", flush=True)
    return str(manifest["served"])


# --------------------------------------------------------------------------- the slow path (bench only)
def _per_player_sql() -> tuple[str, str, str]:
    names = list(FEATURE_VERSIONS[FEATURE_VERSION])
    feats = ", ".join(f"f.features[{i + 1}] AS {n}" for i, n in enumerate(names))
    ctx = ", ".join(f"v.{c}" for c in CONTEXT_COLUMNS)
    players = """SELECT player_id FROM feature_store
                 WHERE feature_version = $version AND game_date = $d AND is_expected ORDER BY player_id"""
    features = f"""
        SELECT f.game_date, f.game_id, f.player_id, f.team_abbr, f.opponent_abbr, f.is_home, f.has_line,
               f.quality_score AS feature_quality_score, {feats}, {ctx},
               c.current_points_line AS line, c.sportsbook, c.over_price, c.under_price,
               c.line_quoted_at AS quoted_at, c.tipoff_at, c.line_quote_basis AS quote_basis,
               c.line_snapshot_id, c.line_source_feed
        FROM feature_store f
        JOIN feature_values v ON v.game_date = f.game_date AND v.player_id = f.player_id
        JOIN upcoming_player_game_context c ON c.game_date = f.game_date AND c.player_id = f.player_id
        WHERE f.feature_version = $version AND f.game_date = $d AND f.is_expected AND f.player_id = $p"""
    history = """
        SELECT p.player_id, p.game_date, CAST(p.points AS DOUBLE) AS pts, p.minutes, p.opponent_abbr, p.is_home,
               CAST(p.days_rest AS DOUBLE) AS days_rest, td.def_rating_l15 AS opp_def_rating
        FROM player_game_summary p
        LEFT JOIN team_defense td ON td.team_abbr = p.opponent_abbr AND td.analysis_date = p.game_date
        WHERE p.player_id = $p AND p.game_date < $d AND p.game_date >= $d - to_days(CAST($days AS INTEGER))
        ORDER BY p.game_date DESC LIMIT $games"""
    return players, features, history


def per_player_load(con: duckdb.DuckDBPyConnection, d: dt.date) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Slate and history the slow way: two queries per player. Returns (slate, history, queries)."""
    players_sql, features_sql, history_sql = _per_player_sql()
    ids = [int(p) for (p,) in con.execute(players_sql, {"version": FEATURE_VERSION, "d": d}).fetchall()]
    slate_parts: list[pd.DataFrame] = []
    hist_parts: list[pd.DataFrame] = []
    for p in ids:
        slate_parts.append(con.execute(features_sql, {"version": FEATURE_VERSION, "d": d, "p": p}).df())
        hist_parts.append(con.execute(history_sql, {"p": p, "d": d, "days": HISTORY_DAYS,
                                                    "games": HISTORY_GAMES}).df())
    return pd.concat(slate_parts, ignore_index=True), pd.concat(hist_parts, ignore_index=True), 1 + 2 * len(ids)


# --------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "nbaprops-bench" / "warehouse.duckdb",
                    help="warehouse file (built from --data when missing; reused otherwise)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--workers", default="1", help="comma-separated worker counts, e.g. 1,2")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per figure (after one warm-up run)")
    ap.add_argument("--date", type=dt.date.fromisoformat, default=None, help="slate date (default: largest)")
    ap.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    ap.add_argument("--market", default="points", help="market(s) predicted together: a name, a comma list or all")
    ap.add_argument("--since", type=dt.date.fromisoformat, default=None,
                    help="first training date of model sets trained here (default: all history)")
    args = ap.parse_args()
    markets = parse_markets(args.market)
    workers = [int(w) for w in str(args.workers).split(",") if w.strip()]

    settings = Settings(db=args.db, model_dir=args.db.parent / "models", threads=args.threads)
    con = ensure_warehouse(args.db, args.data, args.threads)
    try:
        if args.date:
            d = args.date
        else:
            d, _ = largest_slate_date(con)
        sets = {m.key: ensure_model(con, settings, d, m, args.since) for m in markets}
        print(f"warehouse {args.db} model_sets={sets} date={d} runs={args.runs}", flush=True)

        # (a) a full slate, start -> consolidated
        for w in workers:
            start_batch(con, settings, d, workers=w, markets=markets)   # warm-up: models loaded, caches hot
            def run(w: int = w) -> BatchResult:
                return start_batch(con, settings, d, workers=w, markets=markets)

            median, res = _timed(run, args.runs)
            by_market = " ".join(f"{k.removeprefix('player_')}={n}" for k, n in res.rows_by_market.items())
            print(f"slate {d} markets={len(res.markets)} players={res.expected_players} rows={res.rows} workers={w} "
                  f"median_s={median:.3f} rows_per_s={res.rows / median:,.0f} runs={args.runs} goal_s=2.0 "
                  f"{'met' if median <= 2.0 else 'NOT met'}\n  rows by market: {by_market}", flush=True)

        # (b) the one-query preload vs a per-player query loop
        load_slate(con, d)                             # warm-up
        one_s, (slate, history) = _timed(lambda: load_slate(con, d), args.runs)
        per_runs = max(1, min(3, args.runs))
        per_s, (slow_slate, slow_history, queries) = _timed(lambda: per_player_load(con, d), per_runs)
        same = len(slow_slate) == len(slate) and len(slow_history) == len(history) and \
            set(slow_slate["player_id"]) == set(slate["player_id"])
        if not same:
            raise SystemExit(f"per-player path disagrees with load_slate: slate {len(slow_slate)} vs {len(slate)}, "
                             f"history {len(slow_history)} vs {len(history)}")
        ratio = per_s / one_s
        print(f"preload one_query_s={one_s:.4f} per_player_s={per_s:.3f} ratio={ratio:.0f}x "
              f"players={len(slate)} history_rows={len(history)} queries={queries} "
              f"goal={GOAL_RATIO:.0f}x {'met' if ratio >= GOAL_RATIO else 'NOT met'}", flush=True)
    finally:
        con.close()


if __name__ == "__main__":
    main()
