-- 007: model-only forecasts next to the blended ones. A system's model-only forecast is built from
-- inputs that contain no line or price (features.definitions.MARKET_FEATURES; CatBoost is trained
-- again without them) and is stored before any market blend, so the model can be compared with the
-- line it would otherwise lean on. NULL for rows of model sets trained before these existed.
-- predicted_points / p_over stay the blended forecast. prediction_archive carries the same columns.
ALTER TABLE player_prop_predictions ADD COLUMN IF NOT EXISTS model_only_points DOUBLE;
ALTER TABLE player_prop_predictions ADD COLUMN IF NOT EXISTS model_only_p_over DOUBLE;  -- calibrated, not blended
ALTER TABLE prediction_archive ADD COLUMN IF NOT EXISTS model_only_points DOUBLE;
ALTER TABLE prediction_archive ADD COLUMN IF NOT EXISTS model_only_p_over DOUBLE;
