-- Phase 4: the stat-specific features of every market other than points (issue 12), one row per
-- context row of D and market of the registry (`markets`, the mirror of nbaprops.markets.MARKETS).
-- The market's settled value is its weights over the box-score columns (PRA = pts + reb + ast; the
-- same sum as player_stat_outcomes). Every figure mirrors its points twin exactly: the rolling
-- windows of player_daily_cache (games strictly before D: D is joined to the player's last game
-- before D, player_daily_cache.last_game_date), the trend and the vs-opponent figures of
-- feature_values, the opponent's allowed average of team_defense (its last 15 games before D,
-- team_defense.last_game_date) and the chosen pre-tip line of upcoming_player_game_context (book
-- priority, pre-tip quotes known by $as_of only, opening = the chosen book's earliest pre-tip quote).
-- Each value has a source with the same rules; a value that cannot be computed is NULL ('missing').
WITH m AS (
    -- `position` (an integer) keys the market inside the query: cheaper to sort and join than its name
    SELECT market, position AS mk, pts_weight, reb_weight, ast_weight, fg3m_weight, stl_weight, blk_weight, tov_weight
    FROM markets
    WHERE market <> 'player_points'
),
stat AS (
    SELECT m.mk, p.game_id, p.player_id, p.game_date, p.season_year, p.opponent_abbr, p.minutes,
           (CASE WHEN m.pts_weight = 0 THEN 0 ELSE m.pts_weight * p.points END)
         + (CASE WHEN m.reb_weight = 0 THEN 0 ELSE m.reb_weight * p.reb END)
         + (CASE WHEN m.ast_weight = 0 THEN 0 ELSE m.ast_weight * p.ast END)
         + (CASE WHEN m.fg3m_weight = 0 THEN 0 ELSE m.fg3m_weight * p.fg3m END)
         + (CASE WHEN m.stl_weight = 0 THEN 0 ELSE m.stl_weight * p.stl END)
         + (CASE WHEN m.blk_weight = 0 THEN 0 ELSE m.blk_weight * p.blk END)
         + (CASE WHEN m.tov_weight = 0 THEN 0 ELSE m.tov_weight * p.tov END) AS stat
    FROM player_game_summary AS p
    CROSS JOIN m
    WHERE p.game_date < $date_to
),
pg AS (
    -- windows ending at each game (inclusive), as in player_daily_cache
    SELECT
        mk, player_id, game_date, season_year, stat,
        COUNT(*) OVER (w ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS n_l5,
        AVG(stat) OVER (w ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS stat_l5,
        COUNT(*) OVER (w ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS n_l10,
        AVG(stat) OVER (w ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS stat_l10,
        STDDEV_SAMP(stat) OVER (w ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS stat_std_l10,
        SUM(stat) OVER (w ROWS BETWEEN 9 PRECEDING AND CURRENT ROW)
            / nullif(SUM(minutes) OVER (w ROWS BETWEEN 9 PRECEDING AND CURRENT ROW), 0) AS spm_l10,
        AVG(stat) OVER (w ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
            - AVG(stat) OVER (w ROWS BETWEEN 4 PRECEDING AND 2 PRECEDING) AS trend_raw,
        -- running totals over the player's career: the season average is their difference with the
        -- totals before the season's first game (season_base), which spares a second sort
        SUM(stat) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_sum,
        COUNT(stat) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_n
    FROM stat
    WINDOW w AS (PARTITION BY mk, player_id ORDER BY game_date ASC NULLS FIRST)
),
season_base AS (
    SELECT mk, player_id, season_year,
           arg_min(cum_sum - coalesce(stat, 0), game_date) AS base_sum,
           arg_min(cum_n - (CASE WHEN stat IS NULL THEN 0 ELSE 1 END), game_date) AS base_n
    FROM pg
    GROUP BY mk, player_id, season_year
),
allowed AS (
    -- what a team's opponents' players made of the stat against it, per game
    SELECT mk, game_id, opponent_abbr AS team_abbr, sum(stat) AS stat_allowed
    FROM stat
    GROUP BY mk, game_id, opponent_abbr
),
tg AS (
    -- each team's last 15 games ending at each game, as in team_defense
    SELECT m.mk, t.team_abbr, t.game_date,
           COUNT(*) OVER l15 AS games_used_l15,
           AVG(a.stat_allowed) OVER l15 AS allowed_l15
    FROM team_game_summary AS t
    CROSS JOIN m
    LEFT JOIN allowed AS a ON a.mk = m.mk AND a.game_id = t.game_id AND a.team_abbr = t.team_abbr
    WHERE t.game_date < $date_to
    WINDOW l15 AS (PARTITION BY m.mk, t.team_abbr ORDER BY t.game_date ASC NULLS FIRST
                   ROWS BETWEEN 14 PRECEDING AND CURRENT ROW)
),
ctx AS (
    SELECT c.game_date, c.game_id, c.player_id, c.team_abbr, c.opponent_abbr, c.season_year, c.tipoff_at,
           dc.last_game_date, td.last_game_date AS opp_last_game_date
    FROM upcoming_player_game_context AS c
    LEFT JOIN player_daily_cache AS dc ON dc.player_id = c.player_id AND dc.cache_date = c.game_date
    LEFT JOIN team_defense AS td ON td.team_abbr = c.opponent_abbr AND td.analysis_date = c.game_date
    WHERE c.game_date BETWEEN $date_from AND $date_to
),
vs_opp AS (
    -- the player's games against D's opponent in the 365 days before D, each market's stat of them
    SELECT j.game_date, j.player_id, m.mk,
           avg((CASE WHEN m.pts_weight = 0 THEN 0 ELSE m.pts_weight * p.points END)
             + (CASE WHEN m.reb_weight = 0 THEN 0 ELSE m.reb_weight * p.reb END)
             + (CASE WHEN m.ast_weight = 0 THEN 0 ELSE m.ast_weight * p.ast END)
             + (CASE WHEN m.fg3m_weight = 0 THEN 0 ELSE m.fg3m_weight * p.fg3m END)
             + (CASE WHEN m.stl_weight = 0 THEN 0 ELSE m.stl_weight * p.stl END)
             + (CASE WHEN m.blk_weight = 0 THEN 0 ELSE m.blk_weight * p.blk END)
             + (CASE WHEN m.tov_weight = 0 THEN 0 ELSE m.tov_weight * p.tov END)) AS avg_vs_opponent,
           count(*) AS games_vs_opponent
    FROM ctx AS j
    JOIN player_game_summary AS p
      ON p.player_id = j.player_id
     AND p.opponent_abbr = j.opponent_abbr
     AND p.game_date < j.game_date
     AND p.game_date >= j.game_date - INTERVAL 365 DAY
    CROSS JOIN m
    GROUP BY j.game_date, j.player_id, m.mk
),
quotes AS (
    SELECT q.*,
           coalesce(bp.priority, 999) AS book_rank
    FROM prop_line_snapshots AS q
    LEFT JOIN book_priority AS bp ON bp.sportsbook = q.sportsbook
    LEFT JOIN games AS g ON g.game_id = q.game_id
    WHERE q.market IN (SELECT market FROM m) AND q.player_id IS NOT NULL
      AND q.game_date BETWEEN $date_from AND $date_to
      AND q.line > 0
      -- pre-tip only (nbaprops.pretip, as upcoming_player_game_context.sql): a timed quote strictly
      -- before tip-off (the quote's own, else the schedule's), or a source's final pre-tip (closing) line
      AND ((q.quote_basis = 'quoted_at' AND q.quoted_at IS NOT NULL
            AND q.quoted_at < coalesce(q.tipoff_at, g.tipoff_at) AND q.quoted_at <= $as_of)
           OR q.quote_basis = 'closing')
),
chosen AS (
    SELECT *
    FROM (
        SELECT q.*,
               ROW_NUMBER() OVER (PARTITION BY q.market, q.game_date, q.player_id
                                  ORDER BY q.book_rank ASC NULLS LAST,
                                           CASE WHEN q.source = 'odds_api' THEN 0 ELSE 1 END ASC NULLS LAST,
                                           q.quoted_at DESC NULLS LAST, q.snapshot_id ASC NULLS LAST) AS rn
        FROM quotes AS q
    ) AS r
    WHERE rn = 1
),
opening AS (
    SELECT q.market, q.game_date, q.player_id, q.sportsbook,
           arg_min(q.line, q.quoted_at) AS first_line
    FROM quotes AS q
    WHERE q.quoted_at IS NOT NULL
    GROUP BY q.market, q.game_date, q.player_id, q.sportsbook
),
j AS (
    SELECT c.game_date, c.game_id, c.player_id, m.mk, m.market, c.team_abbr, c.opponent_abbr, c.tipoff_at,
           p.n_l5, p.stat_l5, p.n_l10, p.stat_l10, p.stat_std_l10, p.spm_l10,
           CASE WHEN p.n_l5 >= 5 THEN p.trend_raw END AS trend_raw,
           -- season figures only when the last game was in the season of D
           CASE WHEN p.season_year = c.season_year
                THEN (p.cum_sum - sb.base_sum) / nullif(p.cum_n - sb.base_n, 0) END AS stat_season,
           o.games_used_l15, o.allowed_l15,
           ch.line, coalesce(ch.opening_line, op.first_line) AS opening_line, ch.sportsbook, ch.over_price,
           ch.under_price, ch.quoted_at, ch.quote_basis, ch.snapshot_id, ch.source
    FROM ctx AS c
    CROSS JOIN m
    LEFT JOIN pg AS p ON p.mk = m.mk AND p.player_id = c.player_id AND p.game_date = c.last_game_date
    LEFT JOIN season_base AS sb ON sb.mk = m.mk AND sb.player_id = c.player_id AND sb.season_year = p.season_year
    LEFT JOIN tg AS o ON o.mk = m.mk AND o.team_abbr = c.opponent_abbr AND o.game_date = c.opp_last_game_date
    LEFT JOIN chosen AS ch ON ch.market = m.market AND ch.game_date = c.game_date AND ch.player_id = c.player_id
    LEFT JOIN opening AS op
      ON op.market = m.market AND op.game_date = c.game_date AND op.player_id = c.player_id
     AND op.sportsbook = ch.sportsbook
)
SELECT
    j.game_date, j.game_id, j.player_id, j.market, j.team_abbr, j.opponent_abbr,
    j.stat_l5 AS stat_avg_last_5,
    CASE WHEN j.stat_l5 IS NULL THEN 'missing' WHEN j.n_l5 < 5 THEN 'partial' ELSE 'phase4' END AS stat_avg_last_5__src,
    j.stat_l10 AS stat_avg_last_10,
    CASE WHEN j.stat_l10 IS NULL THEN 'missing' WHEN j.n_l10 < 10 THEN 'partial' ELSE 'phase4' END AS stat_avg_last_10__src,
    j.stat_season AS stat_avg_season,
    CASE WHEN j.stat_season IS NULL THEN 'missing' ELSE 'phase4' END AS stat_avg_season__src,
    j.stat_std_l10 AS stat_std_last_10,
    CASE WHEN j.stat_std_l10 IS NULL THEN 'missing' WHEN j.n_l10 < 10 THEN 'partial' ELSE 'phase4' END AS stat_std_last_10__src,
    -- the points thresholds (2 and 5) on the market's stat: the models are trained per market
    CAST(CASE WHEN j.trend_raw IS NULL THEN NULL
              WHEN j.trend_raw >= 5 THEN 2 WHEN j.trend_raw >= 2 THEN 1
              WHEN j.trend_raw <= -5 THEN -2 WHEN j.trend_raw <= -2 THEN -1 ELSE 0 END AS DOUBLE) AS recent_trend,
    CASE WHEN j.trend_raw IS NULL THEN 'missing' ELSE 'calculated' END AS recent_trend__src,
    v.avg_vs_opponent AS avg_stat_vs_opponent,
    CASE WHEN v.avg_vs_opponent IS NULL THEN 'missing' ELSE 'calculated' END AS avg_stat_vs_opponent__src,
    CAST(coalesce(v.games_vs_opponent, 0) AS DOUBLE) AS games_vs_opponent,
    'calculated' AS games_vs_opponent__src,
    j.spm_l10 AS stat_per_minute_last_10,
    CASE WHEN j.spm_l10 IS NULL THEN 'missing' WHEN j.n_l10 < 10 THEN 'partial' ELSE 'phase4' END AS stat_per_minute_last_10__src,
    j.allowed_l15 AS opp_stat_allowed_avg,
    CASE WHEN j.allowed_l15 IS NULL THEN 'missing' WHEN j.games_used_l15 < 15 THEN 'partial' ELSE 'phase4' END AS opp_stat_allowed_avg__src,
    -- the chosen pre-tip line of the market (NULL: no usable quote)
    j.line,
    j.opening_line,
    j.sportsbook,
    j.over_price,
    j.under_price,
    j.quoted_at,
    j.tipoff_at,
    j.quote_basis,
    j.snapshot_id AS line_snapshot_id,
    j.source AS line_source_feed,
    (j.line IS NOT NULL) AS has_line
FROM j
LEFT JOIN vs_opp AS v ON v.player_id = j.player_id AND v.game_date = j.game_date AND v.mk = j.mk
