-- Raw layer: payloads and files exactly as they landed.
CREATE TABLE IF NOT EXISTS raw_payloads (
    payload_id    VARCHAR PRIMARY KEY,      -- sha256 of source|endpoint|params|fetched_at
    source        VARCHAR NOT NULL,         -- nba_stats | odds_api | ...
    endpoint      VARCHAR NOT NULL,
    params        VARCHAR,                  -- JSON, secrets removed
    fetched_at    TIMESTAMPTZ NOT NULL,
    status_code   INTEGER,
    headers       VARCHAR,                  -- JSON subset (quota headers), never cookies or keys
    body          VARCHAR,                  -- untouched response text
    body_sha256   VARCHAR
);

CREATE TABLE IF NOT EXISTS raw_files (
    file_path     VARCHAR PRIMARY KEY,
    kind          VARCHAR NOT NULL,         -- player_boxscores | odds_api_lines | bettingpros | ...
    sha256        VARCHAR NOT NULL,
    n_rows        BIGINT NOT NULL,
    loaded_at     TIMESTAMP NOT NULL
);

-- Core reference tables.
CREATE TABLE IF NOT EXISTS teams (
    team_id       BIGINT PRIMARY KEY,
    abbreviation  VARCHAR NOT NULL,
    full_name     VARCHAR NOT NULL,
    city          VARCHAR,
    nickname      VARCHAR
);

CREATE TABLE IF NOT EXISTS team_aliases (
    alias         VARCHAR PRIMARY KEY,      -- upper-cased name/abbreviation as some source writes it
    abbreviation  VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS players (
    player_id     BIGINT PRIMARY KEY,
    full_name     VARCHAR NOT NULL,
    first_name    VARCHAR,
    last_name     VARCHAR,
    player_lookup VARCHAR NOT NULL,
    is_active     BOOLEAN
);

CREATE TABLE IF NOT EXISTS player_aliases (
    alias_lookup  VARCHAR PRIMARY KEY,
    player_id     BIGINT NOT NULL,
    note          VARCHAR
);

-- Core facts.
CREATE TABLE IF NOT EXISTS games (
    game_id       VARCHAR PRIMARY KEY,      -- 10-digit NBA id, e.g. 0022300061
    game_date     DATE NOT NULL,            -- US/Eastern date of tip-off
    season        VARCHAR NOT NULL,         -- 2023-24
    season_year   INTEGER NOT NULL,         -- 2023
    season_type   VARCHAR NOT NULL,         -- Regular Season | Playoffs | PlayIn | Preseason | Other
    home_team_id  BIGINT,
    home_abbr     VARCHAR NOT NULL,
    away_team_id  BIGINT,
    away_abbr     VARCHAR NOT NULL,
    home_pts      INTEGER,
    away_pts      INTEGER,
    neutral_site  BOOLEAN,
    tipoff_at     TIMESTAMPTZ,
    status        VARCHAR,                  -- scheduled | final
    source        VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS player_boxscores (
    game_id       VARCHAR NOT NULL,
    player_id     BIGINT NOT NULL,
    game_date     DATE NOT NULL,
    season        VARCHAR NOT NULL,
    season_type   VARCHAR NOT NULL,
    player_name   VARCHAR,
    team_id       BIGINT,
    team_abbr     VARCHAR NOT NULL,
    opp_abbr      VARCHAR NOT NULL,
    is_home       BOOLEAN NOT NULL,
    starter       BOOLEAN,
    minutes       DOUBLE,
    pts INTEGER, fgm INTEGER, fga INTEGER, fg3m INTEGER, fg3a INTEGER, ftm INTEGER, fta INTEGER,
    oreb INTEGER, dreb INTEGER, reb INTEGER, ast INTEGER, stl INTEGER, blk INTEGER, tov INTEGER, pf INTEGER,
    fga_rim DOUBLE, fgm_rim DOUBLE, fga_paint DOUBLE, fgm_paint DOUBLE, fga_mid DOUBLE, fgm_mid DOUBLE,
    fga_c3 DOUBLE, fgm_c3 DOUBLE, fb_fga DOUBLE, avg_shot_dist DOUBLE,
    source        VARCHAR NOT NULL,
    PRIMARY KEY (game_id, player_id)
);

-- Official stats.nba.com PlayerGameLog rows (bulk CSVs or live PlayerGameLogs): the reference for
-- minutes and plus-minus.
CREATE TABLE IF NOT EXISTS official_player_game_logs (
    game_id       VARCHAR NOT NULL,
    player_id     BIGINT NOT NULL,
    game_date     DATE NOT NULL,
    season_id     VARCHAR,
    matchup       VARCHAR,
    team_abbr     VARCHAR,
    opp_abbr      VARCHAR,
    is_home       BOOLEAN,
    wl            VARCHAR,
    minutes       DOUBLE,
    pts INTEGER, fgm INTEGER, fga INTEGER, fg3m INTEGER, fg3a INTEGER, ftm INTEGER, fta INTEGER,
    oreb INTEGER, dreb INTEGER, reb INTEGER, ast INTEGER, stl INTEGER, blk INTEGER, tov INTEGER, pf INTEGER,
    plus_minus    INTEGER,
    source        VARCHAR NOT NULL,
    PRIMARY KEY (game_id, player_id)
);

CREATE TABLE IF NOT EXISTS team_boxscores (
    game_id       VARCHAR NOT NULL,
    game_date     DATE NOT NULL,
    season        VARCHAR NOT NULL,
    team_abbr     VARCHAR NOT NULL,
    team_id       BIGINT,
    opp_abbr      VARCHAR NOT NULL,
    is_home       BOOLEAN NOT NULL,
    won           BOOLEAN,
    pts INTEGER, fgm INTEGER, fga INTEGER, fg3m INTEGER, fg3a INTEGER, ftm INTEGER, fta INTEGER,
    oreb INTEGER, dreb INTEGER, reb INTEGER, ast INTEGER, stl INTEGER, blk INTEGER, tov INTEGER, pf INTEGER,
    possessions   DOUBLE,
    minutes       DOUBLE,
    pts_q1 INTEGER, pts_q2 INTEGER, pts_q3 INTEGER, pts_q4 INTEGER, pts_ot INTEGER,
    source        VARCHAR NOT NULL,
    PRIMARY KEY (game_id, team_abbr)
);

-- Every sportsbook quote of a player market: one row per (source, event, book, player, market,
-- quote time). The main line only; alternate lines of the same quote go to prop_line_alternates.
CREATE TABLE IF NOT EXISTS prop_line_snapshots (
    snapshot_id            VARCHAR PRIMARY KEY,
    source                 VARCHAR NOT NULL,   -- odds_api | bettingpros
    event_id               VARCHAR,
    game_id                VARCHAR,
    game_date              DATE NOT NULL,
    sportsbook             VARCHAR NOT NULL,   -- canonical key: draftkings, fanduel, betmgm, ...
    player_name            VARCHAR NOT NULL,   -- as the book writes it
    player_lookup          VARCHAR NOT NULL,
    player_id              BIGINT,
    match_method           VARCHAR,            -- how player_id was resolved (or NULL)
    player_team            VARCHAR,
    home_team              VARCHAR,
    away_team              VARCHAR,
    market                 VARCHAR NOT NULL,   -- player_points, player_rebounds, ...
    line                   DOUBLE NOT NULL,
    over_price             INTEGER,            -- American odds
    under_price            INTEGER,
    quoted_at              TIMESTAMPTZ,        -- when the book last updated the quote
    tipoff_at              TIMESTAMPTZ,
    minutes_before_tipoff  DOUBLE,             -- negative = in-game quote
    quote_basis            VARCHAR NOT NULL,   -- quoted_at | closing (source publishes the final pre-tip line, time unknown)
    opening_line           DOUBLE,
    opening_price          INTEGER,
    opening_at             TIMESTAMPTZ,
    is_void                BOOLEAN,            -- player has no box-score row that date (DNP): never graded
    file                   VARCHAR,
    file_row               BIGINT,
    loaded_at              TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS prop_line_alternates (
    snapshot_id   VARCHAR NOT NULL,            -- the main snapshot this alternate belongs to
    line          DOUBLE NOT NULL,
    over_price    INTEGER,
    under_price   INTEGER,
    PRIMARY KEY (snapshot_id, line)
);

CREATE TABLE IF NOT EXISTS unmatched_player_names (
    source        VARCHAR NOT NULL,
    game_date     DATE NOT NULL,
    player_name   VARCHAR NOT NULL,
    team_hint     VARCHAR,
    reason        VARCHAR NOT NULL,
    n_rows        BIGINT NOT NULL,
    PRIMARY KEY (source, game_date, player_name)
);

CREATE TABLE IF NOT EXISTS quarantine_rows (
    source        VARCHAR NOT NULL,
    file          VARCHAR,
    file_row      BIGINT,
    field         VARCHAR,
    reason        VARCHAR NOT NULL,
    raw           VARCHAR,
    quarantined_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS phase_runs (
    run_id        VARCHAR PRIMARY KEY,
    phase         VARCHAR NOT NULL,
    date_from     DATE NOT NULL,
    date_to       DATE NOT NULL,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    n_rows        BIGINT,
    status        VARCHAR NOT NULL,            -- running | ok | failed | blocked
    error         VARCHAR
);
