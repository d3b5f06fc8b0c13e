"""Identity resolution against the real sportsbook lines in ../shared/data.

Run with ``pytest tests/integration/test_names_shared.py -s`` to see the match rates, the
methods used and the unmatched names with counts.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd
import pytest

from nbaprops.ingest.names import normalize_team_abbr, player_lookup, resolve_player_names

MIN_RESOLVED = 0.98  # project requirement is 0.95
MIN_BOX_ROW = 0.90
KEY_COLUMNS = ["key", "player_name", "game_date", "team_hints"]

pytestmark = pytest.mark.integration


# ---------------------------------------------------------------------------- loaders
def _players(shared: Path) -> pd.DataFrame:
    return pd.read_csv(shared / "reference" / "nba_players.csv")


def _appearances(shared: Path) -> pd.DataFrame:
    box = pd.read_parquet(shared / "boxscores" / "player_boxscores_2020-21_to_2025-26.parquet",
                          columns=["player_id", "game_date", "team"])
    return box.rename(columns={"team": "team_abbr"})


def _odds_api(shared: Path) -> pd.DataFrame:
    teams = pd.read_csv(shared / "reference" / "nba_teams.csv")
    full_to_abbr = dict(zip(teams["full_name"], teams["abbreviation"], strict=True))
    raw = pd.read_parquet(shared / "lines" / "odds_api_2024-03_to_2024-05.parquet")
    pts = raw[raw["bookmakers.markets.key"] == "player_points"].reset_index(drop=True)
    unknown = (set(pts["home_team"]) | set(pts["away_team"])) - set(full_to_abbr)
    assert not unknown, f"team names missing from nba_teams.csv: {unknown}"
    return pd.DataFrame(
        {
            "key": range(len(pts)),
            "player_name": pts["outcomes_description"],
            "game_date": pd.to_datetime(pts["commence_time"], utc=True)
            .dt.tz_convert("US/Eastern").dt.date,
            "team_hints": [[full_to_abbr[h], full_to_abbr[a]]
                           for h, a in zip(pts["home_team"], pts["away_team"], strict=True)],
        }
    )


def _bettingpros(shared: Path) -> pd.DataFrame:
    frames = []
    for path in sorted((shared / "lines" / "bettingpros").glob("*/props_*.csv")):
        match = re.search(r"props_(\d{4}-\d{2}-\d{2})\.csv$", path.name)
        assert match, path
        df = pd.read_csv(path, usecols=["player", "team", "market_id"])
        df = df[df["market_id"] == 156]
        frames.append(df.assign(game_date=pd.Timestamp(match.group(1)).date()))
    bp = pd.concat(frames, ignore_index=True)
    return pd.DataFrame(
        {
            "key": range(len(bp)),
            "player_name": bp["player"],
            "game_date": bp["game_date"],
            "team_hints": [[normalize_team_abbr(t)] if isinstance(t, str) else None for t in bp["team"]],
        }
    )


@pytest.fixture(scope="module")
def reference(shared_data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return _players(shared_data), _appearances(shared_data)


@pytest.fixture(scope="module", params=["odds_api", "bettingpros"])
def source(request: pytest.FixtureRequest, shared_data: Path) -> tuple[str, pd.DataFrame]:
    loader = {"odds_api": _odds_api, "bettingpros": _bettingpros}[request.param]
    return request.param, loader(shared_data)


# ---------------------------------------------------------------------------- tests
def test_bettingpros_team_abbreviations_all_map(shared_data: Path) -> None:
    bp = _bettingpros(shared_data)
    teams = set(pd.read_csv(shared_data / "reference" / "nba_teams.csv")["abbreviation"])
    used = {t for hints in bp["team_hints"] if hints for t in hints}
    assert used <= teams, used - teams


def test_resolution_rates(source: tuple[str, pd.DataFrame],
                          reference: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    label, lines = source
    players, appearances = reference

    t0 = time.perf_counter()
    out = resolve_player_names(lines[KEY_COLUMNS], players, appearances)
    elapsed = time.perf_counter() - t0
    assert len(out) == len(lines) and (out["key"].to_numpy() == lines["key"].to_numpy()).all()
    assert (out["player_id"].isna() == out["unmatched_reason"].notna()).all()

    merged = lines.merge(out, on="key")
    merged["game_date"] = merged["game_date"].astype(str)
    games = merged.groupby(["player_name", "game_date"], as_index=False).agg(
        player_id=("player_id", "first"), n_ids=("player_id", "nunique"))
    # one book name on one date must never resolve to two players
    assert (games["n_ids"] <= 1).all()
    rate = games["player_id"].notna().mean()

    resolved = games.dropna(subset=["player_id"]).astype({"player_id": "int64"})
    box = appearances.assign(game_date=appearances["game_date"].astype(str))
    joined = resolved.merge(box, on=["player_id", "game_date"], how="left")
    box_rate = joined["team_abbr"].notna().mean()
    hints = merged.drop_duplicates(["player_name", "game_date"]).set_index(["player_name", "game_date"])["team_hints"]
    with_row = joined.dropna(subset=["team_abbr"])
    team_ok = pd.Series([t in (hints.loc[(n, d)] or [t]) for n, d, t in
                         zip(with_row["player_name"], with_row["game_date"], with_row["team_abbr"], strict=True)])

    print(f"\n[{label}] {len(lines):,} rows resolved in {elapsed:.2f}s")
    print(f"[{label}] distinct player-games {len(games):,}; resolved {rate:.2%}; "
          f"box-score row on that date {box_rate:.2%}; box-score team in hints {team_ok.mean():.2%}")
    print(f"[{label}] match methods (rows):\n{merged['match_method'].value_counts(dropna=False).to_string()}")
    unmatched = (merged[merged["player_id"].isna()]
                 .groupby(["player_name", "unmatched_reason"]).size().sort_values(ascending=False))
    print(f"[{label}] unmatched names (rows): "
          + ("none" if unmatched.empty else "\n" + unmatched.to_string()))
    no_row = joined[joined["team_abbr"].isna()]
    print(f"[{label}] resolved player-games without a box-score row (DNP / void): {len(no_row)}")

    assert rate >= MIN_RESOLVED, f"{label}: only {rate:.2%} of player-games resolved"
    assert box_rate >= MIN_BOX_ROW, f"{label}: only {box_rate:.2%} of resolved player-games have a box row"
    assert team_ok.mean() >= 0.99, f"{label}: box-score team outside the hints for {1 - team_ok.mean():.2%}"


QUIRKS = {
    "Kentavious Caldwell-Pope": ["Caldwell Pope Kentavious", "K. Caldwell-Pope", "Kentavious Caldwell-Pope"],
    "Al Horford": ["Alfred Joel Horford Reynoso", "Al Horford"],
    "Bam Adebayo": ["Edrice Femi Adebayo", "Bam Adebayo"],
}


def test_known_quirk_names(shared_data: Path, reference: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    players, appearances = reference
    lines = _odds_api(shared_data)
    by_key = players.assign(k=players["full_name"].map(player_lookup)).set_index("k")["player_id"]
    for full_name, spellings in QUIRKS.items():
        expected = int(by_key.loc[player_lookup(full_name)])
        for spelling in spellings:
            rows = lines[lines["player_name"] == spelling]
            assert not rows.empty, f"{spelling!r} no longer in the Odds API file"
            out = resolve_player_names(rows[KEY_COLUMNS], players, appearances)
            got = set(out["player_id"].dropna().astype(int))
            assert got == {expected}, f"{spelling!r} -> {got}, expected {expected} ({full_name})"
            assert out["player_id"].notna().all()
            print(f"{spelling!r:32} -> {expected} ({full_name}) via {sorted(set(out['match_method']))}")
