-- Phase 4: who plays and for how long, point in time (issue 10). One row per row of
-- upcoming_player_game_context (date D, player, team, opponent), from box scores of games strictly
-- before D only (docs/features.md, "Availability"):
--   * the roster of a team on D = players whose latest game of the season before D was for it
--     (a traded player belongs to his new team from his first game for it);
--   * a player's absence streak = games of his roster team after his latest game, before D;
--   * "recently out" = missed the team's previous game but played within its last 11 (streak 1..10):
--     a longer absence is already in everyone's recent averages;
--   * shares of team minutes / FGA / points are over the player's last 10 games of the season for
--     that team.
-- Who plays ON D is unknown from box scores before D: "missed the team's previous game" is the proxy.
WITH pb AS (
    SELECT b.game_id, b.game_date, b.season, b.player_id, b.team_abbr, b.minutes, b.pts, b.fga,
           -- the box score's start flag; a source without it: the team's top 5 by minutes
           coalesce(b.starter, ROW_NUMBER() OVER (PARTITION BY b.game_id, b.team_abbr
                                                  ORDER BY b.minutes DESC NULLS LAST, b.player_id ASC NULLS FIRST) <= 5) AS started
    FROM player_boxscores AS b
    WHERE b.game_date < $date_to
),
team_games AS (
    -- minutes summed as decimals: a parallel float sum differs in the last bit run to run
    SELECT game_id, team_abbr, min(game_date) AS game_date, min(season) AS season,
           CAST(sum(CAST(minutes AS DECIMAL(18, 6))) AS DOUBLE) AS team_minutes,
           sum(fga) AS team_fga, sum(pts) AS team_pts
    FROM pb
    GROUP BY game_id, team_abbr
),
tseq AS (
    -- the n-th game of the team in the season
    SELECT game_id, team_abbr, season, game_date, team_minutes, team_fga, team_pts,
           ROW_NUMBER() OVER (PARTITION BY team_abbr, season ORDER BY game_date ASC NULLS FIRST, game_id ASC NULLS FIRST) AS team_game_no,
           LEAD(game_date) OVER (PARTITION BY team_abbr, season ORDER BY game_date ASC NULLS FIRST, game_id ASC NULLS FIRST) AS next_game_date
    FROM team_games
),
pg AS (
    SELECT p.*, t.team_game_no, t.team_minutes, t.team_fga, t.team_pts,
           ROW_NUMBER() OVER ps AS season_game_no,
           LAG(p.team_abbr) OVER ps AS prev_team,
           LAG(t.team_game_no) OVER ps AS prev_team_game_no,
           LEAD(p.game_date) OVER ps AS next_game_date,
           sum(p.minutes) OVER (ps ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_minutes
    FROM pb AS p
    JOIN tseq AS t ON t.game_id = p.game_id AND t.team_abbr = p.team_abbr
    WINDOW ps AS (PARTITION BY p.player_id, p.season ORDER BY p.game_date ASC NULLS FIRST, p.game_id ASC NULLS FIRST)
),
gaps AS (
    SELECT *,
           -- team games missed just before this game: same team -> games between his two appearances;
           -- first game of his season -> the team's games before it; first game after a trade -> 0
           CASE WHEN prev_team IS NULL THEN team_game_no - 1
                WHEN prev_team = team_abbr THEN team_game_no - prev_team_game_no - 1
                ELSE 0 END AS games_missed_before
    FROM pg
),
roll AS (
    SELECT *,
           count(*) OVER l10 AS n_l10,
           count(*) OVER l3 AS n_l3,
           avg(minutes) OVER l10 AS minutes_l10,
           avg(minutes) OVER l5 AS minutes_l5,
           avg(minutes) OVER l3 AS minutes_l3,
           sum(minutes) OVER l10 / nullif(sum(team_minutes) OVER l10, 0) AS minutes_share_l10,
           sum(fga) OVER l10 / nullif(sum(team_fga) OVER l10, 0) AS fga_share_l10,
           sum(pts) OVER l10 / nullif(sum(team_pts) OVER l10, 0) AS pts_share_l10,
           sum(CASE WHEN started THEN 1 ELSE 0 END) OVER l10 AS starts_l10,
           -- the latest game ending an absence of 3+ team games, and his minutes before it
           max(CASE WHEN games_missed_before >= 3 THEN season_game_no END) OVER run AS return_game_no,
           max(CASE WHEN games_missed_before >= 3 THEN cum_minutes - coalesce(minutes, 0) END) OVER run AS minutes_before_return
    FROM gaps
    -- rolling figures over his games for his current team (a traded player's role starts afresh)
    WINDOW l10 AS (PARTITION BY player_id, season, team_abbr ORDER BY game_date ASC NULLS FIRST, game_id ASC NULLS FIRST
                   ROWS BETWEEN 9 PRECEDING AND CURRENT ROW),
           l5 AS (PARTITION BY player_id, season, team_abbr ORDER BY game_date ASC NULLS FIRST, game_id ASC NULLS FIRST
                  ROWS BETWEEN 4 PRECEDING AND CURRENT ROW),
           l3 AS (PARTITION BY player_id, season, team_abbr ORDER BY game_date ASC NULLS FIRST, game_id ASC NULLS FIRST
                  ROWS BETWEEN 2 PRECEDING AND CURRENT ROW),
           run AS (PARTITION BY player_id, season ORDER BY game_date ASC NULLS FIRST, game_id ASC NULLS FIRST
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
days AS (
    SELECT DISTINCT game_date AS d, season FROM games WHERE game_date BETWEEN $date_from AND $date_to
),
team_state AS (
    -- each team's games of the season before D
    SELECT d.d, t.team_abbr, t.team_game_no AS team_games_before
    FROM days AS d
    JOIN tseq AS t
      ON t.season = d.season
     AND t.game_date < d.d
     AND (t.next_game_date IS NULL OR t.next_game_date >= d.d)
),
roster AS (
    -- each player's latest game of the season before D: his team on D and his absence streak
    SELECT d.d, r.player_id, r.team_abbr, r.season_game_no, r.team_game_no, r.n_l10, r.n_l3,
           r.minutes_l10, r.minutes_l5, r.minutes_l3, r.minutes_share_l10, r.fga_share_l10, r.pts_share_l10,
           r.starts_l10, r.return_game_no, r.minutes_before_return, r.cum_minutes,
           -- shares as exact decimals, so that team sums and "minus his own share" are exact
           CAST(r.minutes_share_l10 AS DECIMAL(18, 12)) AS min_share_dec,
           CAST(r.fga_share_l10 AS DECIMAL(18, 12)) AS fga_share_dec,
           CAST(r.pts_share_l10 AS DECIMAL(18, 12)) AS pts_share_dec,
           s.team_games_before - r.team_game_no AS streak,
           (s.team_games_before - r.team_game_no BETWEEN 1 AND 10) AS recently_out,
           (r.minutes_l10 >= $rotation_min_minutes) AS is_rotation,
           (2 * r.starts_l10 > r.n_l10) AS is_starter
    FROM days AS d
    JOIN roll AS r
      ON r.season = d.season
     AND r.game_date < d.d
     AND (r.next_game_date IS NULL OR r.next_game_date >= d.d)
    JOIN team_state AS s ON s.d = d.d AND s.team_abbr = r.team_abbr
),
team_out AS (
    SELECT s.d, s.team_abbr,
           count(CASE WHEN r.recently_out AND r.is_rotation THEN 1 END) AS players_out,
           coalesce(sum(CASE WHEN r.recently_out THEN r.min_share_dec END), 0) AS vac_minutes,
           coalesce(sum(CASE WHEN r.recently_out THEN r.fga_share_dec END), 0) AS vac_fga,
           coalesce(sum(CASE WHEN r.recently_out THEN r.pts_share_dec END), 0) AS vac_pts,
           -- absences that began at one of the team's last two games (barely in anyone's averages)
           coalesce(sum(CASE WHEN r.streak BETWEEN 1 AND 2 THEN r.min_share_dec END), 0) AS vac_minutes_new,
           count(CASE WHEN r.recently_out AND r.is_starter THEN 1 END) AS starters_out
    FROM team_state AS s
    LEFT JOIN roster AS r ON r.d = s.d AND r.team_abbr = s.team_abbr
    GROUP BY s.d, s.team_abbr
),
j AS (
    SELECT c.game_date, c.game_id, c.player_id, c.team_abbr, c.opponent_abbr,
           r.streak, r.season_game_no, r.return_game_no, r.minutes_before_return, r.cum_minutes,
           r.n_l3, r.minutes_l3, r.minutes_l10, r.minutes_l5, r.minutes_share_l10, r.fga_share_l10,
           r.min_share_dec, r.fga_share_dec, r.pts_share_dec,
           -- his own share is not "vacated" for himself
           (r.team_abbr = c.team_abbr AND r.recently_out) AS own_out,
           coalesce(r.is_rotation, FALSE) AS own_rotation,
           coalesce(r.is_starter, FALSE) AS own_starter,
           o.players_out, o.vac_minutes, o.vac_fga, o.vac_pts, o.vac_minutes_new, o.starters_out,
           r.streak BETWEEN 1 AND 2 AS own_new_out,
           x.players_out AS opp_players_out, x.vac_minutes AS opp_vac_minutes, x.vac_fga AS opp_vac_fga,
           x.vac_pts AS opp_vac_pts, x.starters_out AS opp_starters_out
    FROM upcoming_player_game_context AS c
    LEFT JOIN roster AS r ON r.d = c.game_date AND r.player_id = c.player_id
    LEFT JOIN team_out AS o ON o.d = c.game_date AND o.team_abbr = c.team_abbr
    LEFT JOIN team_out AS x ON x.d = c.game_date AND x.team_abbr = c.opponent_abbr
    WHERE c.game_date BETWEEN $date_from AND $date_to
),
f AS (
    SELECT j.game_date, j.game_id, j.player_id, j.team_abbr, j.opponent_abbr,
           CAST(j.streak AS DOUBLE) AS games_missed_streak,
           CAST(CASE WHEN j.streak >= 3 THEN 0
                     WHEN j.return_game_no IS NOT NULL THEN j.season_game_no - j.return_game_no + 1 END AS DOUBLE)
               AS games_since_return,
           CASE WHEN j.streak < 3 AND j.return_game_no IS NOT NULL
                THEN (j.cum_minutes - j.minutes_before_return) / (j.season_game_no - j.return_game_no + 1) END
               AS minutes_since_return,
           CASE WHEN j.n_l3 >= 3 THEN j.minutes_l3 - j.minutes_l10 END AS minutes_trend_3_10,
           j.minutes_share_l10 AS minutes_share_last_10,
           j.fga_share_l10 AS fga_share_last_10,
           CAST(j.players_out - CASE WHEN j.own_out AND j.own_rotation THEN 1 ELSE 0 END AS DOUBLE) AS teammates_out,
           CAST(j.vac_minutes - CASE WHEN j.own_out THEN j.min_share_dec ELSE 0 END AS DOUBLE) AS vacated_minutes_share,
           CAST(j.vac_fga - CASE WHEN j.own_out THEN j.fga_share_dec ELSE 0 END AS DOUBLE) AS vacated_fga_share,
           CAST(j.vac_pts - CASE WHEN j.own_out THEN j.pts_share_dec ELSE 0 END AS DOUBLE) AS vacated_points_share,
           CAST(j.starters_out - CASE WHEN j.own_out AND j.own_starter THEN 1 ELSE 0 END AS DOUBLE) AS starters_missing,
           CAST(j.opp_players_out AS DOUBLE) AS opp_players_out,
           CAST(j.opp_vac_minutes AS DOUBLE) AS opp_vacated_minutes_share,
           CAST(j.opp_vac_fga AS DOUBLE) AS opp_vacated_fga_share,
           CAST(j.opp_vac_pts AS DOUBLE) AS opp_vacated_points_share,
           CAST(j.opp_starters_out AS DOUBLE) AS opp_starters_missing,
           -- his last-5 minutes with the minutes of teammates out since the last two games spread
           -- over the players left in proportion (denominator floored at 0.5), capped at 48
           least(48.0, j.minutes_l5 / greatest(0.5, 1.0 - CAST(j.vac_minutes_new
                 - CASE WHEN j.own_new_out AND j.own_out THEN j.min_share_dec ELSE 0 END AS DOUBLE))) AS projected_minutes
    FROM j
)
SELECT
    game_date, game_id, player_id, team_abbr, opponent_abbr,
    games_missed_streak,
    CASE WHEN games_missed_streak IS NULL THEN 'missing' ELSE 'phase4' END AS games_missed_streak__src,
    games_since_return,
    CASE WHEN games_since_return IS NULL THEN 'missing' ELSE 'phase4' END AS games_since_return__src,
    minutes_since_return,
    CASE WHEN minutes_since_return IS NULL THEN 'missing' ELSE 'phase4' END AS minutes_since_return__src,
    minutes_trend_3_10,
    CASE WHEN minutes_trend_3_10 IS NULL THEN 'missing' ELSE 'phase4' END AS minutes_trend_3_10__src,
    minutes_share_last_10,
    CASE WHEN minutes_share_last_10 IS NULL THEN 'missing' ELSE 'phase4' END AS minutes_share_last_10__src,
    fga_share_last_10,
    CASE WHEN fga_share_last_10 IS NULL THEN 'missing' ELSE 'phase4' END AS fga_share_last_10__src,
    teammates_out,
    CASE WHEN teammates_out IS NULL THEN 'missing' ELSE 'phase4' END AS teammates_out__src,
    vacated_minutes_share,
    CASE WHEN vacated_minutes_share IS NULL THEN 'missing' ELSE 'phase4' END AS vacated_minutes_share__src,
    vacated_fga_share,
    CASE WHEN vacated_fga_share IS NULL THEN 'missing' ELSE 'phase4' END AS vacated_fga_share__src,
    vacated_points_share,
    CASE WHEN vacated_points_share IS NULL THEN 'missing' ELSE 'phase4' END AS vacated_points_share__src,
    starters_missing,
    CASE WHEN starters_missing IS NULL THEN 'missing' ELSE 'phase4' END AS starters_missing__src,
    opp_players_out,
    CASE WHEN opp_players_out IS NULL THEN 'missing' ELSE 'phase4' END AS opp_players_out__src,
    opp_vacated_minutes_share,
    CASE WHEN opp_vacated_minutes_share IS NULL THEN 'missing' ELSE 'phase4' END AS opp_vacated_minutes_share__src,
    opp_vacated_fga_share,
    CASE WHEN opp_vacated_fga_share IS NULL THEN 'missing' ELSE 'phase4' END AS opp_vacated_fga_share__src,
    opp_vacated_points_share,
    CASE WHEN opp_vacated_points_share IS NULL THEN 'missing' ELSE 'phase4' END AS opp_vacated_points_share__src,
    opp_starters_missing,
    CASE WHEN opp_starters_missing IS NULL THEN 'missing' ELSE 'phase4' END AS opp_starters_missing__src,
    projected_minutes,
    CASE WHEN projected_minutes IS NULL THEN 'missing' ELSE 'phase4' END AS projected_minutes__src
FROM f
