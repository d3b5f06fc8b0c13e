-- 013: predictions and grades of every market (issue 12, docs/markets.md "Predictions per market").
-- A prediction row says which market it forecasts (`market`, the stored key of the registry
-- nbaprops.markets.MARKETS, e.g. player_rebounds). Every row stored before 013 is a points
-- prediction and reads 'player_points'; a points row keeps all its values.
--
-- The key stays (game_id, player_id, system_id, line_key), so every join on it keeps working:
-- `line_key` is the line ('24.5', or 'none' without a line) for player_points, exactly as before, and
-- '<market>|<line>' ('player_rebounds|8.5') for another market. (game_id, player_id, system_id,
-- market, line) is unique too.
--
-- For a row of another market `predicted_points`, `model_only_points`, `edge` and the grades'
-- `actual_points`, `abs_error`, `signed_error`, `line_abs_error` hold that market's settled value
-- (rebounds, PRA, ...): the column names are the points-era names, kept so that queries written for
-- the points-only tables keep working.
ALTER TABLE player_prop_predictions ADD COLUMN IF NOT EXISTS market VARCHAR DEFAULT 'player_points';
UPDATE player_prop_predictions SET market = 'player_points' WHERE market IS NULL;
ALTER TABLE prediction_archive ADD COLUMN IF NOT EXISTS market VARCHAR DEFAULT 'player_points';
UPDATE prediction_archive SET market = 'player_points' WHERE market IS NULL;
ALTER TABLE prediction_grades ADD COLUMN IF NOT EXISTS market VARCHAR DEFAULT 'player_points';
UPDATE prediction_grades SET market = 'player_points' WHERE market IS NULL;
