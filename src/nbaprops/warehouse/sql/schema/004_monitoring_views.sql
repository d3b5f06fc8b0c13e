-- 004: monitoring views over lines, features, predictions and grades, and the archive that
-- remediation moves stored predictions into. DuckDB dialect, kept portable (sqlglot transpiles
-- every statement to BigQuery and Spark in a test): explicit NULLS FIRST/LAST in window ORDER BY,
-- no column aliases reused in the SELECT that defines them, CASE instead of FILTER.
-- Only the player_points market is monitored: it is the only market nbaprops predicts.

-- Stored predictions that fail today's validation rules (e.g. after a rule change), moved here by
-- `nbaprops remediate` with the reason and moved back by `nbaprops restore`. Same columns as
-- player_prop_predictions (a migration that adds a column there must add it here too) plus
-- archived_at and archive_reason. One archived copy per prediction key: archiving a key again
-- (after a re-run re-created it) replaces the older copy.
CREATE TABLE IF NOT EXISTS prediction_archive (
    game_id                VARCHAR NOT NULL,
    game_date              DATE NOT NULL,
    player_id              BIGINT NOT NULL,
    system_id              VARCHAR NOT NULL,
    line                   DECIMAL(6, 1),
    line_key               VARCHAR NOT NULL,
    predicted_points       DOUBLE,
    predicted_scale        DOUBLE,
    p_over                 DOUBLE,
    confidence             DOUBLE,
    edge                   DOUBLE,
    expected_value         DOUBLE,
    recommendation         VARCHAR NOT NULL,
    line_source            VARCHAR NOT NULL,
    sportsbook             VARCHAR,
    line_quoted_at         TIMESTAMPTZ,
    line_quote_basis       VARCHAR,
    line_snapshot_id       VARCHAR,
    over_price             INTEGER,
    under_price            INTEGER,
    market_p_over          DOUBLE,
    model_version          VARCHAR NOT NULL,
    feature_version        VARCHAR NOT NULL,
    package_version        VARCHAR NOT NULL,
    feature_quality_score  DOUBLE,
    is_fallback            BOOLEAN NOT NULL,
    fallback_reason        VARCHAR,
    batch_id               VARCHAR NOT NULL,
    created_at             TIMESTAMP NOT NULL,
    archived_at            TIMESTAMP NOT NULL,
    archive_reason         VARCHAR NOT NULL,       -- the validation gate's reject reason
    PRIMARY KEY (game_id, player_id, system_id, line_key)
);

-- The pre-tip points slate of each book: the last quote made before tip-off (or a source's
-- closing line) per (date, source, book, player). This is what a prediction can use, so the
-- placeholder checks look at it rather than at every snapshot (one player quoted 15 times at the
-- same line is not a pattern).
CREATE OR REPLACE VIEW points_line_last_quote AS
SELECT game_date, source, sportsbook, player_lookup, player_id, line, quoted_at, quote_basis
FROM (
    SELECT s.game_date, s.source, s.sportsbook, s.player_lookup, s.player_id, s.line, s.quoted_at,
           s.quote_basis,
           ROW_NUMBER() OVER (PARTITION BY s.game_date, s.source, s.sportsbook, s.player_lookup
                              ORDER BY s.quoted_at DESC NULLS LAST, s.snapshot_id DESC NULLS LAST) AS rn
    FROM prop_line_snapshots AS s
    WHERE s.market = 'player_points'
      AND (s.quote_basis = 'closing' OR s.minutes_before_tipoff >= 0)
) AS q
WHERE rn = 1;

-- Per date and source/book: how many points snapshots, how many resolved to a player_id, how many
-- were in-game quotes; the pre-tip slate's distinct line values and the share of its most common
-- value (a placeholder pattern drives it towards 1); lines the prediction gate quarantined.
CREATE OR REPLACE VIEW line_quality_daily AS
WITH snaps AS (
    SELECT game_date, source, sportsbook,
           count(*) AS snapshots,
           avg(CASE WHEN player_id IS NOT NULL THEN 1.0 ELSE 0.0 END) AS share_player_resolved,
           avg(CASE WHEN minutes_before_tipoff < 0 THEN 1.0 ELSE 0.0 END) AS share_in_game
    FROM prop_line_snapshots
    WHERE market = 'player_points'
    GROUP BY game_date, source, sportsbook
),
line_counts AS (
    SELECT game_date, source, sportsbook, line, count(*) AS n
    FROM points_line_last_quote
    GROUP BY game_date, source, sportsbook, line
),
ranked AS (
    SELECT game_date, source, sportsbook, line, n,
           CAST(sum(n) OVER (PARTITION BY game_date, source, sportsbook) AS BIGINT) AS slate_lines,
           count(*) OVER (PARTITION BY game_date, source, sportsbook) AS distinct_lines,
           ROW_NUMBER() OVER (PARTITION BY game_date, source, sportsbook
                              ORDER BY n DESC NULLS LAST, line ASC NULLS LAST) AS rn
    FROM line_counts
),
modal AS (
    SELECT game_date, source, sportsbook, slate_lines, distinct_lines, line AS modal_line,
           CAST(n AS DOUBLE) / slate_lines AS modal_line_share
    FROM ranked
    WHERE rn = 1
),
quarantined AS (
    SELECT lq.game_date, coalesce(s.source, 'unknown') AS source,
           coalesce(lq.sportsbook, s.sportsbook, 'unknown') AS sportsbook,
           -- a re-run quarantines the same quote again: count each quote once
           count(DISTINCT coalesce(lq.line_snapshot_id,
                                   concat('player:', CAST(lq.player_id AS VARCHAR)))) AS quarantined_lines
    FROM line_quarantine AS lq
    LEFT JOIN prop_line_snapshots AS s ON s.snapshot_id = lq.line_snapshot_id
    GROUP BY lq.game_date, coalesce(s.source, 'unknown'), coalesce(lq.sportsbook, s.sportsbook, 'unknown')
),
base AS (
    SELECT sn.game_date, sn.source, sn.sportsbook, sn.snapshots, sn.share_player_resolved, sn.share_in_game,
           coalesce(m.slate_lines, 0) AS slate_lines, coalesce(m.distinct_lines, 0) AS distinct_lines,
           m.modal_line, m.modal_line_share
    FROM snaps AS sn
    LEFT JOIN modal AS m
      ON m.game_date = sn.game_date AND m.source = sn.source AND m.sportsbook = sn.sportsbook
)
SELECT coalesce(b.game_date, q.game_date) AS game_date,
       coalesce(b.source, q.source) AS source,
       coalesce(b.sportsbook, q.sportsbook) AS sportsbook,
       coalesce(b.snapshots, 0) AS snapshots,
       b.share_player_resolved,
       b.share_in_game,
       coalesce(b.slate_lines, 0) AS slate_lines,
       coalesce(b.distinct_lines, 0) AS distinct_lines,
       b.modal_line,
       b.modal_line_share,
       coalesce(q.quarantined_lines, 0) AS quarantined_lines
FROM base AS b
FULL OUTER JOIN quarantined AS q
  ON q.game_date = b.game_date AND q.source = b.source AND q.sportsbook = b.sportsbook;

-- Slates that look like placeholders: expected EMPTY on real data. One row per finding:
--   constant_line               a book's pre-tip slate of >= 10 points lines with >= 80% one value
--   constant_line_slate         the same over every book's pre-tip lines of the date
--   missing_sportsbook          points quotes without a real book name
--   constant_prediction_line    stored ACTUAL_PROP predictions of a date: >= 10 player lines, >= 80% one value
--   prediction_missing_sportsbook  stored ACTUAL_PROP predictions without a real book name
-- Thresholds and "no book" strings match nbaprops.predict.line_gate (PLACEHOLDER_MIN_LINES,
-- PLACEHOLDER_SHARE, _UNKNOWN_BOOKS); a real 20.0 line among many distinct lines is not flagged.
CREATE OR REPLACE VIEW placeholder_alerts AS
WITH book_lines AS (
    SELECT game_date, source, sportsbook, line, count(*) AS n
    FROM points_line_last_quote
    GROUP BY game_date, source, sportsbook, line
),
book_ranked AS (
    SELECT game_date, source, sportsbook, line, n,
           CAST(sum(n) OVER (PARTITION BY game_date, source, sportsbook) AS BIGINT) AS total,
           ROW_NUMBER() OVER (PARTITION BY game_date, source, sportsbook
                              ORDER BY n DESC NULLS LAST, line ASC NULLS LAST) AS rn
    FROM book_lines
),
slate_lines AS (
    SELECT game_date, line, count(*) AS n
    FROM points_line_last_quote
    GROUP BY game_date, line
),
slate_ranked AS (
    SELECT game_date, line, n,
           CAST(sum(n) OVER (PARTITION BY game_date) AS BIGINT) AS total,
           ROW_NUMBER() OVER (PARTITION BY game_date ORDER BY n DESC NULLS LAST, line ASC NULLS LAST) AS rn
    FROM slate_lines
),
missing_book AS (
    SELECT game_date, source, count(*) AS n
    FROM prop_line_snapshots
    WHERE market = 'player_points'
      AND (sportsbook IS NULL
           OR lower(trim(sportsbook)) IN ('', 'unknown', 'none', 'null', 'nan', 'n/a', 'na', 'estimated', 'default'))
    GROUP BY game_date, source
),
pred_lines AS (
    -- one line per (date, game, player, line): the six systems share the quote
    SELECT game_date, CAST(line AS DOUBLE) AS line, count(*) AS n
    FROM (SELECT DISTINCT game_date, game_id, player_id, line
          FROM player_prop_predictions
          WHERE line_source = 'ACTUAL_PROP' AND line IS NOT NULL) AS d
    GROUP BY game_date, CAST(line AS DOUBLE)
),
pred_ranked AS (
    SELECT game_date, line, n,
           CAST(sum(n) OVER (PARTITION BY game_date) AS BIGINT) AS total,
           ROW_NUMBER() OVER (PARTITION BY game_date ORDER BY n DESC NULLS LAST, line ASC NULLS LAST) AS rn
    FROM pred_lines
),
pred_missing_book AS (
    SELECT game_date, count(*) AS n
    FROM player_prop_predictions
    WHERE line_source = 'ACTUAL_PROP'
      AND (sportsbook IS NULL
           OR lower(trim(sportsbook)) IN ('', 'unknown', 'none', 'null', 'nan', 'n/a', 'na', 'estimated', 'default'))
    GROUP BY game_date
)
SELECT game_date, 'constant_line' AS alert, source, sportsbook, total AS n_lines, line AS modal_line,
       CAST(n AS DOUBLE) / total AS modal_share
FROM book_ranked
WHERE rn = 1 AND total >= 10 AND CAST(n AS DOUBLE) / total >= 0.8
UNION ALL
SELECT game_date, 'constant_line_slate' AS alert, CAST(NULL AS VARCHAR) AS source,
       CAST(NULL AS VARCHAR) AS sportsbook, total AS n_lines, line AS modal_line,
       CAST(n AS DOUBLE) / total AS modal_share
FROM slate_ranked
WHERE rn = 1 AND total >= 10 AND CAST(n AS DOUBLE) / total >= 0.8
UNION ALL
SELECT game_date, 'missing_sportsbook' AS alert, source, CAST(NULL AS VARCHAR) AS sportsbook, n AS n_lines,
       CAST(NULL AS DOUBLE) AS modal_line, CAST(NULL AS DOUBLE) AS modal_share
FROM missing_book
UNION ALL
SELECT game_date, 'constant_prediction_line' AS alert, 'player_prop_predictions' AS source,
       CAST(NULL AS VARCHAR) AS sportsbook, total AS n_lines, line AS modal_line,
       CAST(n AS DOUBLE) / total AS modal_share
FROM pred_ranked
WHERE rn = 1 AND total >= 10 AND CAST(n AS DOUBLE) / total >= 0.8
UNION ALL
SELECT game_date, 'prediction_missing_sportsbook' AS alert, 'player_prop_predictions' AS source,
       CAST(NULL AS VARCHAR) AS sportsbook, n AS n_lines, CAST(NULL AS DOUBLE) AS modal_line,
       CAST(NULL AS DOUBLE) AS modal_share
FROM pred_missing_book;

-- Per system, over graded bets on real book lines only (line_source = 'ACTUAL_PROP' on the stored
-- prediction and a valid line at grading): wins, losses, pushes, voids; hit rate = wins / (wins +
-- losses); ROI = profit / (wins + losses + pushes); the model's MAE and the line's MAE on exactly the
-- same settled rows. Grades join predictions on their key (game_id, player_id, system_id, line_key).
CREATE OR REPLACE VIEW performance_valid_lines_only AS
WITH bets AS (
    SELECT g.system_id, g.game_date, g.result, g.profit_units, g.abs_error, g.line_abs_error,
           CASE WHEN g.result IN ('WIN', 'LOSS', 'PUSH') AND g.abs_error IS NOT NULL
                     AND g.line_abs_error IS NOT NULL THEN 1 ELSE 0 END AS same_rows
    FROM prediction_grades AS g
    JOIN player_prop_predictions AS p
      ON p.game_id = g.game_id AND p.player_id = g.player_id AND p.system_id = g.system_id
     AND p.line_key = g.line_key
    WHERE g.is_bet AND g.has_valid_line AND p.line_source = 'ACTUAL_PROP'
),
agg AS (
    SELECT system_id,
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
    GROUP BY system_id
)
SELECT system_id, dates, first_date, last_date, bets, wins, losses, pushes, voids,
       CAST(wins AS DOUBLE) / NULLIF(wins + losses, 0) AS hit_rate,
       profit_units,
       profit_units / NULLIF(bets, 0) AS roi,
       mae_rows, mae, line_mae,
       mae - line_mae AS mae_minus_line
FROM agg;

-- Per date: feature rows (every version), distinct players, mean quality score, rows per quality
-- tier, rows missing a required feature, book names not resolved to a player, lines quarantined by
-- the prediction gate.
CREATE OR REPLACE VIEW data_quality_summary AS
WITH feats AS (
    SELECT game_date,
           count(*) AS feature_rows,
           count(DISTINCT player_id) AS players,
           avg(quality_score) AS mean_quality_score,
           count(CASE WHEN quality_tier = 'gold' THEN 1 END) AS tier_gold,
           count(CASE WHEN quality_tier = 'silver' THEN 1 END) AS tier_silver,
           count(CASE WHEN quality_tier = 'bronze' THEN 1 END) AS tier_bronze,
           count(CASE WHEN quality_tier = 'poor' THEN 1 END) AS tier_poor,
           count(CASE WHEN quality_tier = 'critical' THEN 1 END) AS tier_critical,
           count(CASE WHEN required_missing > 0 THEN 1 END) AS required_missing_rows
    FROM feature_store
    GROUP BY game_date
),
unmatched AS (
    SELECT game_date, count(*) AS unmatched_names, CAST(sum(n_rows) AS BIGINT) AS unmatched_rows
    FROM unmatched_player_names
    GROUP BY game_date
),
quarantined AS (
    SELECT game_date,
           count(DISTINCT coalesce(line_snapshot_id, concat('player:', CAST(player_id AS VARCHAR))))
               AS quarantined_lines
    FROM line_quarantine
    GROUP BY game_date
),
dates AS (
    SELECT game_date FROM feats
    UNION
    SELECT game_date FROM unmatched
    UNION
    SELECT game_date FROM quarantined
)
SELECT d.game_date,
       coalesce(f.feature_rows, 0) AS feature_rows,
       coalesce(f.players, 0) AS players,
       f.mean_quality_score,
       coalesce(f.tier_gold, 0) AS tier_gold,
       coalesce(f.tier_silver, 0) AS tier_silver,
       coalesce(f.tier_bronze, 0) AS tier_bronze,
       coalesce(f.tier_poor, 0) AS tier_poor,
       coalesce(f.tier_critical, 0) AS tier_critical,
       coalesce(f.required_missing_rows, 0) AS required_missing_rows,
       coalesce(u.unmatched_names, 0) AS unmatched_names,
       coalesce(u.unmatched_rows, 0) AS unmatched_rows,
       coalesce(q.quarantined_lines, 0) AS quarantined_lines
FROM dates AS d
LEFT JOIN feats AS f ON f.game_date = d.game_date
LEFT JOIN unmatched AS u ON u.game_date = d.game_date
LEFT JOIN quarantined AS q ON q.game_date = d.game_date;

-- Per date and system: stored predictions, how many carry a real line, graded rows; bets on real
-- lines (wins + losses + pushes), wins, losses, pushes, voids; hit rate = wins / (wins + losses)
-- (pushes and voids never in the denominator); ROI = profit / bets; MAE over every graded non-void
-- row, and the model's and the line's MAE on the same real-line rows.
CREATE OR REPLACE VIEW system_daily_performance AS
WITH rows_ AS (
    SELECT p.game_date, p.system_id, p.line_source,
           g.game_id AS graded_game_id, g.result, g.is_void, g.abs_error, g.line_abs_error, g.profit_units,
           CASE WHEN g.is_bet AND g.has_valid_line AND p.line_source = 'ACTUAL_PROP' THEN 1 ELSE 0 END AS valid_bet
    FROM player_prop_predictions AS p
    LEFT JOIN prediction_grades AS g
      ON g.game_id = p.game_id AND g.player_id = p.player_id AND g.system_id = p.system_id
     AND g.line_key = p.line_key
),
agg AS (
    SELECT game_date, system_id,
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
    GROUP BY game_date, system_id
)
SELECT game_date, system_id, predictions, with_line, graded, bets, wins, losses, pushes, voids,
       CAST(wins AS DOUBLE) / NULLIF(wins + losses, 0) AS hit_rate,
       profit_units,
       profit_units / NULLIF(bets, 0) AS roi,
       mae, mae_line_rows, line_mae
FROM agg;
