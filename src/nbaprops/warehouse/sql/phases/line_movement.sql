-- Phase 4: the line-movement features of v4_market_movement (issue 11 part 6; docs/features.md,
-- "The v4 market-movement additions"), one row per upcoming_player_game_context row.
-- Point in time: only points quotes that are PRE-TIP (nbaprops.pretip: a timed quote made strictly
-- before tip-off, the quote's own tip-off else the schedule's; or a source's 'closing' row, the final
-- pre-tip line without a time) and, for timed quotes, made at or before $as_of: the same quotes the
-- chosen line of upcoming_player_game_context comes from. No quote: every value NULL (source 'missing').
-- Each (source, book) gives its newest such quote ("now") and its first ("open"; a 'closing' row's open
-- is the source's own opening_line, which comes with one price only, so no opening probability).
WITH quotes AS (
    SELECT q.source, q.game_date, q.player_id, q.sportsbook, q.line, q.quoted_at, q.quote_basis,
           q.opening_line, q.snapshot_id,
           coalesce(q.tipoff_at, g.tipoff_at) AS tip,
           CASE WHEN q.over_price IS NULL OR abs(q.over_price) < 100 THEN NULL
                WHEN q.over_price > 0 THEN 100.0 / (q.over_price + 100.0)
                ELSE -q.over_price / (-q.over_price + 100.0) END AS imp_over,
           CASE WHEN q.under_price IS NULL OR abs(q.under_price) < 100 THEN NULL
                WHEN q.under_price > 0 THEN 100.0 / (q.under_price + 100.0)
                ELSE -q.under_price / (-q.under_price + 100.0) END AS imp_under
    FROM prop_line_snapshots AS q
    LEFT JOIN games AS g ON g.game_id = q.game_id
    WHERE q.market = 'player_points' AND q.player_id IS NOT NULL AND q.line > 0
      AND q.game_date BETWEEN $date_from AND $date_to
      AND (q.quote_basis = 'closing'
           OR (q.quote_basis = 'quoted_at' AND q.quoted_at IS NOT NULL
               AND q.quoted_at < coalesce(q.tipoff_at, g.tipoff_at)
               AND q.quoted_at <= $as_of))
),
ranked AS (
    SELECT quotes.*,
           imp_over / (imp_over + imp_under) AS fair_p_over,
           ROW_NUMBER() OVER (PARTITION BY game_date, player_id, source, sportsbook
                              ORDER BY quoted_at DESC NULLS FIRST, snapshot_id ASC NULLS LAST) AS rn_now,
           ROW_NUMBER() OVER (PARTITION BY game_date, player_id, source, sportsbook
                              ORDER BY quoted_at ASC NULLS LAST, snapshot_id ASC NULLS LAST) AS rn_open
    FROM quotes
),
book AS (
    SELECT n.game_date, n.player_id, n.source, n.sportsbook,
           n.line AS now_line, n.fair_p_over AS now_p, n.quoted_at AS now_at, n.tip,
           CASE WHEN o.quoted_at IS NOT NULL THEN o.line ELSE o.opening_line END AS open_line,
           CASE WHEN o.quoted_at IS NOT NULL AND o.line = n.line THEN n.fair_p_over - o.fair_p_over END AS p_move
    FROM ranked AS n
    JOIN ranked AS o
      ON o.game_date = n.game_date AND o.player_id = n.player_id AND o.source = n.source
     AND o.sportsbook = n.sportsbook AND o.rn_open = 1
    WHERE n.rn_now = 1
),
agg AS (
    SELECT game_date, player_id,
           -- the same books on both sides of the move: those with a known open
           median(CASE WHEN open_line IS NOT NULL THEN now_line END) - median(open_line) AS mkt_consensus_line_move,
           avg(p_move) AS mkt_p_over_move,
           max(now_line) - min(now_line) AS mkt_line_spread,
           CAST(count(DISTINCT sportsbook) AS DOUBLE) AS mkt_books_quoting,
           date_diff('second', max(now_at), min(tip)) / 3600.0 AS mkt_hours_to_tip
    FROM book
    GROUP BY game_date, player_id
)
SELECT
    c.game_date, c.game_id, c.player_id,
    a.mkt_consensus_line_move,
    CASE WHEN a.mkt_consensus_line_move IS NULL THEN 'missing' ELSE 'vegas' END AS mkt_consensus_line_move__src,
    a.mkt_p_over_move,
    CASE WHEN a.mkt_p_over_move IS NULL THEN 'missing' ELSE 'vegas' END AS mkt_p_over_move__src,
    a.mkt_line_spread,
    CASE WHEN a.mkt_line_spread IS NULL THEN 'missing' ELSE 'vegas' END AS mkt_line_spread__src,
    a.mkt_books_quoting,
    CASE WHEN a.mkt_books_quoting IS NULL THEN 'missing' ELSE 'vegas' END AS mkt_books_quoting__src,
    a.mkt_hours_to_tip,
    CASE WHEN a.mkt_hours_to_tip IS NULL THEN 'missing' ELSE 'vegas' END AS mkt_hours_to_tip__src
FROM upcoming_player_game_context AS c
LEFT JOIN agg AS a ON a.game_date = c.game_date AND a.player_id = c.player_id
WHERE c.game_date BETWEEN $date_from AND $date_to
