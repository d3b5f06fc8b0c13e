-- Phase 4: the 33 v2 features (and context) per player and date, each with its source.
-- A value that cannot be computed from real data is NULL with source 'missing'.
WITH j AS (
    SELECT
        c.game_date, c.game_id, c.player_id, c.team_abbr, c.opponent_abbr, c.is_home, c.season_type,
        c.is_expected, c.has_line, c.played, c.days_rest, c.opponent_days_rest, c.back_to_back,
        c.games_in_last_7_days, c.last_game_date,
        c.current_points_line, c.opening_points_line, c.sportsbook, c.line_snapshot_id,
        dc.points_avg_last_5, dc.games_used_l5, dc.points_avg_last_10, dc.games_used_l10,
        dc.points_std_last_10, dc.points_avg_season, dc.games_played_season, dc.trend_raw,
        dc.minutes_avg_last_10, dc.minutes_avg_season, dc.ppm_avg_last_10,
        cf.fatigue_score, cf.shot_zone_mismatch_score, cf.pace_score, cf.usage_spike_score,
        sp.pct_paint, sp.pct_mid_range, sp.pct_three, sp.pct_free_throw, sp.games_used AS zone_games,
        opp.def_rating_l15, opp.pace_l15, opp.games_used_l15, opp.points_allowed_l15,
        opp.paint_vs_league, opp.mid_vs_league, opp.three_vs_league,
        own.pace_l10, own.off_rating_l10, own.games_used_l10 AS team_games_l10,
        own.win_pct_season, own.games_season
    FROM upcoming_player_game_context AS c
    LEFT JOIN player_daily_cache AS dc ON dc.player_id = c.player_id AND dc.cache_date = c.game_date
    LEFT JOIN composite_factors AS cf ON cf.player_id = c.player_id AND cf.game_date = c.game_date
    LEFT JOIN player_scoring_profile AS sp ON sp.player_id = c.player_id AND sp.analysis_date = c.game_date
    LEFT JOIN team_defense AS opp ON opp.team_abbr = c.opponent_abbr AND opp.analysis_date = c.game_date
    LEFT JOIN team_defense AS own ON own.team_abbr = c.team_abbr AND own.analysis_date = c.game_date
    WHERE c.game_date BETWEEN $date_from AND $date_to
),
vs_opp AS (
    SELECT j.game_date, j.player_id, avg(p.points) AS avg_points_vs_opponent, count(*) AS games_vs_opponent
    FROM j
    JOIN player_game_summary AS p
      ON p.player_id = j.player_id
     AND p.opponent_abbr = j.opponent_abbr
     AND p.game_date < j.game_date
     AND p.game_date >= j.game_date - INTERVAL 365 DAY
    GROUP BY j.game_date, j.player_id
)
SELECT
    j.game_date, j.game_id, j.player_id, j.team_abbr, j.opponent_abbr, j.is_home,
    j.is_expected, j.has_line, j.played, j.sportsbook, j.line_snapshot_id,
    -- 0-4
    j.points_avg_last_5,
    CASE WHEN j.points_avg_last_5 IS NULL THEN 'missing' WHEN j.games_used_l5 < 5 THEN 'partial' ELSE 'phase4' END AS points_avg_last_5__src,
    j.points_avg_last_10,
    CASE WHEN j.points_avg_last_10 IS NULL THEN 'missing' WHEN j.games_used_l10 < 10 THEN 'partial' ELSE 'phase4' END AS points_avg_last_10__src,
    j.points_avg_season,
    CASE WHEN j.points_avg_season IS NULL THEN 'missing' ELSE 'phase4' END AS points_avg_season__src,
    j.points_std_last_10,
    CASE WHEN j.points_std_last_10 IS NULL THEN 'missing' WHEN j.games_used_l10 < 10 THEN 'partial' ELSE 'phase4' END AS points_std_last_10__src,
    CAST(j.games_in_last_7_days AS DOUBLE) AS games_in_last_7_days,
    'phase3' AS games_in_last_7_days__src,
    -- 5-8
    CAST(j.fatigue_score AS DOUBLE) AS fatigue_score,
    CASE WHEN j.fatigue_score IS NULL THEN 'missing' ELSE 'phase4' END AS fatigue_score__src,
    j.shot_zone_mismatch_score,
    CASE WHEN j.shot_zone_mismatch_score IS NULL THEN 'missing' ELSE 'phase4' END AS shot_zone_mismatch_score__src,
    j.pace_score,
    CASE WHEN j.pace_score IS NULL THEN 'missing' ELSE 'phase4' END AS pace_score__src,
    j.usage_spike_score,
    CASE WHEN j.usage_spike_score IS NULL THEN 'missing' ELSE 'phase4' END AS usage_spike_score__src,
    -- 9-12
    -- greatest/least skip NULLs in DuckDB and Spark (not in BigQuery): guard so a missing rest stays NULL
    CASE WHEN j.days_rest IS NULL OR j.opponent_days_rest IS NULL THEN NULL
         ELSE CAST(greatest(-2, least(2, j.days_rest - j.opponent_days_rest)) AS DOUBLE) END AS rest_advantage,
    CASE WHEN j.days_rest IS NULL OR j.opponent_days_rest IS NULL THEN 'missing' ELSE 'calculated' END AS rest_advantage__src,
    CAST(NULL AS DOUBLE) AS injury_risk,   -- no injury report ingested for this date
    'missing' AS injury_risk__src,
    CAST(CASE WHEN j.trend_raw IS NULL THEN NULL
              WHEN j.trend_raw >= 5 THEN 2 WHEN j.trend_raw >= 2 THEN 1
              WHEN j.trend_raw <= -5 THEN -2 WHEN j.trend_raw <= -2 THEN -1 ELSE 0 END AS DOUBLE) AS recent_trend,
    CASE WHEN j.trend_raw IS NULL THEN 'missing' ELSE 'calculated' END AS recent_trend__src,
    CAST(CASE WHEN j.minutes_avg_season IS NULL OR j.minutes_avg_season = 0 OR j.minutes_avg_last_10 IS NULL THEN NULL
              WHEN (j.minutes_avg_last_10 - j.minutes_avg_season) / j.minutes_avg_season >= 0.2 THEN 2
              WHEN (j.minutes_avg_last_10 - j.minutes_avg_season) / j.minutes_avg_season >= 0.1 THEN 1
              WHEN (j.minutes_avg_last_10 - j.minutes_avg_season) / j.minutes_avg_season <= -0.2 THEN -2
              WHEN (j.minutes_avg_last_10 - j.minutes_avg_season) / j.minutes_avg_season <= -0.1 THEN -1
              ELSE 0 END AS DOUBLE) AS minutes_change,
    CASE WHEN j.minutes_avg_season IS NULL OR j.minutes_avg_season = 0 OR j.minutes_avg_last_10 IS NULL THEN 'missing' ELSE 'calculated' END AS minutes_change__src,
    -- 13-17
    j.def_rating_l15 AS opponent_def_rating,
    CASE WHEN j.def_rating_l15 IS NULL THEN 'missing' WHEN j.games_used_l15 < 15 THEN 'partial' ELSE 'phase4' END AS opponent_def_rating__src,
    j.pace_l15 AS opponent_pace,
    CASE WHEN j.pace_l15 IS NULL THEN 'missing' WHEN j.games_used_l15 < 15 THEN 'partial' ELSE 'phase4' END AS opponent_pace__src,
    CASE WHEN j.is_home THEN 1.0 ELSE 0.0 END AS home_away,
    'phase3' AS home_away__src,
    CASE WHEN j.back_to_back IS NULL THEN NULL WHEN j.back_to_back THEN 1.0 ELSE 0.0 END AS back_to_back,
    CASE WHEN j.back_to_back IS NULL THEN 'missing' ELSE 'phase3' END AS back_to_back__src,
    CASE WHEN j.season_type = 'Playoffs' THEN 1.0 ELSE 0.0 END AS playoff_game,
    'phase3' AS playoff_game__src,
    -- 18-21
    j.pct_paint,
    CASE WHEN j.pct_paint IS NULL THEN 'missing' WHEN j.zone_games < 10 THEN 'partial' ELSE 'phase4' END AS pct_paint__src,
    j.pct_mid_range,
    CASE WHEN j.pct_mid_range IS NULL THEN 'missing' WHEN j.zone_games < 10 THEN 'partial' ELSE 'phase4' END AS pct_mid_range__src,
    j.pct_three,
    CASE WHEN j.pct_three IS NULL THEN 'missing' WHEN j.zone_games < 10 THEN 'partial' ELSE 'phase4' END AS pct_three__src,
    j.pct_free_throw,
    CASE WHEN j.pct_free_throw IS NULL THEN 'missing' WHEN j.zone_games < 10 THEN 'partial' ELSE 'phase4' END AS pct_free_throw__src,
    -- 22-24
    j.pace_l10 AS team_pace,
    CASE WHEN j.pace_l10 IS NULL THEN 'missing' WHEN j.team_games_l10 < 10 THEN 'partial' ELSE 'phase4' END AS team_pace__src,
    j.off_rating_l10 AS team_off_rating,
    CASE WHEN j.off_rating_l10 IS NULL THEN 'missing' WHEN j.team_games_l10 < 10 THEN 'partial' ELSE 'phase4' END AS team_off_rating__src,
    CASE WHEN j.games_season >= 5 THEN j.win_pct_season END AS team_win_pct,
    CASE WHEN j.games_season >= 5 AND j.win_pct_season IS NOT NULL THEN 'phase4' ELSE 'missing' END AS team_win_pct__src,
    -- 25-28
    j.current_points_line AS vegas_points_line,
    CASE WHEN j.current_points_line IS NULL THEN 'missing' ELSE 'vegas' END AS vegas_points_line__src,
    j.opening_points_line AS vegas_opening_line,
    CASE WHEN j.opening_points_line IS NULL THEN 'missing' ELSE 'vegas' END AS vegas_opening_line__src,
    j.current_points_line - j.opening_points_line AS vegas_line_move,
    CASE WHEN j.current_points_line IS NULL OR j.opening_points_line IS NULL THEN 'missing' ELSE 'vegas' END AS vegas_line_move__src,
    CASE WHEN j.current_points_line IS NULL THEN 0.0 ELSE 1.0 END AS has_vegas_line,
    'calculated' AS has_vegas_line__src,
    -- 29-32
    v.avg_points_vs_opponent,
    CASE WHEN v.avg_points_vs_opponent IS NULL THEN 'missing' ELSE 'calculated' END AS avg_points_vs_opponent__src,
    CAST(coalesce(v.games_vs_opponent, 0) AS DOUBLE) AS games_vs_opponent,
    'calculated' AS games_vs_opponent__src,
    j.minutes_avg_last_10,
    CASE WHEN j.minutes_avg_last_10 IS NULL THEN 'missing' WHEN j.games_used_l10 < 10 THEN 'partial' ELSE 'phase4' END AS minutes_avg_last_10__src,
    j.ppm_avg_last_10,
    CASE WHEN j.ppm_avg_last_10 IS NULL THEN 'missing' WHEN j.games_used_l10 < 10 THEN 'partial' ELSE 'phase4' END AS ppm_avg_last_10__src,
    -- context (not model inputs)
    j.paint_vs_league / 100.0 AS opp_paint_fg_pct_vs_league,
    j.mid_vs_league / 100.0 AS opp_mid_fg_pct_vs_league,
    j.three_vs_league / 100.0 AS opp_three_fg_pct_vs_league,
    j.points_allowed_l15 AS opp_points_allowed_avg,
    j.days_rest,
    j.opponent_days_rest,
    j.games_played_season
FROM j
LEFT JOIN vs_opp AS v ON v.player_id = j.player_id AND v.game_date = j.game_date
