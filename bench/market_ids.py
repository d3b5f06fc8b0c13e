"""Evidence: which box-score stat each BettingPros ``market_id`` quotes (docs/markets.md).

Usage: python bench/market_ids.py [--data ../shared/data]

The ``prop_type`` label of the BettingPros files is wrong, so each ``market_id`` is matched to a stat
by the numbers: every line of the id is joined to the player's box score of that date (date from the
file name, team, and the player's name normalised: lower case, no punctuation, no Jr/Sr/II/III),
and for every candidate stat (each market of ``nbaprops.markets.MARKETS``) the table gives the mean
|actual - line|, the mean actual - line, the correlation of line and actual and the share over.
A line of the right stat is centred on the outcome, so the candidates of an id are the stats with
|mean(actual - line)| < 1, and the id's stat is the candidate whose actual value correlates best
with the line (the mean |actual - line| alone cannot tell blocks from steals: both are mostly 0 or
1). The mapping is called clear when the runner-up candidate's correlation is at least 0.1 lower.
Prints one block per id and a summary line per id (the stat, the runner-up, the registry's mapping,
and whether the two agree).

Reads the files directly (DuckDB), independent of the loader, so the mapping the loader uses is
checked, not assumed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from nbaprops.markets import MARKETS, bettingpros_market

_NORM = ("regexp_replace(regexp_replace(lower(strip_accents({c})), '[^a-z ]', '', 'g'), "
         "' (jr|sr|ii|iii|iv)$', '')")


def evidence(data: Path) -> list[tuple[int, str, int, int, list[tuple[str, float, float, float, float]]]]:
    """Per market_id: (id, prop_type labels, lines, matched lines, [(market, mae, bias, corr, over)])."""
    con = duckdb.connect()
    bp = str(data / "lines" / "bettingpros" / "*" / "props_*.csv")
    box = str(data / "boxscores" / "player_boxscores_2020-21_to_2025-26.parquet")
    con.execute(f"""CREATE TEMP TABLE bp AS
        SELECT try_cast(market_id AS INTEGER) AS market_id, prop_type, upper(trim(team)) AS team,
               {_NORM.format(c='player')} AS name, try_cast(line AS DOUBLE) AS line,
               try_cast(regexp_extract(filename, '(\\d{{4}}-\\d{{2}}-\\d{{2}})\\.csv$', 1) AS DATE) AS game_date
        FROM read_csv('{bp}', all_varchar = true, union_by_name = true, filename = true)
        WHERE market_id IS NOT NULL AND try_cast(line AS DOUBLE) > 0""")
    stats = ", ".join(f"{m.sql_expression()} AS {m.name}" for m in MARKETS)
    con.execute(f"""CREATE TEMP TABLE box AS
        SELECT CAST(game_date AS DATE) AS game_date, upper(team) AS team,
               {_NORM.format(c='player_name')} AS name, {stats}
        FROM (SELECT *, PTS AS pts, REB AS reb, AST AS ast, FG3M AS fg3m, STL AS stl, BLK AS blk, TOV AS tov
              FROM read_parquet('{box}'))""")
    out = []
    for market_id, labels, n in con.execute("""SELECT market_id, string_agg(DISTINCT prop_type, ','), count(*)
                                               FROM bp GROUP BY 1 ORDER BY 1""").fetchall():
        per = []
        matched = 0
        for m in MARKETS:
            row = con.execute(f"""SELECT count(*), avg(abs(b.{m.name} - l.line)), avg(b.{m.name} - l.line),
                                         corr(b.{m.name}, l.line), avg(CASE WHEN b.{m.name} > l.line THEN 1.0
                                                                            ELSE 0 END)
                                  FROM bp l JOIN box b USING (game_date, team, name)
                                  WHERE l.market_id = ?""", [market_id]).fetchone()
            assert row is not None
            matched = int(row[0])
            per.append((m.name, float(row[1] or 0), float(row[2] or 0), float(row[3] or 0), float(row[4] or 0)))
        out.append((int(market_id), str(labels), int(n), matched, per))
    return out


def verdict(market_id: int, per: list[tuple[str, float, float, float, float]]) -> str:
    """One summary line: the id's stat by the rule of the module docstring, and the registry's."""
    centred = sorted((r for r in per if abs(r[2]) < 1.0), key=lambda r: -r[3])
    reg = bettingpros_market(market_id)
    registry = reg.name if reg else "UNMAPPED (quarantined)"
    if not centred:
        return f"no stat is centred on the lines; registry={registry}"
    best = centred[0]
    clear = len(centred) == 1 or best[3] - centred[1][3] >= 0.1
    runner = f"runner-up={centred[1][0]} (corr {centred[1][3]:.3f})" if len(centred) > 1 else "no runner-up"
    agree = "agrees" if reg is not None and reg.name == best[0] else "DIFFERS"
    return (f"stat={best[0]:<9} (corr {best[3]:.3f}, mean(act-line) {best[2]:+.2f}, over {best[4]:.0%}) "
            f"{runner:<30} {'clear' if clear else 'AMBIGUOUS'}  registry={registry} ({agree})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = ap.parse_args()
    rows = evidence(args.data)
    summary = []
    for market_id, labels, n, matched, per in rows:
        print(f"market_id {market_id}: {n} lines, {matched} joined to a box score "
              f"({matched / n:.1%}); prop_type labels seen: {labels}")
        print(f"  {'stat':<10} {'mean|act-line|':>15} {'mean(act-line)':>15} {'corr':>6} {'over':>6}")
        for name, mae, bias, corr, over in sorted(per, key=lambda r: r[1]):
            print(f"  {name:<10} {mae:>15.2f} {bias:>15.2f} {corr:>6.3f} {over:>6.1%}")
        summary.append(f"{market_id:>4}  {verdict(market_id, per)}")
    print("\nsummary (id: the stat, centred candidates by correlation, the registry's mapping):")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
