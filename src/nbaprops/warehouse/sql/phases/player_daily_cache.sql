-- Phase 4: per player and date D, rolling scoring/minutes/usage over games played strictly before D.
-- Each game row carries windows that end at that game (inclusive); a date D is joined to the
-- player's last game before D, so "last 10" means the 10 games played before D.
WITH pg AS (
    SELECT
        player_id, game_date, season_year, points, minutes,
        LEAD(game_date) OVER w AS next_game_date,
        COUNT(*) OVER (w ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS n_l5,
        AVG(points) OVER (w ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS pts_l5,
        COUNT(*) OVER (w ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS n_l10,
        AVG(points) OVER (w ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS pts_l10,
        STDDEV_SAMP(points) OVER (w ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS pts_std_l10,
        AVG(minutes) OVER (w ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS min_l10,
        SUM(points) OVER (w ROWS BETWEEN 9 PRECEDING AND CURRENT ROW)
            / nullif(SUM(minutes) OVER (w ROWS BETWEEN 9 PRECEDING AND CURRENT ROW), 0) AS ppm_l10,
        SUM(usage_poss) OVER (w ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) * 36.0
            / nullif(SUM(minutes) OVER (w ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), 0) AS usage36_l3,
        SUM(usage_poss) OVER (w ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) * 36.0
            / nullif(SUM(minutes) OVER (w ROWS BETWEEN 9 PRECEDING AND CURRENT ROW), 0) AS usage36_l10,
        AVG(points) OVER (w ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
            - AVG(points) OVER (w ROWS BETWEEN 4 PRECEDING AND 2 PRECEDING) AS trend_raw,
        COUNT(*) OVER s AS gp_season,
        AVG(points) OVER s AS pts_season,
        AVG(minutes) OVER s AS min_season
    FROM player_game_summary
    WHERE game_date < $date_to
    WINDOW w AS (PARTITION BY player_id ORDER BY game_date ASC NULLS FIRST),
           s AS (PARTITION BY player_id, season_year ORDER BY game_date ASC NULLS FIRST
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT
    c.game_date AS cache_date,
    c.player_id,
    p.game_date AS last_game_date,
    p.n_l5 AS games_used_l5,
    p.pts_l5 AS points_avg_last_5,
    p.n_l10 AS games_used_l10,
    p.pts_l10 AS points_avg_last_10,
    p.pts_std_l10 AS points_std_last_10,
    p.min_l10 AS minutes_avg_last_10,
    p.ppm_l10 AS ppm_avg_last_10,
    p.usage36_l3 AS usage36_last_3,
    p.usage36_l10 AS usage36_last_10,
    CASE WHEN p.n_l5 >= 5 THEN p.trend_raw END AS trend_raw,
    -- season figures only when the last game was in the season of D
    CASE WHEN p.season_year = c.season_year THEN p.gp_season ELSE 0 END AS games_played_season,
    CASE WHEN p.season_year = c.season_year THEN p.pts_season END AS points_avg_season,
    CASE WHEN p.season_year = c.season_year THEN p.min_season END AS minutes_avg_season
FROM upcoming_player_game_context AS c
LEFT JOIN pg AS p
  ON p.player_id = c.player_id
 AND p.game_date < c.game_date
 AND (p.next_game_date IS NULL OR p.next_game_date >= c.game_date)
WHERE c.game_date BETWEEN $date_from AND $date_to
