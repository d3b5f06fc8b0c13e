-- Phase 4: composite factors from data that exists. NULL when an input is missing.
WITH base AS (
    SELECT
        c.game_date, c.player_id, c.team_abbr, c.opponent_abbr,
        c.days_rest, c.back_to_back, c.games_in_last_7_days, c.minutes_in_last_7_days,
        dc.usage36_last_3, dc.usage36_last_10,
        sp.primary_zone, sp.pct_paint, sp.pct_mid_range, sp.pct_three,
        opp.paint_vs_league, opp.mid_vs_league, opp.three_vs_league, opp.pace_l15 AS opp_pace,
        own.pace_l10 AS team_pace
    FROM upcoming_player_game_context AS c
    LEFT JOIN player_daily_cache AS dc ON dc.player_id = c.player_id AND dc.cache_date = c.game_date
    LEFT JOIN player_scoring_profile AS sp ON sp.player_id = c.player_id AND sp.analysis_date = c.game_date
    LEFT JOIN team_defense AS opp ON opp.team_abbr = c.opponent_abbr AND opp.analysis_date = c.game_date
    LEFT JOIN team_defense AS own ON own.team_abbr = c.team_abbr AND own.analysis_date = c.game_date
    WHERE c.game_date BETWEEN $date_from AND $date_to
),
zone AS (
    SELECT *,
           CASE primary_zone WHEN 'paint' THEN paint_vs_league WHEN 'mid_range' THEN mid_vs_league
                             WHEN 'three' THEN three_vs_league END AS zone_delta,
           CASE primary_zone WHEN 'paint' THEN pct_paint WHEN 'mid_range' THEN pct_mid_range
                             WHEN 'three' THEN pct_three END AS zone_share
    FROM base
)
SELECT
    game_date,
    player_id,
    -- 100 = fully rested; lower = more tired (high = rested, everywhere)
    CASE WHEN days_rest IS NULL THEN NULL ELSE greatest(0, least(100,
        100
        - CASE WHEN back_to_back THEN 15 ELSE 0 END
        + CASE WHEN days_rest >= 3 THEN 5 ELSE 0 END
        - CASE WHEN games_in_last_7_days >= 4 THEN 10 ELSE 0 END
        - CASE WHEN minutes_in_last_7_days > 120 AND games_in_last_7_days >= 3 THEN 10 ELSE 0 END
        - CASE WHEN games_in_last_7_days > 0 AND minutes_in_last_7_days / games_in_last_7_days > 35 THEN 8 ELSE 0 END
    )) END AS fatigue_score,
    -- opponent's FG% allowed in the player's main zone vs league (pp), weighted by how much he uses it
    CASE WHEN zone_delta IS NULL OR zone_share IS NULL THEN NULL ELSE greatest(-10.0, least(10.0,
        zone_delta * least(zone_share / 0.5, 1.0) * CASE WHEN abs(zone_delta) > 5 THEN 1.2 ELSE 1.0 END
    )) END AS shot_zone_mismatch_score,
    CASE WHEN team_pace IS NULL OR opp_pace IS NULL THEN NULL
         ELSE greatest(-3.0, least(3.0, (team_pace - opp_pace) / 2.0)) END AS pace_score,
    -- usage (possessions used per 36 min) over the last 3 games vs the last 10
    CASE WHEN usage36_last_3 IS NULL OR usage36_last_10 IS NULL THEN NULL
         ELSE greatest(-3.0, least(3.0, (usage36_last_3 - usage36_last_10) * 0.3)) END AS usage_spike_score,
    primary_zone,
    zone_delta,
    zone_share
FROM zone
