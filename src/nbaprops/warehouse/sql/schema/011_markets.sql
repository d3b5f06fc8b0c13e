-- 011: the player-prop markets (issue 12). `markets` mirrors the registry nbaprops.markets.MARKETS:
-- warehouse.connection.migrate rewrites its rows from the registry whenever they differ, so adding a
-- market is one registry entry (and its tests), never a migration. The box-score expression that
-- settles a market is kept twice: as text (`expression`, e.g. 'pts + reb + ast') and as one weight
-- per box-score column (0 or 1), which the view below uses in plain, portable SQL.
CREATE TABLE IF NOT EXISTS markets (
    market            VARCHAR PRIMARY KEY,     -- the stored key (prop_line_snapshots.market), e.g. player_points
    name              VARCHAR NOT NULL,        -- short name: points, pra, ...
    label             VARCHAR NOT NULL,
    expression        VARCHAR NOT NULL,        -- over player_boxscores columns, e.g. 'pts + reb + ast'
    pts_weight        INTEGER NOT NULL,
    reb_weight        INTEGER NOT NULL,
    ast_weight        INTEGER NOT NULL,
    fg3m_weight       INTEGER NOT NULL,
    stl_weight        INTEGER NOT NULL,
    blk_weight        INTEGER NOT NULL,
    tov_weight        INTEGER NOT NULL,
    odds_api_keys     VARCHAR NOT NULL,        -- comma-separated The Odds API market keys
    bettingpros_ids   VARCHAR NOT NULL,        -- comma-separated BettingPros market_id values ('' = none)
    count_like        BOOLEAN NOT NULL,        -- predicted with a count distribution (Poisson / negbin)
    max_line          DOUBLE NOT NULL,         -- the line gate's highest plausible line
    min_tolerance     DOUBLE NOT NULL,         -- the line gate's implausibility tolerance floor
    placeholder_check BOOLEAN NOT NULL,        -- one constant value across a slate is a placeholder
    position          INTEGER NOT NULL         -- display order
);

-- The settled value of every market for every box-score row: what a line of that market is graded
-- against (a player with no box-score row did not play: the line is void, not in this view).
CREATE OR REPLACE VIEW player_stat_outcomes AS
SELECT b.game_id, b.player_id, b.game_date, b.team_abbr, m.market, b.minutes,
       (CASE WHEN m.pts_weight = 0 THEN 0 ELSE m.pts_weight * b.pts END)
     + (CASE WHEN m.reb_weight = 0 THEN 0 ELSE m.reb_weight * b.reb END)
     + (CASE WHEN m.ast_weight = 0 THEN 0 ELSE m.ast_weight * b.ast END)
     + (CASE WHEN m.fg3m_weight = 0 THEN 0 ELSE m.fg3m_weight * b.fg3m END)
     + (CASE WHEN m.stl_weight = 0 THEN 0 ELSE m.stl_weight * b.stl END)
     + (CASE WHEN m.blk_weight = 0 THEN 0 ELSE m.blk_weight * b.blk END)
     + (CASE WHEN m.tov_weight = 0 THEN 0 ELSE m.tov_weight * b.tov END) AS actual
FROM player_boxscores b CROSS JOIN markets m;
