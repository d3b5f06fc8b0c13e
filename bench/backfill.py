"""Benchmark: full backfill of ../shared/data (wall time and peak memory).

Usage: python bench/backfill.py [--data ../shared/data]
Prints: backfill wall_s=... peak_rss_mb=... player_games=... feature_rows=... rows_per_s=...
Goal (issue 2): <= 60 s and <= 4 GB on 2 cores.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "nbaprops", "--db", str(db), "backfill", "--data", str(args.data),
                        "--json"], check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        con = duckdb.connect(str(db), read_only=True)
        pg = con.execute("SELECT count(*) FROM player_game_summary").fetchone()[0]  # type: ignore[index]
        fs = con.execute("SELECT count(*) FROM feature_store").fetchone()[0]  # type: ignore[index]
        con.close()
    print(f"backfill wall_s={wall:.1f} peak_rss_mb={peak_mb:.0f} player_games={pg} feature_rows={fs} "
          f"rows_per_s={(pg + fs) / wall:,.0f} goal_s=60 goal_mb=4096")


if __name__ == "__main__":
    main()
