-- 016: the performance views per market (issue 12). Since 013 predictions and grades hold every
-- market: the two performance views of 004 would mix points with rebounds, PRA, ... Each gets a twin
-- grouped by (market, system) with the same definitions (`performance_by_market`,
-- `system_daily_performance_by_market`), and the two 004 views keep their meaning, points only, and
-- their columns: they read their twin's player_points rows.

CREATE OR REPLACE VIEW performance_by_market AS
WITH bets AS (
    SELECT p.market, g.system_id, g.game_date, g.result, g.profit_units, g.abs_error, g.line_abs_error,
           CASE WHEN g.result IN ('WIN', 'LOSS', 'PUSH') AND g.abs_error IS NOT NULL
                     AND g.line_abs_error IS NOT NULL THEN 1 ELSE 0 END AS same_rows
    FROM prediction_grades AS g
    JOIN player_prop_predictions AS p
      ON p.game_id = g.game_id AND p.player_id = g.player_id AND p.system_id = g.system_id
     AND p.line_key = g.line_key
    WHERE g.is_bet AND g.has_valid_line AND p.line_source = 'ACTUAL_PROP'
),
agg AS (
    SELECT market, system_id,
           count(DISTINCT game_date) AS dates,
           min(game_date) AS first_date,
           max(game_date) AS last_date,
           count(CASE WHEN result IN ('WIN', 'LOSS', 'PUSH') THEN 1 END) AS bets,
           count(CASE WHEN result = 'WIN' THEN 1 END) AS wins,
           count(CASE WHEN result = 'LOSS' THEN 1 END) AS losses,
           count(CASE WHEN result = 'PUSH' THEN 1 END) AS pushes,
           count(CASE WHEN result = 'VOID' THEN 1 END) AS voids,
           sum(CASE WHEN result IN ('WIN', 'LOSS', 'PUSH') THEN coalesce(profit_units, 0.0) ELSE 0.0 END)
               AS profit_units,
           count(CASE WHEN same_rows = 1 THEN 1 END) AS mae_rows,
           avg(CASE WHEN same_rows = 1 THEN abs_error END) AS mae,
           avg(CASE WHEN same_rows = 1 THEN line_abs_error END) AS line_mae
    FROM bets
    GROUP BY market, system_id
)
SELECT market, system_id, dates, first_date, last_date, bets, wins, losses, pushes, voids,
       CAST(wins AS DOUBLE) / NULLIF(wins + losses, 0) AS hit_rate,
       profit_units,
       profit_units / NULLIF(bets, 0) AS roi,
       mae_rows, mae, line_mae,
       mae - line_mae AS mae_minus_line
FROM agg;

CREATE OR REPLACE VIEW system_daily_performance_by_market AS
WITH rows_ AS (
    SELECT p.game_date, p.market, p.system_id, p.line_source,
           g.game_id AS graded_game_id, g.result, g.is_void, g.abs_error, g.line_abs_error, g.profit_units,
           CASE WHEN g.is_bet AND g.has_valid_line AND p.line_source = 'ACTUAL_PROP' THEN 1 ELSE 0 END AS valid_bet
    FROM player_prop_predictions AS p
    LEFT JOIN prediction_grades AS g
      ON g.game_id = p.game_id AND g.player_id = p.player_id AND g.system_id = p.system_id
     AND g.line_key = p.line_key
),
agg AS (
    SELECT game_date, market, system_id,
           count(*) AS predictions,
           count(CASE WHEN line_source = 'ACTUAL_PROP' THEN 1 END) AS with_line,
           count(graded_game_id) AS graded,
           count(CASE WHEN valid_bet = 1 AND result IN ('WIN', 'LOSS', 'PUSH') THEN 1 END) AS bets,
           count(CASE WHEN valid_bet = 1 AND result = 'WIN' THEN 1 END) AS wins,
           count(CASE WHEN valid_bet = 1 AND result = 'LOSS' THEN 1 END) AS losses,
           count(CASE WHEN valid_bet = 1 AND result = 'PUSH' THEN 1 END) AS pushes,
           count(CASE WHEN valid_bet = 1 AND result = 'VOID' THEN 1 END) AS voids,
           sum(CASE WHEN valid_bet = 1 AND result IN ('WIN', 'LOSS', 'PUSH') THEN coalesce(profit_units, 0.0)
                    ELSE 0.0 END) AS profit_units,
           avg(CASE WHEN graded_game_id IS NOT NULL AND NOT is_void THEN abs_error END) AS mae,
           avg(CASE WHEN line_source = 'ACTUAL_PROP' AND NOT is_void AND abs_error IS NOT NULL
                         AND line_abs_error IS NOT NULL THEN abs_error END) AS mae_line_rows,
           avg(CASE WHEN line_source = 'ACTUAL_PROP' AND NOT is_void AND abs_error IS NOT NULL
                         AND line_abs_error IS NOT NULL THEN line_abs_error END) AS line_mae
    FROM rows_
    GROUP BY game_date, market, system_id
)
SELECT game_date, market, system_id, predictions, with_line, graded, bets, wins, losses, pushes, voids,
       CAST(wins AS DOUBLE) / NULLIF(wins + losses, 0) AS hit_rate,
       profit_units,
       profit_units / NULLIF(bets, 0) AS roi,
       mae, mae_line_rows, line_mae
FROM agg;

CREATE OR REPLACE VIEW performance_valid_lines_only AS
SELECT system_id, dates, first_date, last_date, bets, wins, losses, pushes, voids, hit_rate, profit_units, roi, mae_rows, mae, line_mae, mae_minus_line
FROM performance_by_market
WHERE market = 'player_points';

CREATE OR REPLACE VIEW system_daily_performance AS
SELECT game_date, system_id, predictions, with_line, graded, bets, wins, losses, pushes, voids, hit_rate, profit_units, roi, mae, mae_line_rows, line_mae
FROM system_daily_performance_by_market
WHERE market = 'player_points';
