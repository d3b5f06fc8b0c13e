-- Phase 4: per player and date D, where the player's shots came from over his last 10 games before D.
WITH pg AS (
    SELECT
        player_id, game_date,
        LEAD(game_date) OVER w AS next_game_date,
        COUNT(*) OVER l10 AS n_l10,
        SUM(fga) OVER l10 AS fga_l10,
        SUM(fga_paint) OVER l10 AS fga_paint_l10,
        SUM(fgm_paint) OVER l10 AS fgm_paint_l10,
        SUM(fga_mid) OVER l10 AS fga_mid_l10,
        SUM(fgm_mid) OVER l10 AS fgm_mid_l10,
        SUM(fg3a) OVER l10 AS fg3a_l10,
        SUM(fg3m) OVER l10 AS fg3m_l10,
        SUM(ftm) OVER l10 AS ftm_l10,
        SUM(points) OVER l10 AS pts_l10
    FROM player_game_summary
    WHERE game_date < $date_to
    WINDOW w AS (PARTITION BY player_id ORDER BY game_date ASC NULLS FIRST),
           l10 AS (PARTITION BY player_id ORDER BY game_date ASC NULLS FIRST
                   ROWS BETWEEN 9 PRECEDING AND CURRENT ROW)
),
prof AS (
    SELECT
        c.game_date AS analysis_date,
        c.player_id,
        p.n_l10 AS games_used,
        p.fga_paint_l10 / nullif(p.fga_l10, 0) AS pct_paint,
        p.fga_mid_l10 / nullif(p.fga_l10, 0) AS pct_mid_range,
        p.fg3a_l10 / nullif(p.fga_l10, 0) AS pct_three,
        CASE WHEN p.n_l10 >= 5 AND p.pts_l10 > 0 AND p.ftm_l10 IS NOT NULL  -- least() would skip a NULL
             THEN least(0.5, p.ftm_l10 / p.pts_l10) END AS pct_free_throw,
        p.fgm_paint_l10 / nullif(p.fga_paint_l10, 0) AS paint_fg_pct,
        p.fgm_mid_l10 / nullif(p.fga_mid_l10, 0) AS mid_fg_pct,
        p.fg3m_l10 / nullif(p.fg3a_l10, 0) AS three_fg_pct
    FROM upcoming_player_game_context AS c
    LEFT JOIN pg AS p
      ON p.player_id = c.player_id
     AND p.game_date < c.game_date
     AND (p.next_game_date IS NULL OR p.next_game_date >= c.game_date)
    WHERE c.game_date BETWEEN $date_from AND $date_to
)
SELECT
    *,
    CASE
        WHEN pct_paint IS NULL THEN NULL
        WHEN pct_paint >= pct_mid_range AND pct_paint >= pct_three THEN 'paint'
        WHEN pct_three >= pct_mid_range THEN 'three'
        ELSE 'mid_range'
    END AS primary_zone
FROM prof
