"""The quality scorer: pandas ``quality_scores`` and SQL ``quality_sql`` agree for any feature list,
on synthetic sources that hit every rule (optional missing left out, 1-4 / 5+ required missing caps)."""

from __future__ import annotations

import random

import duckdb
import numpy as np
import pandas as pd
import pytest

from nbaprops.features.definitions import (
    FEATURE_VERSIONS,
    FEATURES_V1,
    FEATURES_V2,
    OPTIONAL_FEATURES,
    SOURCE_WEIGHTS,
)
from nbaprops.features.quality import quality_scores, quality_sql, tier_of

SOURCES = sorted(SOURCE_WEIGHTS)


def _frame(names: list[str], n: int, seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        p_missing = [0.0, 0.05, 0.2, 0.6, 1.0][i % 5]     # from complete rows to all-missing rows
        rows.append({name: "missing" if rng.random() < p_missing else rng.choice(SOURCES) for name in names})
    return pd.DataFrame(rows, columns=names)


def _sql_scores(sources: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    q = quality_sql(names, "v")
    frame = sources.rename(columns={n: f"{n}__src" for n in names}).reset_index(names="row_id")
    con = duckdb.connect()
    con.register("src_rows", frame)
    out = con.execute(f"""SELECT row_id, {q['quality_score']} AS quality_score, {q['quality_tier']} AS quality_tier,
                                 {q['required_missing']} AS required_missing
                          FROM src_rows AS v ORDER BY row_id""").df()
    con.close()
    return out


def _name_lists() -> list[list[str]]:
    rng = random.Random(33)
    lists = [list(FEATURES_V1), list(FEATURES_V2), ["points_avg_last_5"], ["injury_risk"],
             sorted(OPTIONAL_FEATURES), [n for n in FEATURES_V2 if n not in OPTIONAL_FEATURES]]
    return lists + [rng.sample(FEATURES_V2, k) for k in (2, 3, 7, 12, 20, 31)]


@pytest.mark.parametrize("names", _name_lists(), ids=lambda ns: f"{len(ns)}features")
def test_python_and_sql_agree(names: list[str]) -> None:
    sources = _frame(names, 500, seed=len(names))
    py = quality_scores(sources, names)
    sql = _sql_scores(sources, names)
    assert np.abs(py["quality_score"].to_numpy() - sql["quality_score"].to_numpy()).max() < 1e-9
    assert (py["quality_tier"].to_numpy() == sql["quality_tier"].to_numpy()).all()
    assert (py["required_missing"].to_numpy() == sql["required_missing"].to_numpy()).all()
    assert py["quality_score"].between(0, 100).all()


def test_rules() -> None:
    names = list(FEATURE_VERSIONS["v2_33features"])
    required = [n for n in names if n not in OPTIONAL_FEATURES]
    full = pd.DataFrame([dict.fromkeys(names, "phase4")])
    no_line = full.assign(**dict.fromkeys(("vegas_points_line", "vegas_opening_line", "vegas_line_move"), "missing"))
    partial = full.assign(**{required[0]: "partial"})
    one_req = full.assign(**{required[0]: "missing"})
    five_req = full.assign(**dict.fromkeys(required[:5], "missing"))
    got = quality_scores(pd.concat([full, no_line, partial, one_req, five_req], ignore_index=True), names)
    score = got["quality_score"].tolist()
    assert score[0] == 100.0 and got["quality_tier"][0] == "gold"
    assert score[1] == 100.0                                   # a player without a line is not a worse row
    assert score[2] == round((100.0 * (len(names) - 1) + 70.0) / len(names), 2)
    assert score[3] == 69.0 and got["required_missing"][3] == 1   # capped
    assert score[4] == 49.0 and got["required_missing"][4] == 5
    assert [tier_of(s) for s in (95, 85, 70, 50, 49.99)] == ["gold", "silver", "bronze", "poor", "critical"]
