-- Phase 3: one row per team per game: possessions, pace, offensive and defensive rating.
WITH t AS (
    SELECT
        tb.*,
        o.pts AS opp_pts,
        o.possessions AS opp_possessions,
        -- Possessions as published (box_score_advanced); if a source lacks them, the standard
        -- box-score estimate from real counts.
        coalesce(tb.possessions, tb.fga + 0.44 * tb.fta - tb.oreb + tb.tov) AS poss,
        coalesce(o.possessions, o.fga + 0.44 * o.fta - o.oreb + o.tov) AS opp_poss
    FROM team_boxscores AS tb
    JOIN team_boxscores AS o ON o.game_id = tb.game_id AND o.team_abbr = tb.opp_abbr
)
SELECT
    t.game_id,
    t.game_date,
    t.season,
    g.season_year,
    g.season_type,
    t.team_abbr,
    t.opp_abbr AS opponent_abbr,
    t.is_home,
    t.won,
    t.pts AS points,
    t.opp_pts AS points_allowed,
    t.poss AS possessions,
    CASE WHEN t.possessions IS NULL THEN 'estimated_from_box' ELSE 'published' END AS possessions_source,
    -- pace = possessions per 48 minutes (team minutes / 5 = game minutes)
    t.poss * 48.0 / (coalesce(t.minutes, 240.0) / 5.0) AS pace,
    100.0 * t.pts / nullif(t.poss, 0) AS offensive_rating,
    100.0 * t.opp_pts / nullif(t.opp_poss, 0) AS defensive_rating,
    t.fga, t.fgm, t.fg3a, t.fg3m, t.fta, t.ftm, t.oreb, t.tov
FROM t
JOIN games AS g ON g.game_id = t.game_id
WHERE t.game_date BETWEEN $date_from AND $date_to
