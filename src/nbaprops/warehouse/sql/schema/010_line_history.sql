-- 010: line history (issue 11, docs/market.md). Views over prop_line_snapshots for the points market:
-- every book's pre-tip quote grouped into snapshots, each book's opening and closing quote, and the
-- per-snapshot consensus lines. The pooled fair P(over) at the consensus line needs the walk-forward
-- line slope and is computed in Python (nbaprops.warehouse.line_history with nbaprops.odds).

-- The SQL twins of nbaprops.odds.implied_probability / devig_two_way (a unit test holds them equal):
-- NULL for a price that is missing or not American (|price| < 100).
CREATE OR REPLACE MACRO american_implied(price) AS
    CASE WHEN price IS NULL OR isnan(price) OR abs(price) < 100 THEN NULL
         WHEN price > 0 THEN 100.0 / (price + 100.0)
         ELSE -price / (-price + 100.0) END;
CREATE OR REPLACE MACRO devig_p_over(over_price, under_price) AS
    american_implied(over_price) / (american_implied(over_price) + american_implied(under_price));

-- Every book's pre-tip points quote. Tip-off comes from the quote (the Odds API's commence_time) or
-- else the schedule (games.tipoff_at); a timed quote counts only strictly before it. A 'closing'
-- row (BettingPros: the final pre-tip line, time unknown) is its own snapshot with snapshot_at NULL.
-- Snapshots: per (source, game date, player) the timed quotes are cut into islands wherever two
-- consecutive quote times are more than 60 minutes apart (one fetch spans minutes; fetches are hours
-- apart); snapshot_at is the newest quote time of the island, snapshot_seq counts from 1 at the open.
CREATE OR REPLACE VIEW line_quotes AS
WITH q AS (
    SELECT s.snapshot_id, s.source, coalesce(s.game_id, g.game_id) AS game_id, s.game_date, s.player_id,
           s.sportsbook, s.line, s.over_price, s.under_price, s.quoted_at,
           coalesce(s.tipoff_at, g.tipoff_at) AS tipoff_at, s.quote_basis,
           s.opening_line, s.opening_price, s.opening_at,
           devig_p_over(s.over_price, s.under_price) AS fair_p_over
    FROM prop_line_snapshots AS s
    LEFT JOIN games AS g ON g.game_id = s.game_id
    WHERE s.market = 'player_points' AND s.player_id IS NOT NULL AND s.line > 0
      AND (s.quote_basis = 'closing'
           OR (s.quote_basis = 'quoted_at' AND s.quoted_at IS NOT NULL
               AND s.quoted_at < coalesce(s.tipoff_at, g.tipoff_at)))
),
cut AS (
    SELECT *,
           CASE WHEN quoted_at IS NULL THEN 0
                WHEN lag(quoted_at) OVER w IS NULL THEN 1
                WHEN quoted_at - lag(quoted_at) OVER w > INTERVAL 60 MINUTE THEN 1 ELSE 0 END AS new_snapshot
    FROM q
    WINDOW w AS (PARTITION BY source, game_date, player_id ORDER BY quoted_at ASC NULLS FIRST, snapshot_id ASC NULLS FIRST)
),
seq AS (
    SELECT *,
           CASE WHEN quoted_at IS NULL THEN 0 ELSE
               sum(new_snapshot) OVER (PARTITION BY source, game_date, player_id
                                       ORDER BY quoted_at ASC NULLS FIRST, snapshot_id ASC NULLS FIRST
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) END AS snapshot_seq
    FROM cut
)
SELECT snapshot_id, source, game_id, game_date, player_id, sportsbook, line, over_price, under_price,
       fair_p_over, quoted_at, tipoff_at, quote_basis, opening_line, opening_price, opening_at,
       CAST(snapshot_seq AS INTEGER) AS snapshot_seq,
       max(quoted_at) OVER (PARTITION BY source, game_date, player_id, snapshot_seq) AS snapshot_at
FROM seq;

-- Per (game, player, book): the opening quote (first seen) and the closing quote (last pre-tip).
-- A BettingPros 'closing' row is the close; its opening_line / opening_price / opening_at are the
-- open (that source gives one opening price, not both sides).
CREATE OR REPLACE VIEW line_open_close AS
SELECT source, game_date, any_value(game_id) AS game_id, player_id, sportsbook,
       count(*) AS n_quotes,
       count(DISTINCT snapshot_seq) AS n_snapshots,
       CASE WHEN count(quoted_at) > 0 THEN arg_min(line, quoted_at) ELSE any_value(opening_line) END AS open_line,
       CASE WHEN count(quoted_at) > 0 THEN arg_min(over_price, quoted_at) END AS open_over_price,
       CASE WHEN count(quoted_at) > 0 THEN arg_min(under_price, quoted_at) END AS open_under_price,
       CASE WHEN count(quoted_at) > 0 THEN min(quoted_at) ELSE any_value(opening_at) END AS open_at,
       arg_max(line, coalesce(quoted_at, TIMESTAMPTZ '9999-12-31 00:00:00+00')) AS close_line,
       arg_max(over_price, coalesce(quoted_at, TIMESTAMPTZ '9999-12-31 00:00:00+00')) AS close_over_price,
       arg_max(under_price, coalesce(quoted_at, TIMESTAMPTZ '9999-12-31 00:00:00+00')) AS close_under_price,
       max(quoted_at) AS close_at
FROM line_quotes
GROUP BY source, game_date, player_id, sportsbook;

-- Per (source, game, player, snapshot): each book's newest quote inside the snapshot, pooled.
-- consensus_line = median line across books; line_spread = max - min; p_over_at_consensus = mean
-- de-vigged P(over) of the books quoting exactly the consensus line (NULL when none does: the pooled
-- probability with books moved between lines is nbaprops.warehouse.line_history.consensus).
CREATE OR REPLACE VIEW line_consensus AS
WITH last_per_book AS (
    SELECT * FROM line_quotes
    QUALIFY row_number() OVER (PARTITION BY source, game_date, player_id, snapshot_seq, sportsbook
                               ORDER BY quoted_at DESC, snapshot_id) = 1
),
med AS (
    SELECT source, game_date, player_id, snapshot_seq, any_value(game_id) AS game_id,
           max(snapshot_at) AS snapshot_at, count(*) AS n_books,
           median(line) AS consensus_line, max(line) - min(line) AS line_spread
    FROM last_per_book
    GROUP BY source, game_date, player_id, snapshot_seq
)
SELECT m.*,
       (SELECT avg(b.fair_p_over) FROM last_per_book AS b
        WHERE b.source = m.source AND b.game_date = m.game_date AND b.player_id = m.player_id
          AND b.snapshot_seq = m.snapshot_seq AND b.line = m.consensus_line) AS p_over_at_consensus
FROM med AS m;

-- What a prediction saw of the market (nullable; NULL on rows made before 010 or without a line).
ALTER TABLE player_prop_predictions ADD COLUMN IF NOT EXISTS best_book VARCHAR;          -- book of the best price of the side
ALTER TABLE player_prop_predictions ADD COLUMN IF NOT EXISTS best_price INTEGER;         -- best American price of the side at the line
ALTER TABLE player_prop_predictions ADD COLUMN IF NOT EXISTS consensus_line DOUBLE;      -- median line of the books quoting
ALTER TABLE player_prop_predictions ADD COLUMN IF NOT EXISTS consensus_p_over DOUBLE;    -- pooled fair P(over) at consensus_line
ALTER TABLE player_prop_predictions ADD COLUMN IF NOT EXISTS books_quoting INTEGER;      -- books passing the gate at prediction time
ALTER TABLE player_prop_predictions ADD COLUMN IF NOT EXISTS consensus_at TIMESTAMPTZ;   -- newest quote time the consensus used
-- the archive keeps the same columns (remediate / restore copy rows BY NAME)
ALTER TABLE prediction_archive ADD COLUMN IF NOT EXISTS best_book VARCHAR;
ALTER TABLE prediction_archive ADD COLUMN IF NOT EXISTS best_price INTEGER;
ALTER TABLE prediction_archive ADD COLUMN IF NOT EXISTS consensus_line DOUBLE;
ALTER TABLE prediction_archive ADD COLUMN IF NOT EXISTS consensus_p_over DOUBLE;
ALTER TABLE prediction_archive ADD COLUMN IF NOT EXISTS books_quoting INTEGER;
ALTER TABLE prediction_archive ADD COLUMN IF NOT EXISTS consensus_at TIMESTAMPTZ;

-- Grades at the best price, with the posted (chosen book's) price kept for comparison, and the close.
ALTER TABLE prediction_grades ADD COLUMN IF NOT EXISTS best_book VARCHAR;
ALTER TABLE prediction_grades ADD COLUMN IF NOT EXISTS price_posted DOUBLE;              -- chosen book's price of the side
ALTER TABLE prediction_grades ADD COLUMN IF NOT EXISTS profit_units_posted DOUBLE;       -- profit had the bet been at price_posted
ALTER TABLE prediction_grades ADD COLUMN IF NOT EXISTS closing_consensus_line DOUBLE;
ALTER TABLE prediction_grades ADD COLUMN IF NOT EXISTS closing_p_over DOUBLE;            -- closing consensus fair P(over) at the bet's line
ALTER TABLE prediction_grades ADD COLUMN IF NOT EXISTS closing_at TIMESTAMPTZ;            -- newest quote time of the closing consensus
