"""Per-market features (issue 12) on the real warehouse: market_feature_values and the loaders.

- Leakage: every box-score number of D and of every later game is changed and the phases rebuilt
  (the backfill's own functions): no market's feature row of D moves, while later days' rows do; an
  in-game rebounds quote from the most preferred book is never the chosen rebounds line (the same
  quote before tip-off is).
- Known values: rebounds and PRA rolling figures, vs-opponent and opponent-allowed figures equal a
  direct recomputation from player_boxscores with strictly-before-D filters (PRA as pts+reb+ast).
- Loaders: load_market_rows(POINTS) is load_rows; a rebounds row has load_rows' columns and dtypes,
  the rebounds line of the chosen book and the settled rebounds; load_market_slate(POINTS) is
  load_slate; the rebounds slate is the expected players with a rebounds line, its history's pts
  are rebounds.
- market_line_quotes' points rows are line_quotes' rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from nbaprops.config import Settings, load_settings
from nbaprops.features.definitions import FEATURES_V2
from nbaprops.features.market_rows import (
    POINTS_ONLY_FEATURES,
    STAT_FEATURES,
    load_market_rows,
    load_market_slate,
)
from nbaprops.features.reader import load_rows
from nbaprops.markets import MARKETS, POINTS, Market, get_market
from nbaprops.pipeline.builds import run_phases
from nbaprops.predict.slate import load_slate

pytestmark = pytest.mark.integration

TARGET = dt.date(2024, 3, 20)        # leakage target (Odds API period, regular season)
HORIZON = TARGET + dt.timedelta(days=6)
QUOTE_DATE = dt.date(2024, 3, 12)
DAY = dt.date(2024, 4, 10)           # the loaders' date
REB = get_market("rebounds")
PRA = get_market("pra")
IN_GAME_ID = "market-test-in-game-quote"


@pytest.fixture(scope="module")
def con(warehouse: Path, db_connect: Callable[[Path], duckdb.DuckDBPyConnection]) -> Iterator[duckdb.DuckDBPyConnection]:
    c = db_connect(warehouse)
    yield c
    c.close()


@pytest.fixture(scope="module")
def copy_con(warehouse_copy: Path, db_connect: Callable[[Path], duckdb.DuckDBPyConnection]
             ) -> Iterator[duckdb.DuckDBPyConnection]:
    c = db_connect(warehouse_copy)
    yield c
    c.close()


@pytest.fixture(scope="module")
def settings(warehouse_copy: Path) -> Settings:
    return load_settings(db=warehouse_copy)


def _rows(con: duckdb.DuckDBPyConnection, lo: dt.date, hi: dt.date) -> pd.DataFrame:
    return con.execute("""SELECT * FROM market_feature_values WHERE game_date BETWEEN ? AND ?
                          ORDER BY game_date, player_id, market""", [lo, hi]).df()


# ------------------------------------------------------------------------------ the table
def test_one_row_per_context_row_and_market(con: duckdb.DuckDBPyConnection) -> None:
    counts = con.execute("""
        SELECT (SELECT count(*) FROM upcoming_player_game_context),
               (SELECT count(*) FROM feature_values),
               (SELECT count(*) FROM market_feature_values),
               (SELECT count(DISTINCT (game_date, player_id, market)) FROM market_feature_values),
               (SELECT list(DISTINCT market ORDER BY market) FROM market_feature_values)""").fetchone()
    assert counts is not None
    n_context, n_values, n_rows, n_keys, markets = counts
    others = sorted(m.key for m in MARKETS if m != POINTS)
    assert n_values == n_context and n_rows == n_keys == n_context * len(others) > 0
    assert markets == others
    # every source is one of the store's and NULL values are exactly the 'missing' ones
    df = con.execute("SELECT * FROM market_feature_values WHERE game_date BETWEEN '2024-03-01' AND '2024-04-15'").df()
    for col in [c for c in df.columns if c.endswith("__src")]:
        value = df[col.removesuffix("__src")]
        assert set(df[col].unique()) <= {"phase4", "partial", "missing", "calculated"}, col
        assert (value.isna() == (df[col] == "missing")).all(), col
    # a line is a real pre-tip quote of that market
    bad = con.execute("""
        SELECT count(*) FROM market_feature_values f JOIN prop_line_snapshots s ON s.snapshot_id = f.line_snapshot_id
        WHERE s.market <> f.market OR s.line <> f.line OR s.sportsbook <> f.sportsbook OR s.player_id <> f.player_id
           OR s.minutes_before_tipoff < 0""").fetchone()
    assert bad == (0,)
    assert con.execute("SELECT count(*) FROM market_feature_values WHERE has_line <> (line IS NOT NULL)").fetchone() == (0,)


# ------------------------------------------------------------------------------ leakage
def test_changing_games_of_the_day_and_later_moves_no_market_feature_of_the_day(
        copy_con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    con = copy_con
    before = _rows(con, TARGET, HORIZON)
    n_target = con.execute("SELECT count(*) FROM player_boxscores WHERE game_date = ?", [TARGET]).fetchone()
    assert n_target and n_target[0] > 100
    con.execute("""UPDATE player_boxscores SET pts = pts + 11, reb = reb + 7, ast = ast + 5, fg3m = fg3m + 3,
                          stl = stl + 2, blk = blk + 2, tov = tov + 4, minutes = minutes + 6, fga = fga + 5
                   WHERE game_date >= ?""", [TARGET])
    con.execute("""UPDATE team_boxscores SET pts = pts + 20, possessions = possessions + 7, won = NOT won
                   WHERE game_date >= ?""", [TARGET])
    counts = run_phases(con, settings, TARGET, HORIZON)
    assert counts["market_feature_values"] > 0
    after = _rows(con, TARGET, HORIZON)

    day_b = before[before["game_date"] == pd.Timestamp(TARGET)].reset_index(drop=True)
    day_a = after[after["game_date"] == pd.Timestamp(TARGET)].reset_index(drop=True)
    assert len(day_b) > 1000
    pd.testing.assert_frame_equal(day_b, day_a, check_exact=False, rtol=1e-9, atol=1e-9)

    # power: later days' rolling figures moved for players who played in the changed games
    m = before.merge(after, on=["game_date", "player_id", "market"], suffixes=("_b", "_a"))
    later = m[(m["game_date"] > pd.Timestamp(TARGET))].dropna(subset=["stat_avg_last_5_b"])
    played = con.execute("""SELECT DISTINCT c.game_date, c.player_id FROM upcoming_player_game_context c
                            JOIN player_boxscores b ON b.player_id = c.player_id
                             AND b.game_date >= ? AND b.game_date < c.game_date
                            WHERE c.game_date > ? AND c.game_date <= ?""", [TARGET, TARGET, HORIZON]).df()
    touched = later.merge(played, on=["game_date", "player_id"])
    assert len(touched) > 500 * (len(MARKETS) - 1)
    assert (touched["stat_avg_last_5_a"] > touched["stat_avg_last_5_b"] + 1e-9).all()
    allowed = later.dropna(subset=["opp_stat_allowed_avg_b"])
    assert (allowed["opp_stat_allowed_avg_a"] > allowed["opp_stat_allowed_avg_b"] + 1e-9).any()


def test_in_game_quote_is_never_the_chosen_market_line(copy_con: duckdb.DuckDBPyConnection,
                                                       settings: Settings) -> None:
    con = copy_con
    run_phases(con, settings, QUOTE_DATE, QUOTE_DATE)
    pick = con.execute("""
        SELECT f.player_id, f.line_snapshot_id, f.line
        FROM market_feature_values f JOIN prop_line_snapshots s ON s.snapshot_id = f.line_snapshot_id
        WHERE f.game_date = ? AND f.market = ? AND f.line_source_feed = 'odds_api' AND s.tipoff_at IS NOT NULL
        ORDER BY f.player_id LIMIT 1""", [QUOTE_DATE, REB.key]).fetchone()
    assert pick, f"no Odds API rebounds line on {QUOTE_DATE}"
    player_id, original_id, original_line = pick

    def chosen() -> tuple[object, ...]:
        row = con.execute("""SELECT line_snapshot_id, line, sportsbook, opening_line FROM market_feature_values
                             WHERE game_date = ? AND player_id = ? AND market = ?""",
                          [QUOTE_DATE, player_id, REB.key]).fetchone()
        assert row is not None
        return tuple(row)

    before = chosen()
    con.execute("""INSERT INTO prop_line_snapshots
        SELECT * REPLACE (? AS snapshot_id, ? AS sportsbook, line + 4 AS line,
                          tipoff_at + INTERVAL 10 MINUTE AS quoted_at, -10.0 AS minutes_before_tipoff,
                          -110 AS over_price, -110 AS under_price, NULL AS opening_line)
        FROM prop_line_snapshots WHERE snapshot_id = ?""", [IN_GAME_ID, settings.book_priority[0], original_id])
    run_phases(con, settings, QUOTE_DATE, QUOTE_DATE)
    assert chosen() == before and before[0] == original_id and before[1] == original_line
    # control: the same quote before tip-off is chosen
    con.execute("""UPDATE prop_line_snapshots SET quoted_at = tipoff_at - INTERVAL 10 MINUTE, minutes_before_tipoff = 10.0
                   WHERE snapshot_id = ?""", [IN_GAME_ID])
    run_phases(con, settings, QUOTE_DATE, QUOTE_DATE)
    assert chosen()[:2] == (IN_GAME_ID, original_line + 4)
    con.execute("DELETE FROM prop_line_snapshots WHERE snapshot_id = ?", [IN_GAME_ID])
    run_phases(con, settings, QUOTE_DATE, QUOTE_DATE)


# ------------------------------------------------------------------------------ known values
def _recompute(con: duckdb.DuckDBPyConnection, day: dt.date, columns: tuple[str, ...]) -> pd.DataFrame:
    """Each context player's figures of ``day`` from player_boxscores (pandas, games before ``day``)."""
    box = con.execute("""SELECT b.player_id, b.game_date, b.opp_abbr, b.team_abbr, b.game_id, b.minutes,
                                b.pts, b.reb, b.ast, b.fg3m, b.stl, b.blk, b.tov, g.season_year
                         FROM player_boxscores b JOIN games g USING (game_id) WHERE b.game_date < ?""", [day]).df()
    box["stat"] = box[list(columns)].sum(axis=1)
    box = box.sort_values(["player_id", "game_date"])
    ctx = con.execute("""SELECT player_id, opponent_abbr, season_year FROM upcoming_player_game_context
                         WHERE game_date = ?""", [day]).df()
    out = []
    for r in ctx.itertuples():
        g = box[box["player_id"] == r.player_id]
        last5, last10 = g.tail(5), g.tail(10)
        season = g[g["season_year"] == r.season_year] if len(g) and g["season_year"].iloc[-1] == r.season_year else g.iloc[:0]
        vs = g[(g["opp_abbr"] == r.opponent_abbr) & (g["game_date"] >= pd.Timestamp(day - dt.timedelta(days=365)))]
        out.append({"player_id": r.player_id,
                    "l5": last5["stat"].mean() if len(g) else np.nan,
                    "l10": last10["stat"].mean() if len(g) else np.nan,
                    "std10": last10["stat"].std(ddof=1) if len(last10) > 1 else np.nan,
                    "season": season["stat"].mean() if len(season) else np.nan,
                    "spm": last10["stat"].sum() / last10["minutes"].sum() if len(g) and last10["minutes"].sum() else np.nan,
                    "vs": vs["stat"].mean() if len(vs) else np.nan, "n_vs": float(len(vs))})
    return pd.DataFrame(out)


@pytest.mark.parametrize("m", [REB, PRA], ids=["rebounds", "pra"])
def test_rolling_figures_equal_a_recomputation_from_box_scores(con: duckdb.DuckDBPyConnection, m: Market) -> None:
    want = _recompute(con, DAY, m.columns)
    got = con.execute("SELECT * FROM market_feature_values WHERE game_date = ? AND market = ?", [DAY, m.key]).df()
    j = got.merge(want, on="player_id", validate="one_to_one")
    assert len(j) == len(want) > 200
    for mine, theirs in (("stat_avg_last_5", "l5"), ("stat_avg_last_10", "l10"), ("stat_std_last_10", "std10"),
                         ("stat_avg_season", "season"), ("stat_per_minute_last_10", "spm"),
                         ("avg_stat_vs_opponent", "vs"), ("games_vs_opponent", "n_vs")):
        a, b = j[mine].to_numpy(dtype=float), j[theirs].to_numpy(dtype=float)
        same = np.isclose(a, b, rtol=1e-9, atol=1e-9) | (np.isnan(a) & np.isnan(b))
        assert same.all(), f"{m.name} {mine}: {j.loc[~same, ['player_id', mine, theirs]].head()}"
        assert np.isfinite(a).sum() > 100 or mine == "avg_stat_vs_opponent"


def test_pra_is_the_sum_of_its_parts(con: duckdb.DuckDBPyConnection) -> None:
    """Means are linear: PRA's averages equal points' + rebounds' + assists' (and PRA's opponent
    allowed, the parts' sum), on every row of a month."""
    wide = con.execute("""
        SELECT v.game_date, v.player_id, v.points_avg_last_10, v.points_avg_season, v.opp_points_allowed_avg,
               r.stat_avg_last_10 AS reb_l10, a.stat_avg_last_10 AS ast_l10, p.stat_avg_last_10 AS pra_l10,
               r.stat_avg_season AS reb_s, a.stat_avg_season AS ast_s, p.stat_avg_season AS pra_s,
               r.opp_stat_allowed_avg AS reb_o, a.opp_stat_allowed_avg AS ast_o, p.opp_stat_allowed_avg AS pra_o
        FROM feature_values v
        JOIN market_feature_values r ON r.game_date = v.game_date AND r.player_id = v.player_id AND r.market = 'player_rebounds'
        JOIN market_feature_values a ON a.game_date = v.game_date AND a.player_id = v.player_id AND a.market = 'player_assists'
        JOIN market_feature_values p ON p.game_date = v.game_date AND p.player_id = v.player_id
         AND p.market = 'player_points_rebounds_assists'
        WHERE v.game_date BETWEEN '2024-03-01' AND '2024-03-31'""").df().dropna()
    assert len(wide) > 3000
    assert np.allclose(wide["pra_l10"], wide["points_avg_last_10"] + wide["reb_l10"] + wide["ast_l10"], rtol=1e-9)
    assert np.allclose(wide["pra_s"], wide["points_avg_season"] + wide["reb_s"] + wide["ast_s"], rtol=1e-9)
    # points allowed (team box score) and the players' points summed agree up to rare box-score gaps
    close = np.isclose(wide["pra_o"], wide["reb_o"] + wide["ast_o"] + wide["opp_points_allowed_avg"], rtol=1e-6)
    assert close.mean() > 0.95


def test_opponent_allowed_equals_a_recomputation(con: duckdb.DuckDBPyConnection) -> None:
    got = con.execute("""SELECT DISTINCT c.opponent_abbr, f.opp_stat_allowed_avg FROM market_feature_values f
                         JOIN upcoming_player_game_context c ON c.game_date = f.game_date AND c.player_id = f.player_id
                         WHERE f.game_date = ? AND f.market = ?""", [DAY, REB.key]).df()
    want = con.execute("""
        WITH per_game AS (
            SELECT t.team_abbr, t.game_date,
                   (SELECT sum(b.reb) FROM player_boxscores b WHERE b.game_id = t.game_id AND b.opp_abbr = t.team_abbr) AS allowed
            FROM team_game_summary t WHERE t.game_date < ?),
        last15 AS (SELECT * FROM per_game QUALIFY row_number() OVER (PARTITION BY team_abbr ORDER BY game_date DESC) <= 15)
        SELECT team_abbr AS opponent_abbr, avg(allowed) AS want FROM last15 GROUP BY 1""", [DAY]).df()
    j = got.merge(want, on="opponent_abbr")
    assert len(j) == len(got) > 10 and got["opponent_abbr"].is_unique
    assert np.allclose(j["opp_stat_allowed_avg"], j["want"], rtol=1e-9)


# ------------------------------------------------------------------------------ loaders
def test_points_rows_are_load_rows(con: duckdb.DuckDBPyConnection) -> None:
    lo, hi = dt.date(2024, 4, 8), DAY
    want = load_rows(con, lo, hi)
    got = load_market_rows(con, POINTS, lo, hi)
    assert (got["market"] == POINTS.key).all()
    pd.testing.assert_frame_equal(got.drop(columns="market"), want)
    slate, hist = load_market_slate(con, POINTS, DAY)
    want_slate, want_hist = load_slate(con, DAY)
    pd.testing.assert_frame_equal(slate.drop(columns="market"), want_slate)
    pd.testing.assert_frame_equal(hist, want_hist)


def test_rebounds_rows_have_the_points_layout_the_rebounds_line_and_outcome(
        con: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    points = load_rows(con, DAY, DAY)
    reb = load_market_rows(con, REB, DAY, DAY)
    assert list(reb.columns) == [*points.columns, "market"] and (reb["market"] == REB.key).all()
    assert reb.drop(columns="market").dtypes.equals(points.dtypes)
    assert reb[["game_date", "game_id", "player_id"]].equals(points[["game_date", "game_id", "player_id"]])
    shared = [c for c in FEATURES_V2 if c not in STAT_FEATURES]
    pd.testing.assert_frame_equal(reb[shared], points[shared])
    assert not np.allclose(reb["points_avg_last_10"].fillna(0), points["points_avg_last_10"].fillna(0))

    # every line is the rebounds quote of the chosen book: the preferred book among the player's pre-tip quotes
    books = load_settings(db=warehouse).book_priority
    lined = reb[reb["line"].notna()]
    assert len(lined) > 50 and (lined["has_line"]).all() and not reb.loc[reb["line"].isna(), "has_line"].any()
    snaps = con.execute("""SELECT snapshot_id, market, line, sportsbook, over_price, under_price, player_id
                           FROM prop_line_snapshots WHERE snapshot_id IN (SELECT unnest(?))""",
                        [lined["line_snapshot_id"].tolist()]).df().set_index("snapshot_id")
    s = snaps.loc[lined["line_snapshot_id"]]
    assert (s["market"] == REB.key).all() and (s["line"].to_numpy() == lined["line"].to_numpy()).all()
    assert (s["sportsbook"].to_numpy() == lined["sportsbook"].to_numpy()).all()
    assert (s["player_id"].to_numpy() == lined["player_id"].to_numpy()).all()
    assert (lined["vegas_points_line"] == lined["line"]).all() and (lined["has_vegas_line"] == 1.0).all()
    best = con.execute("""
        SELECT player_id, min(coalesce(list_position(?, sportsbook), 999)) AS best_rank FROM prop_line_snapshots
        WHERE game_date = ? AND market = ? AND line > 0
          AND ((quote_basis = 'quoted_at' AND minutes_before_tipoff >= 0) OR quote_basis = 'closing')
        GROUP BY player_id""", [books, DAY, REB.key]).df().set_index("player_id")["best_rank"]
    rank = [books.index(b) + 1 if b in books else 999 for b in lined["sportsbook"]]
    assert (np.array(rank) == best.reindex(lined["player_id"]).to_numpy()).all()

    # actual_points is the settled rebounds (NaN when he did not play)
    out = con.execute("SELECT player_id, actual FROM player_stat_outcomes WHERE game_date = ? AND market = ?",
                      [DAY, REB.key]).df().set_index("player_id")["actual"]
    settled = out.reindex(reb["player_id"]).to_numpy(dtype=float)
    a = reb["actual_points"].to_numpy(dtype=float)
    assert ((a == settled) | (np.isnan(a) & np.isnan(settled))).all() and np.isfinite(a).sum() > 100
    assert reb["actual_minutes"].equals(points["actual_minutes"])

    # the quality score follows the store's rule: rows whose stat sources are the points row's score the same
    src = con.execute("""SELECT f.player_id, f.quality_score, r.* FROM feature_store f
        JOIN market_feature_values r ON r.game_date = f.game_date AND r.player_id = f.player_id AND r.market = ?
        JOIN feature_values v ON v.game_date = f.game_date AND v.player_id = f.player_id
        WHERE f.game_date = ? AND f.feature_version = 'v2_33features'
          AND r.stat_avg_last_5__src = v.points_avg_last_5__src AND r.stat_avg_last_10__src = v.points_avg_last_10__src
          AND r.stat_avg_season__src = v.points_avg_season__src AND r.stat_std_last_10__src = v.points_std_last_10__src
          AND r.recent_trend__src = v.recent_trend__src AND r.avg_stat_vs_opponent__src = v.avg_points_vs_opponent__src
          AND r.stat_per_minute_last_10__src = v.ppm_avg_last_10__src AND (r.line IS NULL) = (v.vegas_points_line IS NULL)
          AND (r.opening_line IS NULL) = (v.vegas_opening_line IS NULL)""", [REB.key, DAY]).df()
    q = reb.set_index("player_id")["feature_quality_score"].reindex(src["player_id"]).to_numpy()
    assert len(src) > 50 and np.allclose(q, src["quality_score"].to_numpy())


def test_line_movement_features_are_points_only(con: duckdb.DuckDBPyConnection) -> None:
    # the books' line movement (v4) is computed on the points market: another market's rows hold
    # NULL with source 'missing', never the points player's values
    lo, hi = dt.date(2024, 4, 1), DAY
    points = load_market_rows(con, POINTS, lo, hi, version="v4_market_movement")
    reb = load_market_rows(con, REB, lo, hi, version="v4_market_movement")
    moved = sorted(POINTS_ONLY_FEATURES)
    assert len(reb) == len(points) > 100
    assert points[moved].notna().sum().min() > 20
    assert reb[moved].isna().all().all()


def test_rebounds_slate_is_the_expected_players_with_a_rebounds_line(con: duckdb.DuckDBPyConnection) -> None:
    slate, hist = load_market_slate(con, REB, DAY)
    points_slate, _ = load_slate(con, DAY)
    assert list(slate.columns) == [*points_slate.columns, "market"]
    want = con.execute("""SELECT f.player_id FROM market_feature_values f
                          JOIN feature_store s ON s.game_date = f.game_date AND s.player_id = f.player_id
                           AND s.feature_version = 'v2_33features'
                          WHERE f.game_date = ? AND f.market = ? AND f.has_line AND s.is_expected""",
                       [DAY, REB.key]).df()
    assert sorted(slate["player_id"]) == sorted(want["player_id"]) and len(slate) > 30
    assert slate["line"].notna().all() and (slate["market"] == REB.key).all()
    # the history's pts are rebounds of games before the day
    box = con.execute("SELECT player_id, game_date, reb FROM player_boxscores WHERE game_date < ?", [DAY]).df()
    box["game_date"] = pd.to_datetime(box["game_date"]).astype("datetime64[us]")
    j = hist.merge(box, on=["player_id", "game_date"], validate="one_to_one")
    assert len(j) == len(hist) > 500 and (j["pts"] == j["reb"]).all()
    assert (hist["game_date"] < pd.Timestamp(DAY)).all()


def test_market_line_quotes_points_rows_are_line_quotes(con: duckdb.DuckDBPyConnection) -> None:
    cols = con.execute("SELECT * FROM line_quotes LIMIT 0").df().columns.tolist()
    listed = ", ".join(cols)
    only_old = con.execute(f"""SELECT count(*) FROM (SELECT {listed} FROM line_quotes EXCEPT ALL
        SELECT {listed} FROM market_line_quotes WHERE market = 'player_points')""").fetchone()
    only_new = con.execute(f"""SELECT count(*) FROM (SELECT {listed} FROM market_line_quotes WHERE market = 'player_points'
        EXCEPT ALL SELECT {listed} FROM line_quotes)""").fetchone()
    n = con.execute("SELECT count(*) FROM line_quotes").fetchone()
    assert only_old == (0,) and only_new == (0,) and n and n[0] > 10_000
    per_market = dict(con.execute("SELECT market, count(*) FROM market_line_quotes GROUP BY 1").fetchall())
    assert per_market[REB.key] > 10_000 and set(per_market) <= {m.key for m in MARKETS}
