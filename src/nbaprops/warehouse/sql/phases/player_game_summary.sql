-- Phase 3: one row per player per game played, with rest days from the player's previous game.
WITH timeline AS (
    SELECT
        b.*,
        g.season_year,
        LAG(b.game_date) OVER (PARTITION BY b.player_id ORDER BY b.game_date ASC NULLS FIRST, b.game_id ASC NULLS FIRST) AS prev_game_date
    FROM player_boxscores AS b
    JOIN games AS g ON g.game_id = b.game_id
)
SELECT
    game_id,
    game_date,
    player_id,
    player_name,
    season,
    season_year,
    season_type,
    team_abbr,
    opp_abbr AS opponent_abbr,
    is_home,
    starter,
    minutes,
    pts AS points,
    fgm, fga, fg3m, fg3a, ftm, fta, oreb, dreb, reb, ast, stl, blk, tov, pf,
    fga_paint, fgm_paint, fga_mid, fgm_mid, fga_rim, fgm_rim, fga_c3, fgm_c3,
    -- Usage proxy: possessions the player used (shots, trips to the line, turnovers).
    fga + 0.44 * fta + tov AS usage_poss,
    CAST(date_diff('day', prev_game_date, game_date) AS INTEGER) AS days_rest,
    prev_game_date
FROM timeline
WHERE game_date BETWEEN $date_from AND $date_to
