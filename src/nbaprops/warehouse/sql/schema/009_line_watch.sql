-- Line capture on a schedule (`nbaprops watch`, docs/market-watch.md).
-- One row per event-odds pull the watcher made: written in the same transaction as its raw payload
-- (raw_payloads.payload_id) and its parsed quotes (prop_line_snapshots), so a pull is stored whole or not at all.
CREATE TABLE IF NOT EXISTS line_watch_pulls (
    payload_id          VARCHAR PRIMARY KEY,   -- raw_payloads.payload_id (sha256 of source|endpoint|params|fetched_at)
    game_date           DATE NOT NULL,         -- US/Eastern date of the slate watched
    event_id            VARCHAR NOT NULL,
    markets             VARCHAR NOT NULL,      -- comma-separated market keys, sorted
    books               VARCHAR NOT NULL,      -- comma-separated bookmaker keys, sorted ('' = the region)
    slot_at             TIMESTAMPTZ NOT NULL,  -- the latest schedule slot this pull served
    slot_kind           VARCHAR NOT NULL,      -- cadence | T-<minutes>
    fetched_at          TIMESTAMPTZ NOT NULL,
    tipoff_at           TIMESTAMPTZ NOT NULL,
    body_sha256         VARCHAR NOT NULL,      -- sha256 of the stored (key-redacted) body
    outcome_rows        INTEGER NOT NULL,      -- outcomes in the payload
    snapshots           INTEGER NOT NULL,      -- main-line snapshots the payload holds
    requests_last       INTEGER,               -- x-requests-last: what the pull cost
    requests_used       INTEGER,               -- x-requests-used after it (this month)
    requests_remaining  INTEGER                -- x-requests-remaining after it
);

-- The schedule slots served: (event, slot time, markets, books) is the natural key of a pull, so a
-- restarted watcher never pulls a served slot again. Several slots missed while the watcher was down
-- are served by one pull (same payload_id).
CREATE TABLE IF NOT EXISTS line_watch_slots (
    event_id    VARCHAR NOT NULL,
    slot_at     TIMESTAMPTZ NOT NULL,
    markets     VARCHAR NOT NULL,
    books       VARCHAR NOT NULL,
    game_date   DATE NOT NULL,
    slot_kind   VARCHAR NOT NULL,
    payload_id  VARCHAR NOT NULL,
    PRIMARY KEY (event_id, slot_at, markets, books)
);

-- Pulls the watcher refused (a budget would be exceeded) or could not make: what it skipped and why.
CREATE TABLE IF NOT EXISTS line_watch_skips (
    event_id    VARCHAR NOT NULL,
    slot_at     TIMESTAMPTZ NOT NULL,
    markets     VARCHAR NOT NULL,
    books       VARCHAR NOT NULL,
    game_date   DATE NOT NULL,
    slot_kind   VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,
    noted_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, slot_at, markets, books)
);
