"""The ingest contract (docs/data-contract.md): what a bulk file is, how its rows are checked, where a
bad row goes, and what a load replaces.

- A file is identified by its content (:class:`Source`: resolved path + sha256), so the same content
  under two spellings of its path, or in a copied folder, is one file; ``raw_files`` has one row per
  content loaded and an unchanged file is not read again.
- Every row is checked before anything is written: a row that cannot be parsed (wrong number of
  fields, bytes that are not UTF-8), a missing or malformed value, a value outside its plausible
  range (:data:`PLAYER_GAME_RANGES` ...), a date outside its season or a 'final' game in the future,
  an unknown team or player id, or a second row with the same key goes to ``quarantine_rows`` with
  its file, row (the CSV line number), field and reason. The other rows load.
- A file-level problem (no header, a column the loader reads is missing) rejects that file only,
  with an :class:`~nbaprops.errors.InputError` naming file and field.
- A load replaces exactly the keys its accepted rows bring, and only the columns its kind provides;
  it never deletes a row it did not bring. A file whose rows are taken over by another file's load
  is no longer "loaded" (its ``raw_files`` row is dropped), so the next load reads it again.
- Quarantine is idempotent: loading a file replaces the quarantine rows of its content and path.

Loaders stage their files into a temp table (``_file``, ``_sha``, ``_order``, ``file_row`` and the
columns they read), call :func:`split` with their :class:`Rule` list, build the typed rows to write,
and write everything of one group of files in one transaction with :func:`replace_quarantine`,
:func:`release_taken_over` and :func:`record_files`.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from nbaprops.errors import InputError, MissingColumnsError, UnreadableFileError
from nbaprops.ingest.sources.files import file_sha256

__all__ = ["LINE_RANGES", "PLAYER_GAME_RANGES", "TEAM_GAME_RANGES", "FileStats", "LoadResult", "Range", "Rule",
           "Source", "blank", "date_rules", "drop_temp", "frees_temp", "file_stats", "integer_id", "known", "number", "present",
           "record_files", "registered", "release_taken_over", "replace_quarantine", "season_rule", "season_year",
           "sources_of", "split", "stage", "today_limit"]


# ----------------------------------------------------------------------------------------- ranges
@dataclass(frozen=True)
class Range:
    """The plausible values of a field: ``lo <= v <= hi`` (and a whole number when ``whole``)."""

    lo: float
    hi: float
    whole: bool = True


#: One player in one game (player box scores and official game logs; upper-case CSV names).
PLAYER_GAME_RANGES: dict[str, Range] = {
    "MIN": Range(0, 70, whole=False), "PTS": Range(0, 100), "FGM": Range(0, 50), "FGA": Range(0, 80),
    "FG3M": Range(0, 30), "FG3A": Range(0, 50), "FTM": Range(0, 40), "FTA": Range(0, 50), "OREB": Range(0, 30),
    "DREB": Range(0, 40), "REB": Range(0, 60), "AST": Range(0, 40), "STL": Range(0, 20), "BLK": Range(0, 20),
    "TOV": Range(0, 20), "PF": Range(0, 6), "PLUS_MINUS": Range(-100, 100),
    "FGA_RIM": Range(0, 80), "FGM_RIM": Range(0, 80), "FGA_PAINT": Range(0, 80), "FGM_PAINT": Range(0, 80),
    "FGA_MID": Range(0, 80), "FGM_MID": Range(0, 80), "FGA_C3": Range(0, 50), "FGM_C3": Range(0, 50),
    "FB_FGA": Range(0, 50), "AVG_SHOT_DIST": Range(0, 94, whole=False),
}
#: One team in one game (team game logs, advanced box scores, linescores; lower-case names, no side suffix).
TEAM_GAME_RANGES: dict[str, Range] = {
    "pts": Range(0, 250), "fgm": Range(0, 100), "fga": Range(0, 200), "fg3m": Range(0, 60), "fg3a": Range(0, 120),
    "ftm": Range(0, 80), "fta": Range(0, 100), "oreb": Range(0, 60), "dreb": Range(0, 100), "reb": Range(0, 120),
    "ast": Range(0, 80), "stl": Range(0, 40), "blk": Range(0, 40), "tov": Range(0, 60), "pf": Range(0, 70),
    "possessions": Range(50, 200, whole=False), "minutes": Range(200, 400, whole=False),
    "pts_qtr1": Range(0, 100), "pts_qtr2": Range(0, 100), "pts_qtr3": Range(0, 100), "pts_qtr4": Range(0, 100),
    "pts_ot_total": Range(0, 150),
}
#: A sportsbook line and its American prices (Odds API and BettingPros; the line must also be > 0).
LINE_RANGES: dict[str, Range] = {"line": Range(0, 150, whole=False), "price": Range(100, 50_000)}

#: Seasons: "YYYY-YY"; a game of season YYYY-YY is dated from YYYY-09-01 to (YYYY+1)-10-31 (the 2020
#: bubble finals ended 2020-10-11); a 'final' game is dated no later than today + 1 (US/Eastern dates).
SEASON_FIRST = (9, 1)
SEASON_LAST = (10, 31)


def today_limit() -> dt.date:
    """The last plausible date of a game that is already final: tomorrow."""
    return dt.date.today() + dt.timedelta(days=1)


# ----------------------------------------------------------------------------------------- files
@dataclass(frozen=True)
class Source:
    """One input file: its resolved path (what rows and messages name) and its content hash (its identity)."""

    path: Path
    sha256: str

    @classmethod
    def of(cls, path: Path | str) -> Source:
        p = Path(path).resolve()
        return cls(p, file_sha256(p))

    @property
    def name(self) -> str:
        return str(self.path)


def sources_of(paths: Sequence[Path | Source] | Path | Source) -> list[Source]:
    """Paths (or sources) as sources: resolved and hashed."""
    items = [paths] if isinstance(paths, Path | Source) else list(paths)
    return [p if isinstance(p, Source) else Source.of(p) for p in items]


@dataclass
class FileStats:
    """What one file brought: data rows, rows accepted, rows quarantined, and the loader's own counts."""

    rows: int = 0
    loaded: int = 0
    quarantined: int = 0
    #: the first quarantined row, as "row N, field 'F': reason"
    first_problem: str | None = None
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "loaded": self.loaded, "quarantined": self.quarantined,
                "first_problem": self.first_problem, **self.extra}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileStats:
        base = {"rows", "loaded", "quarantined", "first_problem"}
        return cls(int(d.get("rows", 0)), int(d.get("loaded", 0)), int(d.get("quarantined", 0)),
                   d.get("first_problem"), {k: int(v) for k, v in d.items() if k not in base})


@dataclass
class LoadResult:
    """What a loader did with a group of files of one kind."""

    files: dict[str, FileStats] = field(default_factory=dict)
    #: file -> the file-level problem that kept it from loading (missing column, unreadable ...)
    rejected: dict[str, InputError] = field(default_factory=dict)

    def raise_rejected(self) -> None:
        """Raise the first file-level problem (the single-file loaders' behaviour)."""
        for err in self.rejected.values():
            raise err


# ----------------------------------------------------------------------------------------- staging
_NOT_TEXT = re.compile(r"[\udc80-\udcff\x00]")


def _printable(values: Iterable[str]) -> str:
    """A raw CSV record as text safe to store: undecodable bytes and NUL written as \\xNN."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(list(values))
    return buf.getvalue().encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def _read_csv(src: Source, columns: Sequence[str], optional: Sequence[str],
              out: dict[str, list[Any]], bad: list[tuple[Any, ...]], order: int) -> None:
    """Parse one CSV with Python's csv module (so one bad row cannot change how the others are read)."""
    try:
        data = src.path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(f"cannot read: {exc}", file=src.name) from exc
    text = data.decode("utf-8", errors="surrogateescape")
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise UnreadableFileError("empty file (no header line)", file=src.name) from None
    except csv.Error as exc:
        raise UnreadableFileError(f"cannot read the header line: {exc}", file=src.name) from None
    if any(_NOT_TEXT.search(h) for h in header):
        raise UnreadableFileError("the header line is not UTF-8 text", file=src.name, row=1)
    missing = [c for c in columns if c not in header]
    if missing:
        raise MissingColumnsError(f"missing columns {missing}", file=src.name, field=missing[0])
    wanted = [*columns, *(c for c in optional if c in header)]
    twice = [c for c in wanted if header.count(c) > 1]
    if twice:
        raise InputError("the column appears more than once in the header", file=src.name, row=1, field=twice[0])
    idx = [header.index(c) for c in wanted]
    absent = [c for c in optional if c not in header]
    n_fields = len(header)
    prev = reader.line_num
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise UnreadableFileError(f"not a CSV file from line {prev + 1} on: {exc}", file=src.name,
                                      row=prev + 1) from None
        line, prev = prev + 1, reader.line_num
        if not rec:
            continue            # an empty line
        if len(rec) != n_fields:
            bad.append((src.name, src.sha256, line, "(row)",
                        f"{len(rec)} fields where the header has {n_fields}: the row is not in the file's format",
                        _printable(rec)))
            continue
        broken = next((i for i, v in enumerate(rec) if _NOT_TEXT.search(v)), None)
        if broken is not None:
            what = "a NUL byte" if "\x00" in rec[broken] else "bytes that are not UTF-8 text"
            bad.append((src.name, src.sha256, line, header[broken], f"the value holds {what}", _printable(rec)))
            continue
        out["_file"].append(src.name)
        out["_sha"].append(src.sha256)
        out["_order"].append(order)
        out["file_row"].append(line)
        for c, i in zip(wanted, idx, strict=True):
            out[c].append(rec[i] or None)       # an empty field is NULL (as DuckDB's CSV reader has it)
        for c in absent:
            out[c].append(None)


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, data: Any) -> Iterator[None]:
    """``data`` (an Arrow table or a DataFrame) visible to SQL as ``name`` inside the block.

    DuckDB refuses register()/unregister() while a result of the connection is not fully fetched
    (a caller's ``fetchone()``): a finished query first settles it.
    """
    con.execute("SELECT 1").fetchall()
    con.register(name, data)
    try:
        yield
    finally:
        con.execute("SELECT 1").fetchall()
        con.unregister(name)


def stage(con: duckdb.DuckDBPyConnection, sources: Sequence[Source], table: str, columns: Sequence[str],
          optional: Sequence[str] = ()) -> LoadResult:
    """Read ``sources`` into the temp table ``table`` and their unparseable rows into ``<table>_malformed``.

    ``table`` has ``_file``, ``_sha``, ``_order`` (position of the file in ``sources``), ``file_row``
    (the CSV line number, the header being line 1; the parquet row number from 1) and ``columns``, every
    value as text (a parquet value cast to text, so no value can fail to stage; the rules parse them);
    ``optional`` columns are NULL when a file lacks them. A file that cannot be read or lacks a column
    is left out and listed in the result's ``rejected``.
    """
    result = LoadResult()
    csvs = [s for s in sources if s.path.suffix.lower() != ".parquet"]
    parquets = [s for s in sources if s.path.suffix.lower() == ".parquet"]
    out: dict[str, list[Any]] = {c: [] for c in ("_file", "_sha", "_order", "file_row", *columns, *optional)}
    bad: list[tuple[Any, ...]] = []
    order = {s.name: i for i, s in enumerate(sources)}
    for src in csvs:
        n_before, bad_before = len(out["_file"]), len(bad)
        try:
            _read_csv(src, columns, optional, out, bad, order[src.name])
        except InputError as exc:
            for values in out.values():
                del values[n_before:]
            del bad[bad_before:]
            result.rejected[src.name] = exc
    arrays = {c: pa.array(v, pa.int64() if c in ("_order", "file_row") else pa.string()) for c, v in out.items()}
    with registered(con, "_staged_csv", pa.table(arrays)):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _staged_csv")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {table}_malformed (_file VARCHAR, _sha VARCHAR, file_row BIGINT,
                    field VARCHAR, reason VARCHAR, raw VARCHAR)""")
    if bad:
        con.executemany(f"INSERT INTO {table}_malformed VALUES (?, ?, ?, ?, ?, ?)", bad)
    for src in parquets:
        p = src.name.replace("'", "''")
        try:
            have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{p}')").fetchall()}
        except duckdb.Error as exc:
            result.rejected[src.name] = UnreadableFileError(f"cannot read: {exc}".splitlines()[0], file=src.name)
            continue
        missing = [c for c in columns if c not in have]
        if missing:
            result.rejected[src.name] = MissingColumnsError(f"missing columns {missing}", file=src.name,
                                                            field=missing[0])
            continue
        cols = ", ".join(f'"{c}"' if c in have else f'NULL AS "{c}"' for c in (*columns, *optional))
        con.execute(f"""INSERT INTO {table} BY NAME
            SELECT ? AS _file, ? AS _sha, ? AS _order, file_row_number + 1 AS file_row, {cols}
            FROM read_parquet('{p}', file_row_number = true)""", [src.name, src.sha256, order[src.name]])
    return result


# ----------------------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class Rule:
    """A check of one field: ``cases`` are (SQL condition true for a bad row, SQL text of the reason)."""

    field: str
    cases: tuple[tuple[str, str], ...]


def _q(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def blank(column: str) -> str:
    """SQL: the value is missing (NULL or only spaces)."""
    return f"nullif(trim(CAST({_q(column)} AS VARCHAR)), '') IS NULL"


def _text(column: str) -> str:
    return f"left(CAST({_q(column)} AS VARCHAR), 40)"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def present(column: str) -> Rule:
    """The value is not blank."""
    return Rule(column, ((blank(column), "'missing value'"),))


def number(column: str, rng: Range | None = None, *, required: bool = True, field: str | None = None) -> Rule:
    """A number (blank allowed unless ``required``), in ``rng`` when given."""
    c = _q(column)
    v = f"try_cast(trim(CAST({c} AS VARCHAR)) AS DOUBLE)"
    cases: list[tuple[str, str]] = []
    if required:
        cases.append((blank(column), "'missing value'"))
    cases.append((f"NOT ({blank(column)}) AND {v} IS NULL", f"'not a number: ' || {_text(column)}"))
    if rng is not None:
        lo, hi = (int(x) if float(x).is_integer() else x for x in (rng.lo, rng.hi))
        cases.append((f"{v} IS NOT NULL AND (isnan({v}) OR {v} < {rng.lo} OR {v} > {rng.hi})",
                      f"{_text(column)} || {_lit(f' is outside the plausible range {lo}..{hi} (docs/data-contract.md)')}"))
        if rng.whole:
            cases.append((f"{v} IS NOT NULL AND {v} <> floor({v})", f"{_text(column)} || ' is not a whole number'"))
    return Rule(field or column, tuple(cases))


def integer_id(column: str) -> Rule:
    """A positive whole number (an NBA person, team or game id)."""
    v = f"try_cast(trim(CAST({_q(column)} AS VARCHAR)) AS BIGINT)"
    return Rule(column, ((blank(column), "'missing value'"),
                         (f"{v} IS NULL OR {v} <= 0", f"'not an id (a positive whole number): ' || {_text(column)}")))


def known(column: str, table: str, key: str, what: str, fix: str, value: str | None = None) -> Rule:
    """The value (SQL ``value`` over the staged row ``s``, default the column) is a ``key`` of ``table``."""
    val = value or f"s.{_q(column)}"
    # an uncorrelated IN (a hash of the small table) rather than a correlated EXISTS, which DuckDB runs as
    # a join that materialises the whole staged table
    return Rule(column, ((f"{val} IS NOT NULL AND {val} NOT IN (SELECT {key} FROM {table} WHERE {key} IS NOT NULL)",
                          f"'unknown {what} ' || {_text(column)} || {_lit('; ' + fix)}"),))


def date_rules(date_col: str, date_sql: str, season_year_sql: str | None, *, final: bool,
               today: dt.date | None = None, season_col: str | None = None) -> list[Rule]:
    """``date_sql`` (a DATE or NULL when unparseable) is a date, inside its season, and not in the future
    when the game is final."""
    rules = [Rule(date_col, ((f"{date_sql} IS NULL", f"'not a date: ' || coalesce({_text(date_col)}, '(blank)')"),))]
    if season_year_sql is not None:
        y = season_year_sql
        first = f"make_date({y}, {SEASON_FIRST[0]}, {SEASON_FIRST[1]})"
        last = f"make_date({y} + 1, {SEASON_LAST[0]}, {SEASON_LAST[1]})"
        rules.append(Rule(date_col, ((f"{y} IS NOT NULL AND ({date_sql} < {first} OR {date_sql} > {last})",
                                      f"CAST({date_sql} AS VARCHAR) || ' is outside season ' || "
                                      f"{_text(season_col or date_col)} || ' (' || CAST({first} AS VARCHAR) || '..' || "
                                      f"CAST({last} AS VARCHAR) || ')'"),)))
    if final:
        limit = today or today_limit()
        rules.append(Rule(date_col, ((f"{date_sql} > DATE '{limit}'",
                                      f"'a final game dated ' || CAST({date_sql} AS VARCHAR) || "
                                      f"{_lit(f', after {limit} (tomorrow): the date is wrong')}"),)))
    return rules


def season_rule(column: str) -> Rule:
    """A season label "YYYY-YY" whose two years follow each other."""
    c = _q(column)
    ok = (f"regexp_full_match(trim(CAST({c} AS VARCHAR)), '\\d{{4}}-\\d{{2}}') AND "
          f"(CAST(left(trim(CAST({c} AS VARCHAR)), 4) AS INTEGER) + 1) % 100 = CAST(right(trim(CAST({c} AS VARCHAR)), 2) AS INTEGER)")
    return Rule(column, ((blank(column), "'missing value'"),
                         (f"NOT coalesce({ok}, false)", f"'not a season like 2023-24: ' || {_text(column)}")))


def season_year(column: str) -> str:
    """SQL: the first year of a "YYYY-YY" season column (NULL when it is not one)."""
    c = f"trim(CAST({_q(column)} AS VARCHAR))"
    return f"CASE WHEN regexp_full_match({c}, '\\d{{4}}-\\d{{2}}') THEN CAST(left({c}, 4) AS INTEGER) END"


def split(con: duckdb.DuckDBPyConnection, table: str, rules: Sequence[Rule],
          key: Sequence[str] = (), key_label: str = "") -> None:
    """Write ``<table>_bad`` (malformed rows, the first broken rule of each row, and every row but the
    last of a repeated ``key``: SQL expressions over the staged row) and the view ``<table>_ok`` (the rest).

    ``<table>_bad`` has ``_file, _sha, file_row, field, reason, raw`` (raw: the row as JSON).
    """
    cases = [(r.field, cond, reason) for r in rules for cond, reason in r.cases]
    if cases:
        field_case = "CASE " + " ".join(f"WHEN {c} THEN {_lit(f)}" for f, c, _ in cases) + " END"
        reason_case = "CASE " + " ".join(f"WHEN {c} THEN {r}" for _, c, r in cases) + " END"
    else:
        field_case = reason_case = "NULL"
    data_cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()
                 if r[0] not in ("_file", "_sha", "_order", "file_row")]
    raw = "CAST(to_json({" + ", ".join(f"{_lit(c)}: t.{_q(c)}" for c in data_cols) + "}) AS VARCHAR)"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {table}_bad AS
        WITH checked AS (
            SELECT _file, file_row, field, reason FROM (
                SELECT _file, file_row, {field_case} AS field, {reason_case} AS reason FROM {table} AS s)
            WHERE field IS NOT NULL)
        SELECT t._file, t._sha, t.file_row, c.field, coalesce(c.reason, 'invalid value') AS reason, {raw} AS raw
        FROM checked c JOIN {table} t ON t._file = c._file AND t.file_row = c.file_row
        UNION ALL SELECT * FROM {table}_malformed""")
    if key:
        k = ", ".join(key)
        con.execute(f"""INSERT INTO {table}_bad
            SELECT t._file, t._sha, t.file_row, {_lit(key_label or k)},
                   'another row with the same ' || {_lit(key_label or k)} || ' is loaded instead (' ||
                   d.last_file || ' row ' || CAST(d.last_row AS VARCHAR) || ')', {raw}
            FROM (SELECT _file, file_row, last_file, last_row FROM (
                    SELECT _file, file_row,
                           last_value(_file) OVER w AS last_file, last_value(file_row) OVER w AS last_row,
                           row_number() OVER (PARTITION BY {k} ORDER BY _order DESC, file_row DESC) AS rn
                    FROM {table} s
                    WHERE NOT EXISTS (SELECT 1 FROM {table}_bad b WHERE b._file = s._file AND b.file_row = s.file_row)
                    WINDOW w AS (PARTITION BY {k} ORDER BY _order, file_row
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))
                  WHERE rn > 1) d
            JOIN {table} t ON t._file = d._file AND t.file_row = d.file_row""")
    con.execute(f"""CREATE OR REPLACE TEMP VIEW {table}_ok AS
        SELECT * FROM {table} s
        WHERE NOT EXISTS (SELECT 1 FROM {table}_bad b WHERE b._file = s._file AND b.file_row = s.file_row)""")


def frees_temp(staged: Sequence[str] = (), tables: Sequence[str] = ()
               ) -> Callable[[Callable[[duckdb.DuckDBPyConnection, Sequence[Source]], LoadResult]],
                             Callable[[duckdb.DuckDBPyConnection, Sequence[Source]], LoadResult]]:
    """Decorate a loader so that its temp tables (see :func:`drop_temp`) are freed when it returns or raises."""
    def wrap(fn: Callable[[duckdb.DuckDBPyConnection, Sequence[Source]], LoadResult]
             ) -> Callable[[duckdb.DuckDBPyConnection, Sequence[Source]], LoadResult]:
        @functools.wraps(fn)
        def loader(con: duckdb.DuckDBPyConnection, sources: Sequence[Source]) -> LoadResult:
            try:
                return fn(con, sources)
            finally:
                drop_temp(con, staged, tables)
        return loader
    return wrap


def drop_temp(con: duckdb.DuckDBPyConnection, staged: Sequence[str] = (), tables: Sequence[str] = ()) -> None:
    """Free the temp tables of a load: ``staged`` tables of :func:`stage` (with their ``_bad``,
    ``_malformed`` tables and ``_ok`` view) and other ``tables``."""
    for t in staged:
        con.execute(f"DROP VIEW IF EXISTS {t}_ok")
        tables = (*tables, t, f"{t}_bad", f"{t}_malformed")
    for t in tables:
        con.execute(f"DROP TABLE IF EXISTS {t}")


def file_stats(con: duckdb.DuckDBPyConnection, sources: Sequence[Source], table: str,
               loaded_sql: str | None = None) -> dict[str, FileStats]:
    """Per file of ``sources`` (rejected ones left out): rows, rows accepted (``loaded_sql``: a query of
    ``(_file, n)``, default the rows of ``<table>_ok``), rows quarantined and the first of them."""
    loaded_q = loaded_sql or f"SELECT _file, count(*) AS n FROM {table}_ok GROUP BY 1"
    rows = con.execute(f"""
        WITH n_in AS (SELECT _file, count(*) AS n FROM (SELECT _file FROM {table} UNION ALL
                                                        SELECT _file FROM {table}_malformed) GROUP BY 1),
             n_ok AS ({loaded_q}),
             n_bad AS (SELECT _file, count(*) AS n, arg_min('row ' || CAST(file_row AS VARCHAR) || ', field '''
                                                            || field || ''': ' || reason, file_row) AS first
                       FROM {table}_bad GROUP BY 1)
        SELECT i._file, i.n, coalesce(o.n, 0), coalesce(b.n, 0), b.first
        FROM n_in i LEFT JOIN n_ok o USING (_file) LEFT JOIN n_bad b USING (_file)""").fetchall()
    got = {str(r[0]): FileStats(int(r[1]), int(r[2]), int(r[3]), r[4]) for r in rows}
    return {s.name: got.get(s.name, FileStats()) for s in sources}


# ----------------------------------------------------------------------------------------- writes
def replace_quarantine(tx: duckdb.DuckDBPyConnection, source: str, bad_table: str, sources: Sequence[Source]) -> None:
    """Replace the quarantine rows of these files (by content hash and by path) with ``bad_table``'s."""
    tx.execute("""DELETE FROM quarantine_rows
                  WHERE list_contains(?, file_sha256) OR list_contains(?, file)""",
               [[s.sha256 for s in sources], [s.name for s in sources]])
    tx.execute(f"""INSERT INTO quarantine_rows BY NAME
        SELECT ? AS source, _file AS file, file_row, field, reason, raw, now() AS quarantined_at, _sha AS file_sha256
        FROM {bad_table}""", [source])


def release_taken_over(tx: duckdb.DuckDBPyConnection, table: str, path_column: str, new_table: str,
                       keys: Sequence[str], sources: Sequence[Source]) -> None:
    """Files other than ``sources`` whose rows of ``table`` the new rows (same ``keys``) replace are no
    longer loaded as they are: drop their ``raw_files`` rows so the next load reads them again."""
    on = " AND ".join(f"t.{k} = n.{k}" for k in keys)
    tx.execute(f"""DELETE FROM raw_files WHERE file_path IN (
        SELECT DISTINCT t.{path_column} FROM {table} t JOIN {new_table} n ON {on}
        WHERE t.{path_column} IS NOT NULL AND NOT list_contains(?, t.{path_column}))""", [[s.name for s in sources]])


def record_files(tx: duckdb.DuckDBPyConnection, kind: str, stats: dict[str, FileStats],
                 sources: Sequence[Source]) -> None:
    """Note each file as loaded (by content hash) with its counts; the path's older contents are no longer
    loaded. A file none of whose rows could be used is not noted: it is read (and reported) again."""
    by_name = {s.name: s for s in sources}
    rows = [(by_name[name].sha256, kind, name, st.rows, st.loaded, st.quarantined, json.dumps(st.as_dict()))
            for name, st in stats.items() if st.rows == 0 or st.loaded > 0]
    tx.execute("DELETE FROM raw_files WHERE list_contains(?, file_path) OR list_contains(?, sha256)",
               [list(stats), [by_name[name].sha256 for name in stats]])
    if rows:
        tx.executemany("INSERT OR REPLACE INTO raw_files VALUES (?, ?, ?, ?, ?, ?, ?, now())", rows)
