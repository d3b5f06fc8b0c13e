-- Phase 3: every player expected to play on a date (a points line, or a rotation player of a team
-- that plays), plus every player who did play (rows for training; flagged), with schedule, rest
-- and the chosen pre-tip line. Uses only games strictly before the date and quotes before tip-off
-- that were made at or before $as_of.
WITH slate AS (
    SELECT game_id, game_date, season, season_year, season_type, tipoff_at,
           home_abbr AS team_abbr, away_abbr AS opponent_abbr, TRUE AS is_home
    FROM games WHERE game_date BETWEEN $date_from AND $date_to
    UNION ALL
    SELECT game_id, game_date, season, season_year, season_type, tipoff_at,
           away_abbr AS team_abbr, home_abbr AS opponent_abbr, FALSE AS is_home
    FROM games WHERE game_date BETWEEN $date_from AND $date_to
),
pg AS (
    SELECT
        player_id, game_date, team_abbr, minutes,
        LEAD(game_date) OVER (PARTITION BY player_id ORDER BY game_date ASC NULLS FIRST) AS next_game_date,
        AVG(minutes) OVER (PARTITION BY player_id ORDER BY game_date ASC NULLS FIRST
                           ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS minutes_l10_incl
    FROM player_boxscores
    WHERE game_date < $date_to
),
tg AS (
    SELECT team_abbr, game_date,
           LEAD(game_date) OVER (PARTITION BY team_abbr ORDER BY game_date ASC NULLS FIRST) AS next_game_date
    FROM team_boxscores
    WHERE game_date <= $date_to
),
rotation AS (
    SELECT s.game_date, p.player_id, s.team_abbr
    FROM slate AS s
    JOIN pg AS p
      ON p.team_abbr = s.team_abbr
     AND p.game_date < s.game_date
     AND (p.next_game_date IS NULL OR p.next_game_date >= s.game_date)
     AND p.game_date >= s.game_date - INTERVAL 30 DAY
    WHERE p.minutes_l10_incl >= $rotation_min_minutes
),
quotes AS (
    SELECT q.*,
           coalesce(bp.priority, 999) AS book_rank
    FROM prop_line_snapshots AS q
    LEFT JOIN book_priority AS bp ON bp.sportsbook = q.sportsbook
    LEFT JOIN games AS g ON g.game_id = q.game_id
    WHERE q.market = 'player_points' AND q.player_id IS NOT NULL
      AND q.game_date BETWEEN $date_from AND $date_to
      AND q.line > 0
      -- pre-tip only (nbaprops.pretip): a timed quote strictly before tip-off (the quote's own, else the
      -- schedule's), or a source's final pre-tip (closing) line
      AND ((q.quote_basis = 'quoted_at' AND q.quoted_at IS NOT NULL
            AND q.quoted_at < coalesce(q.tipoff_at, g.tipoff_at) AND q.quoted_at <= $as_of)
           OR q.quote_basis = 'closing')
),
line_players AS (
    -- players with a usable (pre-tip, known by $as_of) points quote: the same quotes a line is chosen from
    SELECT game_date, player_id,
           max(player_team) AS player_team, max(home_team) AS home_team, max(away_team) AS away_team
    FROM quotes
    GROUP BY game_date, player_id
),
last_game AS (
    -- the player's last game strictly before each candidate date
    SELECT c.game_date, c.player_id, p.game_date AS last_game_date, p.team_abbr AS last_team
    FROM (SELECT game_date, player_id FROM line_players
          UNION SELECT game_date, player_id FROM rotation
          UNION SELECT game_date, player_id FROM player_boxscores WHERE game_date BETWEEN $date_from AND $date_to) AS c
    JOIN pg AS p
      ON p.player_id = c.player_id
     AND p.game_date < c.game_date
     AND (p.next_game_date IS NULL OR p.next_game_date >= c.game_date)
),
candidates AS (
    SELECT game_date, player_id, team_abbr,
           bool_or(has_line) AS has_line, bool_or(is_rotation) AS is_rotation, bool_or(played) AS played,
           min(team_rank) AS team_rank
    FROM (
        SELECT game_date, player_id, team_abbr, FALSE AS has_line, FALSE AS is_rotation, TRUE AS played, 1 AS team_rank
        FROM player_boxscores WHERE game_date BETWEEN $date_from AND $date_to
        UNION ALL
        SELECT l.game_date, l.player_id,
               coalesce(l.player_team,
                        CASE WHEN lg.last_team IN (l.home_team, l.away_team) THEN lg.last_team END),
               TRUE, FALSE, FALSE, 2
        FROM line_players AS l
        LEFT JOIN last_game AS lg ON lg.player_id = l.player_id AND lg.game_date = l.game_date
        UNION ALL
        SELECT game_date, player_id, team_abbr, FALSE, TRUE, FALSE, 3 FROM rotation
    ) AS u
    WHERE team_abbr IS NOT NULL
    GROUP BY game_date, player_id, team_abbr
),
one_team AS (
    -- if sources disagree on the team, trust the box score, then the book, then the last game
    SELECT game_date, player_id, team_abbr,
           bool_or(has_line) OVER (PARTITION BY game_date, player_id) AS has_line,
           bool_or(is_rotation) OVER (PARTITION BY game_date, player_id) AS is_rotation,
           bool_or(played) OVER (PARTITION BY game_date, player_id) AS played,
           ROW_NUMBER() OVER (PARTITION BY game_date, player_id ORDER BY team_rank ASC NULLS FIRST) AS rn
    FROM candidates
),
recent AS (
    SELECT c.game_date, c.player_id,
           count(CASE WHEN b.game_date >= c.game_date - INTERVAL 7 DAY THEN 1 END) AS games_in_last_7_days,
           count(*) AS games_in_last_14_days,
           -- rounded: a parallel float sum differs in the last bit run to run, and fatigue compares it with 120
           round(coalesce(sum(CASE WHEN b.game_date >= c.game_date - INTERVAL 7 DAY THEN b.minutes END), 0), 6) AS minutes_in_last_7_days,
           round(coalesce(sum(b.minutes), 0), 6) AS minutes_in_last_14_days
    FROM one_team AS c
    JOIN player_boxscores AS b
      ON b.player_id = c.player_id
     AND b.game_date < c.game_date
     AND b.game_date >= c.game_date - INTERVAL 14 DAY
    WHERE c.rn = 1
    GROUP BY c.game_date, c.player_id
),
opp_rest AS (
    SELECT s.game_date, s.team_abbr,
           CAST(date_diff('day', t.game_date, s.game_date) AS INTEGER) AS days_rest
    FROM slate AS s
    JOIN tg AS t
      ON t.team_abbr = s.team_abbr
     AND t.game_date < s.game_date
     AND (t.next_game_date IS NULL OR t.next_game_date >= s.game_date)
),
chosen AS (
    SELECT *
    FROM (
        SELECT q.*,
               ROW_NUMBER() OVER (PARTITION BY q.game_date, q.player_id
                                  ORDER BY q.book_rank ASC NULLS LAST,
                                           CASE WHEN q.source = 'odds_api' THEN 0 ELSE 1 END ASC NULLS LAST,
                                           q.quoted_at DESC NULLS LAST, q.snapshot_id ASC NULLS LAST) AS rn
        FROM quotes AS q
    ) AS r
    WHERE rn = 1
),
opening AS (
    SELECT q.game_date, q.player_id, q.sportsbook,
           arg_min(q.line, q.quoted_at) AS first_line
    FROM quotes AS q
    WHERE q.quoted_at IS NOT NULL
    GROUP BY q.game_date, q.player_id, q.sportsbook
),
consensus AS (
    SELECT game_date, player_id, median(line) AS consensus_line, count(DISTINCT sportsbook) AS n_books
    FROM (
        SELECT q.*, ROW_NUMBER() OVER (PARTITION BY q.game_date, q.player_id, q.sportsbook, q.source
                                       ORDER BY q.quoted_at DESC NULLS LAST) AS rn
        FROM quotes AS q
    ) AS l
    WHERE rn = 1
    GROUP BY game_date, player_id
)
SELECT
    s.game_id,
    c.game_date,
    c.player_id,
    s.season,
    s.season_year,
    s.season_type,
    c.team_abbr,
    s.opponent_abbr,
    s.is_home,
    s.tipoff_at,
    c.has_line,
    c.is_rotation,
    c.played,
    (c.has_line OR c.is_rotation) AS is_expected,
    lg.last_game_date,
    CAST(date_diff('day', lg.last_game_date, c.game_date) AS INTEGER) AS days_rest,
    (date_diff('day', lg.last_game_date, c.game_date) = 1) AS back_to_back,
    coalesce(r.games_in_last_7_days, 0) AS games_in_last_7_days,
    coalesce(r.games_in_last_14_days, 0) AS games_in_last_14_days,
    coalesce(r.minutes_in_last_7_days, 0) AS minutes_in_last_7_days,
    coalesce(r.minutes_in_last_14_days, 0) AS minutes_in_last_14_days,
    o.days_rest AS opponent_days_rest,
    ch.snapshot_id AS line_snapshot_id,
    ch.source AS line_source_feed,
    ch.sportsbook,
    ch.line AS current_points_line,
    ch.over_price,
    ch.under_price,
    ch.quoted_at AS line_quoted_at,
    ch.quote_basis AS line_quote_basis,
    coalesce(ch.opening_line, op.first_line) AS opening_points_line,
    cs.consensus_line,
    cs.n_books
FROM one_team AS c
JOIN slate AS s ON s.game_date = c.game_date AND s.team_abbr = c.team_abbr
LEFT JOIN last_game AS lg ON lg.player_id = c.player_id AND lg.game_date = c.game_date
LEFT JOIN recent AS r ON r.player_id = c.player_id AND r.game_date = c.game_date
LEFT JOIN opp_rest AS o ON o.game_date = c.game_date AND o.team_abbr = s.opponent_abbr
LEFT JOIN chosen AS ch ON ch.game_date = c.game_date AND ch.player_id = c.player_id
LEFT JOIN opening AS op ON op.game_date = c.game_date AND op.player_id = c.player_id AND op.sportsbook = ch.sportsbook
LEFT JOIN consensus AS cs ON cs.game_date = c.game_date AND cs.player_id = c.player_id
WHERE c.rn = 1
