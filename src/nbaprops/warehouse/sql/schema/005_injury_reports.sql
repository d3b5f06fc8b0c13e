-- The NBA's official injury reports (ingest/injuries.py): one row per player listed in a report, and one
-- per team whose report was "NOT YET SUBMITTED" (player columns NULL). A report is a whole snapshot of
-- the league's list at report_time: re-loading a report replaces its rows. Read point in time with
-- warehouse.injuries.latest_report_status (the latest report_time <= as_of), never "available" by default.
CREATE TABLE IF NOT EXISTS injury_reports (
    report_time   TIMESTAMPTZ NOT NULL,     -- when the league published the report (stored UTC)
    game_date     DATE NOT NULL,            -- US/Eastern game date
    game_time     VARCHAR,                  -- as printed, e.g. '07:30 (ET)'
    matchup       VARCHAR,                  -- 'MIL@SAS' (away@home)
    team_abbr     VARCHAR NOT NULL,
    player_name   VARCHAR,                  -- as printed, 'Last, First'; NULL on a NOT_YET_SUBMITTED row
    player_lookup VARCHAR,                  -- names.player_lookup of 'First Last'
    player_id     BIGINT,                   -- NULL when the name did not resolve
    match_method  VARCHAR,                  -- names.resolve_player_names tier (exact, alias, suffix, ...)
    status        VARCHAR NOT NULL,         -- Out | Doubtful | Questionable | Probable | Available | NOT_YET_SUBMITTED
    reason        VARCHAR,
    source_file   VARCHAR NOT NULL,         -- the PDF, the CSV archive or the report URL
    file_row      BIGINT,                   -- the row in the report (PDF) or the CSV line number
    loaded_at     TIMESTAMP NOT NULL
);
