-- Phase 5: predictions, batches, staging and quarantined lines.
CREATE TABLE IF NOT EXISTS player_prop_predictions (
    game_id                VARCHAR NOT NULL,
    game_date              DATE NOT NULL,
    player_id              BIGINT NOT NULL,
    system_id              VARCHAR NOT NULL,
    line                   DECIMAL(6, 1),          -- exact: 24.5 and 25.0 never collide; NULL = no valid line
    line_key               VARCHAR NOT NULL,       -- CAST(line AS VARCHAR) or 'none': the NULL-safe key part
    predicted_points       DOUBLE,
    predicted_scale        DOUBLE,
    p_over                 DOUBLE,                 -- calibrated P(points > line), 0-1
    confidence             DOUBLE,                 -- P(side taken), 0-1, one scale for every system
    edge                   DOUBLE,                 -- predicted_points - line
    expected_value         DOUBLE,                 -- per unit staked at the posted price of the side taken
    recommendation         VARCHAR NOT NULL,       -- OVER | UNDER | PASS | NO_LINE
    line_source            VARCHAR NOT NULL,       -- ACTUAL_PROP | NO_PROP_LINE
    sportsbook             VARCHAR,
    line_quoted_at         TIMESTAMPTZ,
    line_quote_basis       VARCHAR,
    line_snapshot_id       VARCHAR,
    over_price             INTEGER,
    under_price            INTEGER,
    market_p_over          DOUBLE,                 -- de-vigged from the over/under prices
    model_version          VARCHAR NOT NULL,
    feature_version        VARCHAR NOT NULL,
    package_version        VARCHAR NOT NULL,
    feature_quality_score  DOUBLE,
    is_fallback            BOOLEAN NOT NULL,
    fallback_reason        VARCHAR,
    batch_id               VARCHAR NOT NULL,
    created_at             TIMESTAMP NOT NULL,
    PRIMARY KEY (game_id, player_id, system_id, line_key)
);

CREATE TABLE IF NOT EXISTS prediction_batches (
    batch_id           VARCHAR PRIMARY KEY,
    game_date          DATE NOT NULL,
    status             VARCHAR NOT NULL,           -- running | consolidating | complete | failed | stalled
    expected_players   INTEGER,
    completed_players  INTEGER,
    failed_players     INTEGER,
    skipped_players    INTEGER,
    units_total        INTEGER,
    units_done         INTEGER,
    min_minutes        DOUBLE,
    forced             BOOLEAN,
    model_set          VARCHAR,
    started_at         TIMESTAMP NOT NULL,
    heartbeat_at       TIMESTAMP,
    finished_at        TIMESTAMP,
    owner              VARCHAR,                    -- host:pid of the coordinator (stale-batch detection)
    error              VARCHAR
);

CREATE TABLE IF NOT EXISTS prediction_skips (
    batch_id     VARCHAR NOT NULL,
    game_date    DATE NOT NULL,
    player_id    BIGINT NOT NULL,
    system_id    VARCHAR,
    reason       VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS line_quarantine (
    batch_id          VARCHAR,
    game_date         DATE NOT NULL,
    game_id           VARCHAR,
    player_id         BIGINT,
    line_snapshot_id  VARCHAR,
    sportsbook        VARCHAR,
    line              DOUBLE,
    reason            VARCHAR NOT NULL,
    quarantined_at    TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS system_circuit_events (
    batch_id     VARCHAR NOT NULL,
    system_id    VARCHAR NOT NULL,
    state        VARCHAR NOT NULL,                 -- open (system stopped for the batch)
    failures     INTEGER NOT NULL,
    last_error   VARCHAR,
    event_at     TIMESTAMP NOT NULL
);

-- Phase 6: one graded row per prediction.
CREATE TABLE IF NOT EXISTS prediction_grades (
    game_id           VARCHAR NOT NULL,
    game_date         DATE NOT NULL,
    player_id         BIGINT NOT NULL,
    system_id         VARCHAR NOT NULL,
    line_key          VARCHAR NOT NULL,
    line              DOUBLE,
    recommendation    VARCHAR NOT NULL,
    predicted_points  DOUBLE,
    p_over            DOUBLE,
    market_p_over     DOUBLE,
    confidence        DOUBLE,
    edge              DOUBLE,
    actual_points     INTEGER,
    actual_minutes    DOUBLE,
    is_void           BOOLEAN NOT NULL,
    has_valid_line    BOOLEAN NOT NULL,
    is_bet            BOOLEAN NOT NULL,
    abs_error         DOUBLE,
    signed_error      DOUBLE,
    line_abs_error    DOUBLE,
    result            VARCHAR NOT NULL,           -- WIN | LOSS | PUSH | VOID | NO_BET
    correct           BOOLEAN,
    price_taken       DOUBLE,
    price_assumed     BOOLEAN,
    profit_units      DOUBLE,
    graded_over       BOOLEAN,
    closing_line      DOUBLE,
    model_version     VARCHAR,
    graded_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (game_id, player_id, system_id, line_key)
);
