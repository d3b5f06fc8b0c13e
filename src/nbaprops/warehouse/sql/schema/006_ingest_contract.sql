-- 006: the ingest contract (docs/data-contract.md). A bulk file is identified by its content
-- (sha256), not by its path: raw_files holds one row per content that is loaded (the path it was
-- last read from, its counts and the loader's report), so an unchanged file is skipped and the same
-- content under another path is the same file. Quarantine rows carry the content hash of their file,
-- so reloading a file replaces its quarantine rows instead of adding to them.
-- The team game logs, the advanced box scores and the linescores each fill part of a team_boxscores
-- row: the advanced and linescore parts are kept in their own tables (keyed like team_boxscores)
-- and copied into team_boxscores, so loading one of the three never clears what another brought.

CREATE TABLE raw_files_v5 (
    sha256        VARCHAR PRIMARY KEY,     -- content hash: the file's identity
    kind          VARCHAR NOT NULL,        -- player_boxscores | odds_api_lines | bettingpros | ...
    file_path     VARCHAR NOT NULL,        -- the (resolved) path it was last loaded from
    n_rows        BIGINT NOT NULL,         -- data rows in the file
    n_loaded      BIGINT NOT NULL,         -- rows accepted
    n_quarantined BIGINT NOT NULL,         -- rows in quarantine_rows
    stats         VARCHAR,                 -- JSON: the loader's counts (what a re-run reports for it)
    loaded_at     TIMESTAMP NOT NULL
);
-- rows of the old path-keyed table are not carried over: every file is read once more by the next load
DROP TABLE raw_files;
ALTER TABLE raw_files_v5 RENAME TO raw_files;

ALTER TABLE quarantine_rows ADD COLUMN file_sha256 VARCHAR;

CREATE TABLE IF NOT EXISTS team_game_advanced (
    game_id       VARCHAR NOT NULL,
    team_abbr     VARCHAR NOT NULL,
    possessions   DOUBLE,
    minutes       DOUBLE,
    source        VARCHAR NOT NULL,
    PRIMARY KEY (game_id, team_abbr)
);

CREATE TABLE IF NOT EXISTS team_game_linescores (
    game_id       VARCHAR NOT NULL,
    team_abbr     VARCHAR NOT NULL,
    pts_q1 INTEGER, pts_q2 INTEGER, pts_q3 INTEGER, pts_q4 INTEGER, pts_ot INTEGER,
    source        VARCHAR NOT NULL,
    PRIMARY KEY (game_id, team_abbr)
);

-- what the team_boxscores rows of an existing warehouse already hold
INSERT INTO team_game_advanced
SELECT game_id, team_abbr, possessions, minutes, 'team_boxscores (before 006)' FROM team_boxscores
WHERE possessions IS NOT NULL OR minutes IS NOT NULL;

INSERT INTO team_game_linescores
SELECT game_id, team_abbr, pts_q1, pts_q2, pts_q3, pts_q4, pts_ot, 'team_boxscores (before 006)' FROM team_boxscores
WHERE coalesce(pts_q1, pts_q2, pts_q3, pts_q4, pts_ot) IS NOT NULL;
