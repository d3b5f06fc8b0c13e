-- The versioned feature store: one row per (date, player, feature version); NULL = missing.
CREATE TABLE IF NOT EXISTS feature_store (
    game_date DATE NOT NULL, game_id VARCHAR NOT NULL, player_id BIGINT NOT NULL, feature_version VARCHAR NOT NULL,
    team_abbr VARCHAR, opponent_abbr VARCHAR, is_home BOOLEAN, is_expected BOOLEAN, has_line BOOLEAN,
    played BOOLEAN, feature_count INTEGER NOT NULL, feature_names VARCHAR[] NOT NULL, features DOUBLE[] NOT NULL,
    feature_sources VARCHAR[] NOT NULL, quality_score DOUBLE NOT NULL, quality_tier VARCHAR NOT NULL,
    required_missing INTEGER NOT NULL, built_at TIMESTAMP NOT NULL);
-- (game_date, player_id, feature_version) is unique by construction (checked by tests); no index, so
-- the full rebuild stays a bulk append.
