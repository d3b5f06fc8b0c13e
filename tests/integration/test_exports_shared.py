"""`nbaprops export --date 2024-04-10` on the backfill of ../shared/data: every document is written,
validates against its schema in docs/exports/, and holds the warehouse's rows.

The session warehouse has no predictions (those are made in the browser module, which checks the
predictions and best bets of a predicted date): here games, players and streaks carry the real rows
and predictions / best bets are valid empty documents.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from nbaprops.queries.exports import DOCUMENTS

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[2] / "docs" / "exports"
D = dt.date(2024, 4, 10)


def test_export_of_a_shared_date(warehouse: Path, run_nbaprops: Callable[[list[str]], Any],
                                 db_connect: Callable[[Path], duckdb.DuckDBPyConnection], tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    out = tmp_path / "exports"
    result = run_nbaprops(["--db", str(warehouse), "export", "--date", str(D), "--out", str(out), "--json"])
    rows = json.loads(result.stdout)["rows"]
    docs = {}
    for name in DOCUMENTS:
        doc = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
        jsonschema.validate(doc, json.loads((DOCS / f"{name}.schema.json").read_text(encoding="utf-8")))
        assert doc["row_count"] == len(doc["rows"]) == rows[name] and doc["game_date"] == str(D)
        docs[name] = doc
    con = db_connect(warehouse)
    try:
        games = con.execute("SELECT game_id FROM games WHERE game_date = ? ORDER BY game_id", [D]).fetchall()
        expected = con.execute("""SELECT count(*) FROM upcoming_player_game_context
                                  WHERE game_date = ? AND is_expected""", [D]).fetchone()
        lines = dict(con.execute("""SELECT player_id, CAST(current_points_line AS DOUBLE)
                                    FROM upcoming_player_game_context WHERE game_date = ? AND is_expected""",
                                 [D]).fetchall())
    finally:
        con.close()
    assert sorted(g["game_id"] for g in docs["games"]["rows"]) == [g[0] for g in games] and len(games) == 8
    assert expected is not None and len(docs["players"]["rows"]) == expected[0] > 0
    assert all(p["points_line"] == lines[p["player_id"]] for p in docs["players"]["rows"])
    assert docs["predictions"]["rows"] == [] and docs["best_bets"]["rows"] == []   # nothing predicted here
    streaks = docs["streaks"]["rows"]
    assert streaks and all(s["games"] >= docs["streaks"]["min_streak"] == 3 for s in streaks)
    # re-running replaces the files: same documents, no temp file left behind
    run_nbaprops(["--db", str(warehouse), "export", "--date", str(D), "--out", str(out)])
    again = json.loads((out / "streaks.json").read_text(encoding="utf-8"))
    assert again["rows"] == streaks
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
