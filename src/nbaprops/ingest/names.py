"""Identity resolution: sportsbook / source player names -> NBA ``player_id``.

Books write player names in many ways ("Luka Dončić", "Luka Doncic", "Bruce Brown Jr",
"Caldwell Pope Kentavious", "K. Caldwell-Pope", "Herb Jones", "Edrice Femi Adebayo"). This
module maps them onto the nba_api person ids used everywhere else (``reference/nba_players.csv``
and the box scores), in tiers from strict to loose:

1. ``exact``     the name's lookup key equals a player's full-name key (or a box-score name);
2. ``alias``     the packaged, hand-verified alias table (``data/player_aliases.csv``);
3. ``suffix``    equal once generational suffixes (Jr, Sr, II-V) are dropped on both sides;
4. ``reordered`` the same tokens in another order, or one token multiset contains the other
   (middle names, surnames written first);
5. ``nickname``  first-name prefix / initial + last name ("Nic"/"Nicolas", "G. Antetokounmpo"),
   accepted only when unique among players who appear for one of the event's teams within
   +/- 30 days.

Several candidates for one name (two players called "Brandon Williams") are disambiguated with
box-score appearances: the candidate who played for one of ``team_hints`` nearest to the game
date (same date first, else within 30 days) wins. A tier whose candidates never appear for those
teams is kept only as a fallback, so "Gary Payton" on a 2024 Warriors line resolves to Gary
Payton II (suffix tier, verified) rather than the retired Gary Payton (exact tier, unverified).
A fallback that is used carries the method suffix ``_team_unverified``.

Resolution is done once per distinct (name, team hints, date) combination and merged back, so
hundreds of thousands of line rows resolve in well under a second.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from nbaprops.errors import InputError, MissingColumnsError

__all__ = [
    "GENERATIONAL_SUFFIXES",
    "TEAM_ABBR_FIXES",
    "WINDOW_DAYS",
    "load_aliases",
    "lookup_variants",
    "name_tokens",
    "normalize_team_abbr",
    "player_lookup",
    "resolve_player_names",
    "strip_suffix",
]

#: Generational suffix tokens (after lookup folding) dropped by the ``suffix`` tier.
GENERATIONAL_SUFFIXES: frozenset[str] = frozenset({"jr", "sr", "ii", "iii", "iv", "v"})

#: Days before/after the game date in which a box-score appearance verifies a team hint.
WINDOW_DAYS = 30

#: Non-standard team abbreviations seen in sources -> the box-score / nba_api abbreviation.
TEAM_ABBR_FIXES: dict[str, str] = {
    "BRK": "BKN",
    "BKLYN": "BKN",
    "CHO": "CHA",
    "GS": "GSW",
    "GST": "GSW",
    "NO": "NOP",
    "NOR": "NOP",
    "NOLA": "NOP",
    "NY": "NYK",
    "PHO": "PHX",
    "SA": "SAS",
    "UTAH": "UTA",
    "UTH": "UTA",
    "WSH": "WAS",
}

# Letters that NFKD does not decompose into ASCII + combining marks.
_TRANSLIT = str.maketrans(
    {
        "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D",
        "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ı": "i", "þ": "th", "Þ": "Th",
    }
)
_NON_ALNUM = re.compile(r"[^a-z0-9]")
_TOKEN_SPLIT = re.compile(r"[\s\-_/,]+")

_ALIAS_RESOURCE = ("data", "player_aliases.csv")

_NAMES_COLUMNS = ("key", "player_name", "game_date", "team_hints")
_PLAYERS_COLUMNS = ("player_id", "full_name", "first_name", "last_name")
_APPEARANCES_COLUMNS = ("player_id", "game_date", "team_abbr")

_NO_DAY = -(10**9)  # sentinel day number for a missing game date


# --------------------------------------------------------------------------------------------
# Name normalisation
# --------------------------------------------------------------------------------------------
def _fold(name: str) -> str:
    """Lowercase ASCII form of ``name``: NFKD accent folding plus a few transliterations."""
    text = unicodedata.normalize("NFKD", name.translate(_TRANSLIT))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


def player_lookup(name: str) -> str:
    """Return the lookup key of a player name.

    Lowercases, folds accents (NFKD, so "Dončić" -> "doncic") and removes every character that is
    not an ASCII letter or digit.

    Args:
        name: A player name as written by any source.

    Returns:
        The lookup key, e.g. ``"Luka Dončić"`` -> ``"lukadoncic"``; ``""`` for a blank name.
    """
    return _NON_ALNUM.sub("", _fold(name))


def name_tokens(name: str) -> list[str]:
    """Split a name into lookup-normalised tokens.

    Whitespace, hyphens, slashes and commas separate tokens; other punctuation is dropped inside a
    token ("P.J." -> "pj", "O'Neale" -> "oneale").

    Args:
        name: A player name.

    Returns:
        The non-empty tokens, e.g. ``"K. Caldwell-Pope"`` -> ``["k", "caldwell", "pope"]``.
    """
    tokens = (_NON_ALNUM.sub("", t) for t in _TOKEN_SPLIT.split(_fold(name)))
    return [t for t in tokens if t]


def strip_suffix(tokens: Sequence[str], min_tokens: int = 2) -> list[str]:
    """Drop trailing generational suffix tokens (Jr, Sr, II, III, IV, V).

    Args:
        tokens: Tokens as returned by :func:`name_tokens`.
        min_tokens: Never reduce below this many tokens (2 for a full name, so "Jr" alone or
            "Malik V" style names are not emptied; 1 for a last name such as "Williams III").

    Returns:
        The tokens without trailing suffixes.
    """
    out = list(tokens)
    while len(out) > min_tokens and out[-1] in GENERATIONAL_SUFFIXES:
        out.pop()
    return out


def lookup_variants(name: str) -> list[str]:
    """Candidate lookup keys for a name, in priority order, without duplicates.

    1. the full lookup key;
    2. the key without generational suffix ("Bruce Brown Jr" -> "brucebrown");
    3. rotations of the (suffix-stripped) tokens, for books that put the last name(s) first
       ("Caldwell Pope Kentavious" -> "kentaviouscaldwellpope");
    4. first token + each later token and first two tokens, for inserted middle names or double
       surnames ("Alfred Joel Horford Reynoso" -> "alfredhorford").

    Args:
        name: A player name as written by any source.

    Returns:
        The candidate keys; empty for a blank name.
    """
    full = player_lookup(name)
    if not full:
        return []
    tokens = name_tokens(name)
    base = strip_suffix(tokens)
    keys: list[str] = [full, "".join(base)]
    n = len(base)
    keys.extend("".join(base[k:] + base[:k]) for k in range(n - 1, 0, -1))
    if n >= 3:
        keys.extend(base[0] + base[j] for j in range(1, n))
        keys.append(base[0] + base[1])
    seen: set[str] = set()
    out: list[str] = []
    for key in keys:
        if key and key not in seen:
            seen.add(key)
            out.append(key)
    return out


def normalize_team_abbr(abbr: str) -> str:
    """Map a source's team abbreviation onto the box-score / nba_api abbreviation.

    Args:
        abbr: A team abbreviation such as ``"PHO"``, ``"NOR"``, ``"GS"`` or ``"UTH"``.

    Returns:
        The standard abbreviation (``"PHX"``, ``"NOP"``, ``"GSW"``, ``"UTA"``); unknown values are
        returned upper-cased and stripped.
    """
    key = str(abbr).strip().upper()
    return TEAM_ABBR_FIXES.get(key, key)


# --------------------------------------------------------------------------------------------
# Aliases
# --------------------------------------------------------------------------------------------
def load_aliases() -> dict[str, int]:
    """Load the packaged alias table.

    Reads ``nbaprops/ingest/data/player_aliases.csv`` (columns ``alias, player_id, note``) via
    :mod:`importlib.resources`, so it works from a wheel as well as from a source checkout.

    Returns:
        ``{player_lookup(alias): player_id}``.

    Raises:
        InputError: The table has a duplicate alias mapped to two different ids or a bad id.
    """
    resource = resources.files("nbaprops.ingest").joinpath(*_ALIAS_RESOURCE)
    out: dict[str, int] = {}
    text = resource.read_text(encoding="utf-8")
    for row_no, row in enumerate(csv.DictReader(io.StringIO(text, newline="")), start=2):
        key = player_lookup(row.get("alias") or "")
        if not key:
            continue
        try:
            pid = int(row["player_id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError("player_id is not an integer", file="player_aliases.csv",
                             row=row_no, field="player_id") from exc
        if out.get(key, pid) != pid:
            raise InputError(f"alias {row['alias']!r} maps to two player ids",
                             file="player_aliases.csv", row=row_no, field="alias")
        out[key] = pid
    return out


# --------------------------------------------------------------------------------------------
# Indexes
# --------------------------------------------------------------------------------------------
@dataclass
class _PlayerIndex:
    """Name keys -> candidate player ids, built once per call from the players table."""

    exact: dict[str, set[int]] = field(default_factory=dict)
    stripped: dict[str, set[int]] = field(default_factory=dict)
    token_postings: dict[str, set[int]] = field(default_factory=dict)
    tokens: dict[int, frozenset[str]] = field(default_factory=dict)
    token_counts: dict[int, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    by_last: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    @classmethod
    def build(cls, players: pd.DataFrame, extra_names: pd.DataFrame | None) -> _PlayerIndex:
        idx = cls()
        for pid, full, first, last in zip(
            players["player_id"].to_numpy(), players["full_name"].to_numpy(),
            players["first_name"].to_numpy(), players["last_name"].to_numpy(), strict=True,
        ):
            if pd.isna(pid) or not isinstance(full, str):
                continue
            idx._add_name(int(pid), full)
            first_key = player_lookup(first) if isinstance(first, str) else ""
            last_key = "".join(strip_suffix(name_tokens(last), 1)) if isinstance(last, str) else ""
            if first_key and last_key:
                idx.by_last.setdefault(last_key, []).append((int(pid), first_key))
        if extra_names is not None:
            for pid, nm in zip(extra_names["player_id"].to_numpy(),
                               extra_names["player_name"].to_numpy(), strict=True):
                if not pd.isna(pid) and isinstance(nm, str):
                    idx._add_name(int(pid), nm)
        return idx

    def _add_name(self, pid: int, name: str) -> None:
        key = player_lookup(name)
        if not key:
            return
        self.exact.setdefault(key, set()).add(pid)
        base = strip_suffix(name_tokens(name))
        self.stripped.setdefault("".join(base), set()).add(pid)
        if pid not in self.tokens:  # the reference full name defines the token set
            self.tokens[pid] = frozenset(base)
            self.token_counts[pid] = _multiset(base)
            for tok in base:
                self.token_postings.setdefault(tok, set()).add(pid)


def _multiset(tokens: Iterable[str]) -> tuple[tuple[str, int], ...]:
    counts: dict[str, int] = {}
    for t in tokens:
        counts[t] = counts.get(t, 0) + 1
    return tuple(sorted(counts.items()))


def _contains(big: tuple[tuple[str, int], ...], small: tuple[tuple[str, int], ...]) -> bool:
    have = dict(big)
    return all(have.get(t, 0) >= c for t, c in small)


@dataclass(frozen=True)
class _NameCandidates:
    """Candidate ids per tier for one distinct name (computed once per name)."""

    tiers: tuple[tuple[str, frozenset[int]], ...]
    nickname: frozenset[int]


def _candidates_for(name: str, idx: _PlayerIndex, aliases: dict[str, int]) -> _NameCandidates:
    variants = lookup_variants(name)
    if not variants:
        return _NameCandidates((), frozenset())
    full = variants[0]
    base = strip_suffix(name_tokens(name))
    stripped_key = "".join(base)

    exact = frozenset(idx.exact.get(full, ()))
    alias = frozenset({aliases[full]} if full in aliases else ())
    if not alias and stripped_key in aliases:
        alias = frozenset({aliases[stripped_key]})
    suffix = frozenset(idx.stripped.get(stripped_key, ()))

    reordered: set[int] = set()
    for key in variants[2:]:
        reordered |= idx.stripped.get(key, set())
    if len(base) >= 2:
        book_ms = _multiset(base)
        book_set = set(base)
        # player tokens within the book's tokens (book adds middle names / reorders)
        pool: set[int] = set()
        for tok in book_set:
            pool |= idx.token_postings.get(tok, set())
        for pid in pool:
            ptoks = idx.tokens[pid]
            if len(ptoks) >= 2 and ptoks <= book_set and _contains(book_ms, idx.token_counts[pid]):
                reordered.add(pid)
        # book tokens within the player's tokens (player has a middle name the book omits)
        postings = [idx.token_postings.get(tok, set()) for tok in book_set]
        if all(postings):
            for pid in set.intersection(*postings):
                if _contains(idx.token_counts[pid], book_ms):
                    reordered.add(pid)

    nickname: set[int] = set()
    if len(base) >= 2:
        first, rest = base[0], "".join(base[1:])
        for pid, first_key in idx.by_last.get(rest, ()):
            if first_key.startswith(first) or first.startswith(first_key):
                nickname.add(pid)

    tiers = (("exact", exact), ("alias", alias), ("suffix", suffix),
             ("reordered", frozenset(reordered)))
    return _NameCandidates(tiers, frozenset(nickname))


class _Appearances:
    """Box-score appearances as sorted day numbers per (player, team) and per player."""

    def __init__(self, appearances: pd.DataFrame) -> None:
        self.by_team: dict[tuple[int, str], np.ndarray] = {}
        self.by_player: dict[int, np.ndarray] = {}
        if appearances.empty:
            return
        frame = pd.DataFrame(
            {
                "pid": pd.to_numeric(appearances["player_id"], errors="coerce"),
                "day": _to_days(appearances["game_date"]),
                "team": appearances["team_abbr"].astype("string").str.strip().str.upper(),
            }
        ).dropna()
        frame["team"] = frame["team"].replace(TEAM_ABBR_FIXES)
        frame = frame.astype({"pid": "int64", "day": "int64"})
        pids = frame["pid"].to_numpy()
        teams = frame["team"].to_numpy(dtype=object)
        days = frame["day"].to_numpy()
        order = np.lexsort((days, teams.astype(str), pids))
        pids, teams, days = pids[order], teams[order], days[order]
        if pids.size:
            cut = np.flatnonzero((pids[1:] != pids[:-1]) | (teams[1:] != teams[:-1])) + 1
            for lo, hi in zip(np.r_[0, cut], np.r_[cut, pids.size], strict=True):
                self.by_team[(int(pids[lo]), str(teams[lo]))] = days[lo:hi]
            pcut = np.flatnonzero(pids[1:] != pids[:-1]) + 1
            for lo, hi in zip(np.r_[0, pcut], np.r_[pcut, pids.size], strict=True):
                self.by_player[int(pids[lo])] = np.unique(days[lo:hi])

    @property
    def available(self) -> bool:
        return bool(self.by_player)

    def distance(self, pid: int, day: int, teams: tuple[str, ...] | None) -> float:
        """Days from ``day`` to the nearest appearance (for one of ``teams``); inf if none."""
        arrays = ([self.by_team.get((pid, t)) for t in teams] if teams
                  else [self.by_player.get(pid)])
        best = float("inf")
        for arr in arrays:
            if arr is None or arr.size == 0:
                continue
            pos = int(np.searchsorted(arr, day))
            if pos < arr.size:
                best = min(best, float(arr[pos] - day))
            if pos > 0:
                best = min(best, float(day - arr[pos - 1]))
        return best


def _to_days(values: pd.Series) -> pd.Series:
    """Dates (date objects, strings or Timestamps) -> days since epoch (float, NaN for missing)."""
    ts = pd.to_datetime(values, errors="coerce")
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_localize(None)
    out = ts.dt.normalize().astype("datetime64[s]").astype("int64") // 86_400
    return out.where(ts.notna())


# --------------------------------------------------------------------------------------------
# Resolution
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Result:
    player_id: int | None
    method: str | None
    reason: str | None


def _fmt_ids(ids: Iterable[int]) -> str:
    return "[" + ", ".join(str(i) for i in sorted(ids)) + "]"


def _resolve_one(cands: _NameCandidates, day: int, teams: tuple[str, ...] | None,
                 apps: _Appearances) -> _Result:
    """Resolve one distinct (name, date, team hints) combination."""
    if not cands.tiers:
        return _Result(None, None, "empty_name")
    can_verify = apps.available and day != _NO_DAY
    iday = int(day)
    unverified_suffix = "_team_unverified" if teams else "_unverified"
    fallback: _Result | None = None

    for method, ids in cands.tiers:
        if not ids:
            continue
        if not can_verify:
            if len(ids) == 1:
                return _Result(next(iter(ids)), method, None)
            return _Result(None, None, f"ambiguous: ids {_fmt_ids(ids)}")
        dist = {pid: apps.distance(pid, iday, teams) for pid in ids}
        best = min(dist.values())
        if best <= WINDOW_DAYS:
            winners = [pid for pid, d in dist.items() if d == best]
            if len(winners) == 1:
                return _Result(winners[0], method, None)
            return _Result(None, None, f"ambiguous: ids {_fmt_ids(winners)}")
        if fallback is None:
            if len(ids) == 1:
                fallback = _Result(next(iter(ids)), method + unverified_suffix, None)
            else:
                fallback = _Result(None, None, f"ambiguous: ids {_fmt_ids(ids)}")

    if cands.nickname:
        if not (can_verify and teams):
            nick = _Result(
                None, None, f"nickname_unverifiable: ids {_fmt_ids(cands.nickname)}")
        else:
            near = [pid for pid in cands.nickname if apps.distance(pid, iday, teams) <= WINDOW_DAYS]
            if len(near) == 1:
                return _Result(near[0], "nickname", None)
            nick = (_Result(None, None, f"nickname_ambiguous: ids {_fmt_ids(near)}") if near else
                    _Result(None, None, f"nickname_no_team_match: ids {_fmt_ids(cands.nickname)}"))
        return fallback if fallback is not None else nick
    return fallback if fallback is not None else _Result(None, None, "no_candidate")


def _hints_key(value: Any) -> tuple[str, ...] | None:
    """Team hints -> sorted tuple of standard abbreviations (``None`` when absent)."""
    if value is None or isinstance(value, float):  # None / NaN
        return None
    if isinstance(value, str):
        value = [value]
    teams = sorted({normalize_team_abbr(t) for t in value if isinstance(t, str) and t.strip()})
    return tuple(teams) or None


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnsError(f"{what} lacks columns {missing}", field=missing[0])


def resolve_player_names(
    names: pd.DataFrame,
    players: pd.DataFrame,
    appearances: pd.DataFrame,
    aliases: dict[str, int] | None = None,
) -> pd.DataFrame:
    """Resolve source player names to NBA ``player_id``.

    Tiers, strict to loose: ``exact`` (full-name key, or a box-score name when ``appearances``
    has a ``player_name`` column), ``alias``, ``suffix`` (Jr/Sr/II-V dropped on both sides),
    ``reordered`` (token rotations / one token multiset containing the other), then
    ``nickname`` (first-name prefix or initial + last name, only if unique among players who
    appear for one of ``team_hints`` within +/- 30 days).

    Within a tier, several candidates are narrowed with appearances: the candidate with an
    appearance for a hinted team nearest the game date (same date first, at most 30 days away)
    wins; a tie is ``ambiguous``. A tier whose candidates never appear for the hinted teams within
    30 days is remembered as a fallback and the looser tiers are tried for a verified candidate;
    if none is found, a unique fallback is accepted with method suffix ``_team_unverified``
    (``_unverified`` when the row has no team hints, in which case appearances for any team are
    used). Without appearances data nothing is verified and the first tier with candidates
    decides.

    Every input row is returned: unmatched rows carry an ``unmatched_reason``: ``no_candidate``,
    ``empty_name``, ``ambiguous: ids [..]``, ``nickname_ambiguous: ids [..]``,
    ``nickname_no_team_match: ids [..]`` or ``nickname_unverifiable: ids [..]``.

    Args:
        names: Columns ``key`` (any hashable row key), ``player_name``, ``game_date``
            (``datetime.date``, string or Timestamp) and ``team_hints`` (list of team
            abbreviations the player may belong to, or ``None``). Non-standard abbreviations
            (``PHO``, ``NOR``, ``GS``, ``UTH``...) are normalised.
        players: The nba_api reference table with ``player_id, full_name, first_name, last_name``.
        appearances: ``player_id, game_date, team_abbr`` (one row per player-game, from box
            scores; may be empty); an optional ``player_name`` column adds box-score names to the
            exact tier.
        aliases: ``{player_lookup(alias): player_id}``; ``None`` loads the packaged table
            (:func:`load_aliases`), ``{}`` disables aliases.

    Returns:
        One row per input row, in input order: ``key``, ``player_id`` (nullable ``Int64``),
        ``match_method`` and ``unmatched_reason`` (strings or ``None``).

    Raises:
        MissingColumnsError: An input frame lacks a required column.
    """
    _require(names, _NAMES_COLUMNS, "names")
    _require(players, _PLAYERS_COLUMNS, "players")
    _require(appearances, _APPEARANCES_COLUMNS, "appearances")
    alias_map = load_aliases() if aliases is None else {player_lookup(k): int(v) for k, v in aliases.items()}

    extra = None
    if "player_name" in appearances.columns and not appearances.empty:
        extra = appearances[["player_id", "player_name"]].drop_duplicates()
    idx = _PlayerIndex.build(players, extra)
    apps = _Appearances(appearances)

    raw = names["player_name"]
    hint_cache: dict[Any, tuple[str, ...] | None] = {}
    hints_col: list[tuple[str, ...] | None] = []
    for value in names["team_hints"].to_numpy():
        raw_key = tuple(value) if isinstance(value, list | tuple | np.ndarray) else value
        try:
            hints_col.append(hint_cache[raw_key])
        except KeyError:
            hint_cache[raw_key] = _hints_key(value)
            hints_col.append(hint_cache[raw_key])
        except TypeError:  # unhashable oddity: normalise without caching
            hints_col.append(_hints_key(value))
    work = pd.DataFrame(
        {
            "name": raw.where(raw.notna(), "").astype(str).astype(object).to_numpy(),
            "day": _to_days(names["game_date"]).fillna(_NO_DAY).to_numpy(dtype="int64"),
            "hints": pd.Series(hints_col, dtype=object).to_numpy(),
        }
    )
    combos = work.drop_duplicates().reset_index(drop=True)

    cache: dict[str, _NameCandidates] = {}
    resolved: list[_Result] = []
    for name, day, hints in zip(combos["name"], combos["day"], combos["hints"], strict=True):
        cands = cache.get(name)
        if cands is None:
            cands = cache[name] = _candidates_for(name, idx, alias_map)
        resolved.append(_resolve_one(cands, int(day), hints, apps))
    combos["_combo"] = np.arange(len(combos))
    row_combo = work.merge(combos, on=["name", "day", "hints"], how="left", sort=False)["_combo"].to_numpy()
    resolved = [resolved[i] for i in row_combo]
    return pd.DataFrame(
        {
            "key": names["key"].to_numpy(),
            "player_id": pd.array([r.player_id for r in resolved], dtype="Int64"),
            "match_method": pd.Series([r.method for r in resolved], dtype="object"),
            "unmatched_reason": pd.Series([r.reason for r in resolved], dtype="object"),
        }
    )

