"""Tables that must keep the same columns as another one after every migration.

``remediate`` moves rows of ``player_prop_predictions`` into ``prediction_archive`` and ``restore``
moves them back, both ``BY NAME``: a column a migration adds to one table and not the other makes
both commands fail (found once: the injury and best-price columns were added to the predictions only).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from nbaprops.warehouse import connect


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute("""SELECT column_name, data_type FROM information_schema.columns
                          WHERE table_name = ? ORDER BY ordinal_position""", [table]).fetchall()
    return {str(name): str(kind) for name, kind in rows}


def test_prediction_archive_has_every_prediction_column(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    try:
        predictions = _columns(con, "player_prop_predictions")
        archive = _columns(con, "prediction_archive")
        assert predictions, "player_prop_predictions has no columns"
        missing = {c: t for c, t in predictions.items() if archive.get(c) != t}
        assert not missing, f"prediction_archive lacks (or types differently) {missing}"
    finally:
        con.close()
