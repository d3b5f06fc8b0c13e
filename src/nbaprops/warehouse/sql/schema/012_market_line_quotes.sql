-- 012: every market's pre-tip quotes (issue 12). `market_line_quotes` is `line_quotes` (migration 010)
-- for every market of prop_line_snapshots, with a `market` column (the stored key, e.g.
-- player_rebounds): the same pre-tip rule (a timed quote strictly before tip-off, or a 'closing'
-- row) and the same snapshots (islands of quote times per source, game date, player and market, cut
-- where two consecutive quotes are more than 60 minutes apart). `line_quotes` stays the points view
-- it was: its rows equal this view's `player_points` rows.
CREATE OR REPLACE VIEW market_line_quotes AS
WITH q AS (
    SELECT s.snapshot_id, s.source, s.market, coalesce(s.game_id, g.game_id) AS game_id, s.game_date, s.player_id,
           s.sportsbook, s.line, s.over_price, s.under_price, s.quoted_at,
           coalesce(s.tipoff_at, g.tipoff_at) AS tipoff_at, s.quote_basis,
           s.opening_line, s.opening_price, s.opening_at,
           devig_p_over(s.over_price, s.under_price) AS fair_p_over
    FROM prop_line_snapshots AS s
    LEFT JOIN games AS g ON g.game_id = s.game_id
    WHERE s.player_id IS NOT NULL AND s.line > 0
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
    WINDOW w AS (PARTITION BY market, source, game_date, player_id
                 ORDER BY quoted_at ASC NULLS FIRST, snapshot_id ASC NULLS FIRST)
),
seq AS (
    SELECT *,
           CASE WHEN quoted_at IS NULL THEN 0 ELSE
               sum(new_snapshot) OVER (PARTITION BY market, source, game_date, player_id
                                       ORDER BY quoted_at ASC NULLS FIRST, snapshot_id ASC NULLS FIRST
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) END AS snapshot_seq
    FROM cut
)
SELECT snapshot_id, source, market, game_id, game_date, player_id, sportsbook, line, over_price, under_price,
       fair_p_over, quoted_at, tipoff_at, quote_basis, opening_line, opening_price, opening_at,
       CAST(snapshot_seq AS INTEGER) AS snapshot_seq,
       max(quoted_at) OVER (PARTITION BY market, source, game_date, player_id, snapshot_seq) AS snapshot_at
FROM seq;
