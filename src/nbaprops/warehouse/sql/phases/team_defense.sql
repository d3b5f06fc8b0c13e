-- Phase 4: per team playing on D, defense over its last 15 games before D (points allowed,
-- FG% allowed by zone vs the league's season-to-date average, defensive rating, pace) and offense
-- over its last 10 (pace, offensive rating), plus season win percentage.
WITH allowed AS (
    -- what opponents' players shot against this team, per game
    SELECT game_id, opponent_abbr AS team_abbr,
           sum(fga_paint) AS fga_paint, sum(fgm_paint) AS fgm_paint,
           sum(fga_mid) AS fga_mid, sum(fgm_mid) AS fgm_mid,
           sum(fg3a) AS fg3a, sum(fg3m) AS fg3m
    FROM player_game_summary
    WHERE game_date < $date_to
    GROUP BY game_id, opponent_abbr
),
tg AS (
    SELECT
        t.team_abbr, t.game_date, t.season_year,
        LEAD(t.game_date) OVER w AS next_game_date,
        COUNT(*) OVER l15 AS games_used_l15,
        AVG(t.points_allowed) OVER l15 AS points_allowed_l15,
        AVG(t.defensive_rating) OVER l15 AS def_rating_l15,
        AVG(t.pace) OVER l15 AS pace_l15,
        SUM(a.fgm_paint) OVER l15 / nullif(SUM(a.fga_paint) OVER l15, 0) AS paint_fg_pct_allowed,
        SUM(a.fgm_mid) OVER l15 / nullif(SUM(a.fga_mid) OVER l15, 0) AS mid_fg_pct_allowed,
        SUM(a.fg3m) OVER l15 / nullif(SUM(a.fg3a) OVER l15, 0) AS three_fg_pct_allowed,
        COUNT(*) OVER l10 AS games_used_l10,
        AVG(t.pace) OVER l10 AS pace_l10,
        AVG(t.offensive_rating) OVER l10 AS off_rating_l10,
        COUNT(*) OVER s AS games_season,
        AVG(CASE WHEN t.won THEN 1.0 ELSE 0.0 END) OVER s AS win_pct_season
    FROM team_game_summary AS t
    LEFT JOIN allowed AS a ON a.game_id = t.game_id AND a.team_abbr = t.team_abbr
    WHERE t.game_date < $date_to
    WINDOW w AS (PARTITION BY t.team_abbr ORDER BY t.game_date ASC NULLS FIRST),
           l15 AS (PARTITION BY t.team_abbr ORDER BY t.game_date ASC NULLS FIRST
                   ROWS BETWEEN 14 PRECEDING AND CURRENT ROW),
           l10 AS (PARTITION BY t.team_abbr ORDER BY t.game_date ASC NULLS FIRST
                   ROWS BETWEEN 9 PRECEDING AND CURRENT ROW),
           s AS (PARTITION BY t.team_abbr, t.season_year ORDER BY t.game_date ASC NULLS FIRST
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
league_daily AS (
    SELECT game_date, season_year,
           sum(fga_paint) AS fga_paint, sum(fgm_paint) AS fgm_paint, sum(fga_mid) AS fga_mid,
           sum(fgm_mid) AS fgm_mid, sum(fg3a) AS fg3a, sum(fg3m) AS fg3m
    FROM player_game_summary
    WHERE game_date < $date_to
    GROUP BY game_date, season_year
),
league AS (
    SELECT game_date, season_year,
           LEAD(game_date) OVER (PARTITION BY season_year ORDER BY game_date ASC NULLS FIRST) AS next_date,
           SUM(fgm_paint) OVER c / nullif(SUM(fga_paint) OVER c, 0) AS paint_fg_pct,
           SUM(fgm_mid) OVER c / nullif(SUM(fga_mid) OVER c, 0) AS mid_fg_pct,
           SUM(fg3m) OVER c / nullif(SUM(fg3a) OVER c, 0) AS three_fg_pct
    FROM league_daily
    WINDOW c AS (PARTITION BY season_year ORDER BY game_date ASC NULLS FIRST
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
slate AS (
    SELECT game_date, season_year, home_abbr AS team_abbr FROM games WHERE game_date BETWEEN $date_from AND $date_to
    UNION
    SELECT game_date, season_year, away_abbr AS team_abbr FROM games WHERE game_date BETWEEN $date_from AND $date_to
)
SELECT
    s.game_date AS analysis_date,
    s.team_abbr,
    t.game_date AS last_game_date,
    t.games_used_l15,
    t.points_allowed_l15,
    t.def_rating_l15,
    t.pace_l15,
    t.paint_fg_pct_allowed,
    t.mid_fg_pct_allowed,
    t.three_fg_pct_allowed,
    -- percentage points above (+) or below (-) the league; positive = a weaker defense of the zone
    100.0 * (t.paint_fg_pct_allowed - l.paint_fg_pct) AS paint_vs_league,
    100.0 * (t.mid_fg_pct_allowed - l.mid_fg_pct) AS mid_vs_league,
    100.0 * (t.three_fg_pct_allowed - l.three_fg_pct) AS three_vs_league,
    t.games_used_l10,
    t.pace_l10,
    t.off_rating_l10,
    CASE WHEN t.season_year = s.season_year THEN t.games_season ELSE 0 END AS games_season,
    CASE WHEN t.season_year = s.season_year THEN t.win_pct_season END AS win_pct_season
FROM slate AS s
LEFT JOIN tg AS t
  ON t.team_abbr = s.team_abbr
 AND t.game_date < s.game_date
 AND (t.next_game_date IS NULL OR t.next_game_date >= s.game_date)
LEFT JOIN league AS l
  ON l.season_year = s.season_year
 AND l.game_date < s.game_date
 AND (l.next_date IS NULL OR l.next_date >= s.game_date)
