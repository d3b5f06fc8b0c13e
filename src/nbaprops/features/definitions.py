"""Feature names and versions of the feature store.

What each feature means, how it is computed, and which fault of the old system it removes:
``docs/features.md``.

Every feature of a game on date D is computed from games strictly before D and from line quotes
made before tip-off. A value that cannot be computed is NULL with source ``missing``; nothing is
defaulted.
"""

from __future__ import annotations

__all__ = [
    "CONTEXT_COLUMNS",
    "FEATURES_V1",
    "FEATURES_V2",
    "FEATURES_V3",
    "FEATURES_V4",
    "AVAILABILITY_FEATURES",
    "LINE_MOVEMENT_FEATURES",
    "FEATURE_VERSION",
    "FEATURE_VERSIONS",
    "MARKET_FEATURES",
    "OPTIONAL_FEATURES",
    "SERVED_FEATURE_VERSION",
    "SOURCE_WEIGHTS",
]

FEATURES_V1: tuple[str, ...] = (
    "points_avg_last_5",        # 0  mean points, last 5 games played before D (season)
    "points_avg_last_10",       # 1  last 10 games played
    "points_avg_season",        # 2  all games played this season before D
    "points_std_last_10",       # 3  sample std, last 10 games played
    "games_in_last_7_days",     # 4  games in [D-7, D)
    "fatigue_score",            # 5  0-100, high = rested
    "shot_zone_mismatch_score", # 6  -10..10, player's main zone vs opponent's defense of it
    "pace_score",               # 7  -3..3, (team pace - opponent pace) / 2
    "usage_spike_score",        # 8  -3..3, usage proxy last 3 vs last 10
    "rest_advantage",           # 9  player days rest - opponent days rest, clamped to [-2, 2]
    "injury_risk",              # 10 from an injury report; NULL (missing) when none was ingested
    "recent_trend",             # 11 -2..2 from mean(last 2) - mean(previous 3)
    "minutes_change",           # 12 -2..2 from (minutes L10 - season) / season
    "opponent_def_rating",      # 13 opponent's defensive rating, last 15 games
    "opponent_pace",            # 14 opponent's pace, last 15 games
    "home_away",                # 15 1 = home
    "back_to_back",             # 16 1 = played yesterday
    "playoff_game",             # 17 1 = playoffs
    "pct_paint",                # 18 share of FGA in the paint, last 10 games
    "pct_mid_range",            # 19 share of FGA mid-range, last 10 games
    "pct_three",                # 20 share of FGA from three, last 10 games
    "pct_free_throw",           # 21 FTM / points, last 10 games (needs >= 5)
    "team_pace",                # 22 team pace, last 10 games
    "team_off_rating",          # 23 team offensive rating, last 10 games
    "team_win_pct",             # 24 team wins / games this season before D (needs >= 5)
)

FEATURES_V2: tuple[str, ...] = FEATURES_V1 + (
    "vegas_points_line",        # 25 chosen pre-tip line (book priority), NULL if none
    "vegas_opening_line",       # 26 earliest pre-tip quote of the chosen book
    "vegas_line_move",          # 27 current - opening
    "has_vegas_line",           # 28 1/0
    "avg_points_vs_opponent",   # 29 mean points vs this opponent, games in the 365 days before D
    "games_vs_opponent",        # 30 count of those games
    "minutes_avg_last_10",      # 31 mean minutes, last 10 games played (really 10 games)
    "ppm_avg_last_10",          # 32 sum points / sum minutes, last 10 games played
)

#: Who plays and for how long (issue 10), from box scores of games strictly before D only
#: (``player_availability``; docs/features.md, "Availability"). "Out" = missed the team's previous
#: game but played within its last 11 (the point-in-time proxy: who plays on D is not known).
AVAILABILITY_FEATURES: tuple[str, ...] = (
    "games_missed_streak",        # 33 his roster team's games since his latest game of the season
    "games_since_return",         # 34 his games since an absence of 3+ team games (0 = in one now); NULL if none
    "minutes_since_return",       # 35 mean minutes in those games; NULL if none
    "minutes_trend_3_10",         # 36 mean minutes last 3 - last 10 games of the season
    "minutes_share_last_10",      # 37 his minutes / team minutes, his last 10 games
    "fga_share_last_10",          # 38 his FGA / team FGA, his last 10 games
    "teammates_out",              # 39 rotation teammates out (last-10 minutes >= rotation_min_minutes)
    "vacated_minutes_share",      # 40 sum of the out teammates' minutes shares
    "vacated_fga_share",          # 41 ... FGA shares
    "vacated_points_share",       # 42 ... points shares
    "starters_missing",           # 43 out teammates who started most of their last 10 games
    "opp_players_out",            # 44 the same four for the opponent
    "opp_vacated_minutes_share",  # 45
    "opp_vacated_fga_share",      # 46
    "opp_vacated_points_share",   # 47
    "opp_starters_missing",       # 48
    "projected_minutes",          # 49 last-5 minutes with newly vacated minutes spread pro rata
)

FEATURES_V3: tuple[str, ...] = FEATURES_V2 + AVAILABILITY_FEATURES

#: How the market moved and how much the books disagree (issue 11 part 6), from the pre-tip points
#: quotes made by the prediction time (``line_movement``; docs/features.md, "Market movement"). NULL
#: when the player-game has no such quote. Every one is in :data:`MARKET_FEATURES`.
LINE_MOVEMENT_FEATURES: tuple[str, ...] = (
    "mkt_consensus_line_move",    # 50 median of the books' newest lines - median of their opening lines
    "mkt_p_over_move",            # 51 mean move of the books' de-vigged P(over) since their open, same line only
    "mkt_line_spread",            # 52 max - min of the books' newest lines
    "mkt_books_quoting",          # 53 books with a pre-tip quote
    "mkt_hours_to_tip",           # 54 hours from the newest timed quote to tip-off
)

FEATURES_V4: tuple[str, ...] = FEATURES_V3 + LINE_MOVEMENT_FEATURES

#: The feature version the served models are trained on and predict from. The only place the
#: served version is spelled out: every other module imports this name.
SERVED_FEATURE_VERSION = "v2_33features"
#: Same value as :data:`SERVED_FEATURE_VERSION` (the shorter name the CLI, pipeline and API use).
FEATURE_VERSION = SERVED_FEATURE_VERSION

FEATURE_VERSIONS: dict[str, tuple[str, ...]] = {
    "v1_baseline_25": FEATURES_V1,
    "v2_33features": FEATURES_V2,
    "v3_availability": FEATURES_V3,
    "v4_market_movement": FEATURES_V4,
}

# Features whose absence is legitimate (a player without a line, no history vs an opponent,
# no injury feed): they do not count as "required" in the quality score.
OPTIONAL_FEATURES: frozenset[str] = frozenset({
    "vegas_points_line", "vegas_opening_line", "vegas_line_move",
    "avg_points_vs_opponent", "injury_risk",
    # no absence of 3+ games this season: nothing to count from
    "games_since_return", "minutes_since_return",
    # no pre-tip quote (most players), or no opening quote at the same line
    *LINE_MOVEMENT_FEATURES,
})

#: Every feature derived from a sportsbook line or price. A system's *model-only* forecast is built
#: from its features minus these (a boosted model is trained again without them), so it can be
#: compared with the line it would otherwise lean on. A new line- or price-derived feature must be
#: added here.
MARKET_FEATURES: frozenset[str] = frozenset({
    "vegas_points_line", "vegas_opening_line", "vegas_line_move", "has_vegas_line",
    *LINE_MOVEMENT_FEATURES,
})

# Weight of each feature source in the 0-100 quality score.
SOURCE_WEIGHTS: dict[str, float] = {
    "phase4": 100.0,      # precompute tables
    "phase3": 100.0,      # analytics tables
    "calculated": 100.0,  # derived in the feature build from real inputs
    "vegas": 100.0,       # a real pre-tip book quote
    "partial": 70.0,      # computed from fewer games than the window asks for
    "missing": 0.0,       # no real value exists; stored as NULL
}

# Non-model columns stored with each feature row for systems that need them (zone matchup,
# similarity) and for people reading the store.
CONTEXT_COLUMNS: tuple[str, ...] = (
    "opp_paint_fg_pct_vs_league",  # opponent FG% allowed in the paint minus league, last 15 games
    "opp_mid_fg_pct_vs_league",
    "opp_three_fg_pct_vs_league",
    "opp_points_allowed_avg",      # opponent points allowed per game, last 15
    "days_rest",
    "opponent_days_rest",
    "games_played_season",
)
