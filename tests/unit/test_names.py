"""Unit tests for nbaprops.ingest.names (small hand-made frames, no shared data)."""

from __future__ import annotations

import csv
import datetime as dt
from importlib import resources

import pandas as pd
import pytest

from nbaprops.errors import MissingColumnsError
from nbaprops.ingest.names import (
    load_aliases,
    lookup_variants,
    name_tokens,
    normalize_team_abbr,
    player_lookup,
    resolve_player_names,
    strip_suffix,
)

DAY = dt.date(2024, 3, 10)

PLAYERS = pd.DataFrame(
    [
        (1629029, "Luka Dončić", "Luka", "Dončić"),
        (1628971, "Bruce Brown", "Bruce", "Brown"),
        (56, "Gary Payton", "Gary", "Payton"),
        (1627780, "Gary Payton II", "Gary", "Payton II"),
        (203484, "Kentavious Caldwell-Pope", "Kentavious", "Caldwell-Pope"),
        (1585, "Brandon Williams", "Brandon", "Williams"),
        (1630314, "Brandon Williams", "Brandon", "Williams"),
        (1629651, "Nic Claxton", "Nic", "Claxton"),
        (1628389, "Bam Adebayo", "Bam", "Adebayo"),
        (1631114, "Jalen Williams", "Jalen", "Williams"),
        (1631119, "Jaylin Williams", "Jaylin", "Williams"),
        (203507, "Giannis Antetokounmpo", "Giannis", "Antetokounmpo"),
        (203648, "Thanasis Antetokounmpo", "Thanasis", "Antetokounmpo"),
        (1629057, "Robert Williams III", "Robert", "Williams III"),
    ],
    columns=["player_id", "full_name", "first_name", "last_name"],
)

NO_APPS = pd.DataFrame({"player_id": pd.Series(dtype="int64"), "game_date": pd.Series(dtype="object"),
                        "team_abbr": pd.Series(dtype="object")})


def apps(*rows: tuple[int, dt.date | str, str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["player_id", "game_date", "team_abbr"])


def names(*rows: tuple[str | None, list[str] | None] | tuple[str | None, list[str] | None, object]) -> pd.DataFrame:
    out = []
    for i, row in enumerate(rows):
        name, hints = row[0], row[1]
        date = row[2] if len(row) > 2 else DAY
        out.append({"key": i, "player_name": name, "game_date": date, "team_hints": hints})
    return pd.DataFrame(out, columns=["key", "player_name", "game_date", "team_hints"])


def resolve(frame: pd.DataFrame, appearances: pd.DataFrame = NO_APPS,
            aliases: dict[str, int] | None = None) -> pd.DataFrame:
    return resolve_player_names(frame, PLAYERS, appearances, {} if aliases is None else aliases)


def one(frame: pd.DataFrame, appearances: pd.DataFrame = NO_APPS,
        aliases: dict[str, int] | None = None) -> tuple[object, object, object]:
    row = resolve(frame, appearances, aliases).iloc[0]
    pid = None if pd.isna(row["player_id"]) else int(row["player_id"])
    return pid, row["match_method"], row["unmatched_reason"]


# ---------------------------------------------------------------------------- normalisation
@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Luka Dončić", "lukadoncic"),
        ("Nikola Jokić", "nikolajokic"),
        ("Dāvis Bertāns", "davisbertans"),
        ("Đorđe Ødegaard", "dordeodegaard"),
        ("P.J. Washington Jr.", "pjwashingtonjr"),
        ("De'Aaron Fox", "deaaronfox"),
        ("  Karl-Anthony   Towns ", "karlanthonytowns"),
        ("", ""),
    ],
)
def test_player_lookup_folds_accents_and_punctuation(raw: str, key: str) -> None:
    assert player_lookup(raw) == key


def test_name_tokens_and_strip_suffix() -> None:
    assert name_tokens("K. Caldwell-Pope") == ["k", "caldwell", "pope"]
    assert strip_suffix(name_tokens("Gary Trent Jr.")) == ["gary", "trent"]
    assert strip_suffix(name_tokens("Lonnie Walker IV")) == ["lonnie", "walker"]
    assert strip_suffix(["john", "jr"]) == ["john", "jr"]  # never below two tokens
    assert strip_suffix(["williams", "iii"], 1) == ["williams"]


def test_lookup_variants_priority_order() -> None:
    v = lookup_variants("Bruce Brown Jr")
    assert v[:2] == ["brucebrownjr", "brucebrown"]
    assert "kentaviouscaldwellpope" in lookup_variants("Caldwell Pope Kentavious")
    assert "victorwembanyama" in lookup_variants("Wembanyama Victor")
    assert "edriceadebayo" in lookup_variants("Edrice Femi Adebayo")
    assert "alfredhorford" in lookup_variants("Alfred Joel Horford Reynoso")
    assert lookup_variants("Luka Dončić")[0] == "lukadoncic"
    assert len(v) == len(set(v))
    assert lookup_variants("  ") == []


def test_normalize_team_abbr() -> None:
    for raw, std in [("NOR", "NOP"), ("PHO", "PHX"), ("GS", "GSW"), ("SA", "SAS"), ("NY", "NYK"),
                     ("UTH", "UTA"), ("BRK", "BKN"), ("CHO", "CHA"), ("WSH", "WAS"), (" bos ", "BOS")]:
        assert normalize_team_abbr(raw) == std


# ---------------------------------------------------------------------------- aliases
def test_packaged_alias_table_loads_and_is_documented() -> None:
    aliases = load_aliases()
    assert aliases[player_lookup("Edrice Femi Adebayo")] == 1628389
    assert aliases[player_lookup("Alfred Joel Horford Reynoso")] == 201143
    assert aliases[player_lookup("Moe Wagner")] == 1629021
    text = (resources.files("nbaprops.ingest") / "data" / "player_aliases.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert rows and list(rows[0]) == ["alias", "player_id", "note"]
    assert all(r["note"].strip() and r["player_id"].isdigit() for r in rows)
    assert len({player_lookup(r["alias"]) for r in rows}) == len(rows)


def test_alias_tier() -> None:
    frame = names(("Edrice Femi Adebayo", ["MIA"]))
    assert one(frame, aliases={"Edrice Femi Adebayo": 1628389}) == (1628389, "alias", None)
    # the packaged table is used when aliases is None
    out = resolve_player_names(frame, PLAYERS, NO_APPS)
    assert int(out.loc[0, "player_id"]) == 1628389
    # without aliases the legal name has no candidate (Bam is not a token of it)
    assert one(frame) == (None, None, "no_candidate")


# ---------------------------------------------------------------------------- tiers
def test_exact_with_accents() -> None:
    assert one(names(("Luka Doncic", ["DAL"]))) == (1629029, "exact", None)
    assert one(names(("LUKA DONČIĆ", None))) == (1629029, "exact", None)


def test_suffix_both_directions() -> None:
    assert one(names(("Bruce Brown Jr", ["TOR"]))) == (1628971, "suffix", None)
    assert one(names(("Robert Williams", ["POR"]))) == (1629057, "suffix", None)


def test_suffix_verified_beats_unverified_exact_same_name() -> None:
    frame = names(("Gary Payton", ["GSW", "LAL"]))
    # without appearances the exact (retired) Gary Payton is all we can say
    assert one(frame) == (56, "exact", None)
    # with appearances, Gary Payton II playing for GSW that night wins via the suffix tier
    assert one(frame, apps((1627780, DAY, "GSW"))) == (1627780, "suffix", None)


def test_reordered_tokens() -> None:
    assert one(names(("Caldwell Pope Kentavious", ["DEN"]))) == (203484, "reordered", None)
    assert one(names(("Kentavious Caldwell Pope", ["DEN"]))) == (203484, "exact", None)
    # a middle name inserted by the book: player tokens are contained in the book tokens
    assert one(names(("Luka Mateo Dončić", ["DAL"]))) == (1629029, "reordered", None)


def test_nickname_and_initial_need_team_appearance() -> None:
    a = apps((1629651, "2024-03-08", "BKN"), (203507, "2024-03-09", "MIL"),
             (203648, "2024-02-01", "MIL"))
    assert one(names(("Nicolas Claxton", ["BKN", "ATL"])), a) == (1629651, "nickname", None)
    # Thanasis last played for MIL 38 days earlier, so "G." is unique within the window anyway
    assert one(names(("G. Antetokounmpo", ["MIL"])), a) == (203507, "nickname", None)
    # no appearances: the loose tier cannot be verified
    pid, method, reason = one(names(("Nicolas Claxton", ["BKN"])))
    assert pid is None and method is None and str(reason).startswith("nickname_unverifiable")
    # wrong team: candidate exists but never played for the hinted teams
    pid, _, reason = one(names(("Nicolas Claxton", ["LAL"])), a)
    assert pid is None and reason == "nickname_no_team_match: ids [1629651]"


def test_nickname_ambiguous_within_team() -> None:
    a = apps((1631114, DAY, "OKC"), (1631119, DAY, "OKC"))
    pid, _, reason = one(names(("J. Williams", ["OKC"])), a)
    assert pid is None and reason == "nickname_ambiguous: ids [1631114, 1631119]"


# ---------------------------------------------------------------------------- same-name players
def test_same_name_players_disambiguated_by_same_date_team() -> None:
    frame = names(("Brandon Williams", ["POR", "SAC"]))
    a = apps((1630314, DAY, "POR"), (1585, DAY, "NYK"))
    assert one(frame, a) == (1630314, "exact", None)


def test_same_name_players_nearest_within_window() -> None:
    frame = names(("Brandon Williams", ["DAL"]))
    near = apps((1630314, DAY - dt.timedelta(days=12), "DAL"), (1585, DAY - dt.timedelta(days=25), "DAL"))
    assert one(frame, near) == (1630314, "exact", None)
    far = apps((1630314, DAY + dt.timedelta(days=45), "DAL"))
    pid, method, reason = one(frame, far)
    assert pid is None and method is None and reason == "ambiguous: ids [1585, 1630314]"


def test_same_name_players_without_data_are_ambiguous() -> None:
    pid, _, reason = one(names(("Brandon Williams", None)))
    assert pid is None and reason == "ambiguous: ids [1585, 1630314]"


def test_same_name_without_team_hints_uses_any_team_appearance() -> None:
    a = apps((1630314, DAY, "DAL"))
    assert one(names(("Brandon Williams", None)), a) == (1630314, "exact", None)


def test_unique_candidate_not_on_hinted_team_is_team_unverified() -> None:
    a = apps((1629029, DAY, "DAL"))
    assert one(names(("Luka Doncic", ["BOS", "NYK"])), a) == (1629029, "exact_team_unverified", None)
    assert one(names(("Luka Doncic", ["BOS", "NYK"], dt.date(2025, 1, 1))), a) == (
        1629029, "exact_team_unverified", None)


def test_non_standard_team_abbreviations_are_normalised() -> None:
    a = apps((1630314, DAY, "PHX"), (1585, DAY, "NOP"))
    assert one(names(("Brandon Williams", ["PHO"])), a)[0] == 1630314
    assert one(names(("Brandon Williams", ["NOR"])), a)[0] == 1585


# ---------------------------------------------------------------------------- contract
def test_unmatched_rows_are_kept_with_reason() -> None:
    out = resolve(names(("Nobody Atall", ["BOS"]), (None, ["BOS"]), ("", None), ("Luka Doncic", ["DAL"])))
    assert list(out["key"]) == [0, 1, 2, 3]
    assert list(out["unmatched_reason"][:3]) == ["no_candidate", "empty_name", "empty_name"]
    assert out["player_id"].isna().tolist() == [True, True, True, False]
    assert out["match_method"][:3].isna().all()
    assert out["unmatched_reason"][3] is None


def test_output_contract_order_dtype_and_keys() -> None:
    frame = pd.DataFrame(
        {
            "key": [("dk", 7), ("fd", 3), ("dk", 7)],
            "player_name": ["Bruce Brown Jr", "Luka Dončić", "Bruce Brown Jr"],
            "game_date": [pd.Timestamp("2024-03-10"), "2024-03-10", dt.date(2024, 3, 10)],
            "team_hints": [["TOR", "ORL"], ("DAL",), None],
        },
        index=[10, 5, 99],
    )
    out = resolve(frame)
    assert list(out.columns) == ["key", "player_id", "match_method", "unmatched_reason"]
    assert str(out["player_id"].dtype) == "Int64"
    assert list(out["key"]) == [("dk", 7), ("fd", 3), ("dk", 7)]
    assert out["player_id"].tolist() == [1628971, 1629029, 1628971]


def test_many_rows_resolve_per_distinct_combo() -> None:
    base = names(("Luka Doncic", ["DAL"]), ("Bruce Brown Jr", ["TOR"]), ("Nobody", None))
    big = pd.concat([base] * 2000, ignore_index=True)
    big["key"] = range(len(big))
    out = resolve(big)
    assert len(out) == 6000
    assert out["player_id"].notna().sum() == 4000
    assert (out["key"].to_numpy() == big["key"].to_numpy()).all()


def test_box_score_names_join_the_exact_tier() -> None:
    a = apps((1629651, DAY, "BKN")).assign(player_name="Nicolas Claxton")
    assert one(names(("Nicolas Claxton", ["BKN"])), a) == (1629651, "exact", None)


def test_missing_columns_raise() -> None:
    with pytest.raises(MissingColumnsError):
        resolve_player_names(pd.DataFrame({"key": [1], "player_name": ["x"]}), PLAYERS, NO_APPS, {})
    with pytest.raises(MissingColumnsError):
        resolve_player_names(names(("x", None)), PLAYERS.drop(columns="first_name"), NO_APPS, {})
