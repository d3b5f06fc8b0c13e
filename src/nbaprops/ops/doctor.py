"""``nbaprops doctor``: is this installation able to run the daily job? Every check says why not.

Checks (each a :class:`~nbaprops.ops.checks.Check`): the package imports whole; settings validate (one
message listing every invalid value); the warehouse opens and its schema version matches the
package; the served model set is present, matches its SHA-256 manifest, loads and was trained on
the served feature version; each phase's data is fresh; API keys are set (never shown); there is
disk space beside the warehouse.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

from nbaprops._version import __version__
from nbaprops.config import Settings
from nbaprops.errors import NbapropsError
from nbaprops.features.definitions import SERVED_FEATURE_VERSION
from nbaprops.ops.checks import Check

__all__ = ["DISK_FAIL_BYTES", "DISK_WARN_BYTES", "check_disk", "check_imports", "check_keys", "check_models",
           "check_warehouse", "freshness_checks", "run_doctor"]

GIB = 1024 ** 3
DISK_FAIL_BYTES = 1 * GIB
DISK_WARN_BYTES = 5 * GIB


def check_imports() -> Check:
    """Import every module of the package (a module missing from an install fails here, not at 3 am)."""
    # by name, not `import nbaprops`: walking the whole package is the point, not a layering dependency
    package = importlib.import_module("nbaprops")
    bad = []
    n = 0
    for mod in pkgutil.walk_packages(package.__path__, "nbaprops."):
        if mod.name.endswith(".__main__"):
            continue    # an entry point: importing it runs the CLI
        n += 1
        try:
            importlib.import_module(mod.name)
        except (Exception, SystemExit) as exc:
            bad.append(f"{mod.name}: {type(exc).__name__}: {exc}")
    if bad:
        return Check.failure("package", f"nbaprops {__version__}: {len(bad)} module(s) fail to import: "
                                        + "; ".join(bad[:5]))
    return Check.passed("package", f"nbaprops {__version__}: {n} modules import")


def check_warehouse(settings: Settings, tables: Sequence[str] = ()
                    ) -> tuple[list[Check], duckdb.DuckDBPyConnection | None]:
    """Open the warehouse read-only and compare its schema version with the package's.

    Returns:
        The checks and the open (read-only) connection, or None when it cannot be opened.
    """
    from nbaprops.warehouse import SCHEMA_VERSION, connect, schema_version

    db = Path(settings.db)
    if not db.is_file():
        return [Check.failure("warehouse", f"no warehouse at {db}: build it with `nbaprops --db {db} backfill "
                                           "--data DIR` or set NBAPROPS_DB")], None
    try:
        con = connect(db, read_only=True, threads=settings.threads)
    except NbapropsError as exc:
        return [Check.failure("warehouse", str(exc))], None
    size = db.stat().st_size
    checks = [Check.passed("warehouse", f"{db} opens ({size / GIB:.2f} GiB)")]
    have = schema_version(con)
    if have == SCHEMA_VERSION:
        checks.append(Check.passed("schema", f"schema version {have} (package expects {SCHEMA_VERSION})"))
    elif have < SCHEMA_VERSION:
        checks.append(Check.failure("schema", f"warehouse schema {have} is behind the package's {SCHEMA_VERSION}: "
                                              "any writing command (e.g. `nbaprops status`) migrates it"))
    else:
        checks.append(Check.failure("schema", f"warehouse schema {have} is newer than this package "
                                              f"({SCHEMA_VERSION}): upgrade nbaprops"))
    if tables:
        existing = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        missing = [t for t in tables if t not in existing]
        if missing:
            checks.append(Check.failure("tables", f"tables the pipeline writes are missing: {', '.join(missing)}; "
                                                  "any writing command (e.g. `nbaprops status`) creates them"))
        else:
            checks.append(Check.passed("tables", f"all {len(tables)} tables the pipeline's phases write exist"))
    return checks, con


def check_models(settings: Settings) -> Check:
    """The served model set exists, matches its manifest's SHA-256s, loads, and fits the feature version."""
    from nbaprops.models.registry import load_model_set

    try:
        loaded = load_model_set(settings.model_path, feature_version=SERVED_FEATURE_VERSION)
    except NbapropsError as exc:
        return Check.failure("models", str(exc))
    except Exception as exc:  # a corrupt file a library cannot read
        return Check.failure("models", f"served model set in {settings.model_path} cannot be loaded: "
                                       f"{type(exc).__name__}: {exc}")
    return Check.passed("models", f"{loaded.model_set}: {len(loaded.systems)} systems load, files match their "
                                  f"SHA-256, features {loaded.feature_version}, trained until "
                                  f"{loaded.manifest.get('trained_until')}")


def _max(con: duckdb.DuckDBPyConnection, sql: str, args: list[object]) -> dt.date | None:
    row = con.execute(sql, args).fetchone()
    return row[0] if row and row[0] is not None else None


def freshness_checks(con: duckdb.DuckDBPyConnection, as_of: dt.date, *, tolerance_days: int = 0,
                     feature_version: str = SERVED_FEATURE_VERSION) -> list[Check]:
    """Per phase: the latest date its table holds vs the latest date it should hold, as of a date.

    ========== ============================ =====================================================
    check      table                        should reach
    ========== ============================ =====================================================
    boxscores  player_boxscores             the latest final game <= as_of
    analytics  player_game_summary          the latest box-score date
    features   feature_store                the latest game date <= as_of
    lines      prop_line_snapshots (points) the latest game date (a warning: lines can be absent)
    predict    player_prop_predictions      the latest feature date (a warning before the first)
    grade      prediction_grades            the latest predicted date before as_of with box scores
    ========== ============================ =====================================================

    Args:
        con: warehouse connection.
        as_of: the date the warehouse should be current for (today, or the date a run ran for).
        tolerance_days: allowed lag in days before a breach.
        feature_version: the served feature version.

    Returns:
        One check per phase, named ``freshness:<phase>``.
    """
    tol = dt.timedelta(days=tolerance_days)
    last_game = _max(con, "SELECT max(game_date) FROM games WHERE game_date <= ?", [as_of])
    last_final = _max(con, "SELECT max(game_date) FROM games WHERE game_date <= ? AND status = 'final'", [as_of])
    box = _max(con, "SELECT max(game_date) FROM player_boxscores WHERE game_date <= ?", [as_of])
    pgs = _max(con, "SELECT max(game_date) FROM player_game_summary WHERE game_date <= ?", [as_of])
    feats = _max(con, "SELECT max(game_date) FROM feature_store WHERE game_date <= ? AND feature_version = ?",
                 [as_of, feature_version])
    lines = _max(con, """SELECT max(game_date) FROM prop_line_snapshots WHERE game_date <= ?
                         AND market = 'player_points'""", [as_of])
    preds = _max(con, "SELECT max(game_date) FROM player_prop_predictions WHERE game_date <= ?", [as_of])
    gradable = _max(con, """SELECT max(p.game_date) FROM (SELECT DISTINCT game_date FROM player_prop_predictions
                            WHERE game_date < ?) p
                            WHERE EXISTS (SELECT 1 FROM player_boxscores b WHERE b.game_date = p.game_date)""",
                    [as_of])
    graded = _max(con, "SELECT max(game_date) FROM prediction_grades WHERE game_date <= ?", [as_of])

    def compare(name: str, table: str, have: dt.date | None, want: dt.date | None, what: str, *,
                soft: bool = False) -> Check:
        if want is None:
            return Check.passed(f"freshness:{name}", f"{table}: nothing expected yet ({what}: none)")
        if have is not None and have + tol >= want:
            return Check.passed(f"freshness:{name}", f"{table} reaches {have} ({what}: {want})")
        behind = f"{(want - have).days} day(s) behind" if have is not None else "empty"
        detail = f"{table} latest {have or 'none'}, {what} {want} ({behind})"
        return Check.warning(f"freshness:{name}", detail) if soft else Check.failure(f"freshness:{name}", detail)

    return [
        compare("boxscores", "player_boxscores", box, last_final, "latest final game"),
        compare("analytics", "player_game_summary", pgs, box, "latest box score"),
        compare("features", "feature_store", feats, last_game, "latest game date"),
        compare("lines", "prop_line_snapshots", lines, last_game, "latest game date", soft=True),
        compare("predict", "player_prop_predictions", preds, feats if preds is not None else None,
                "latest feature date") if preds is not None else
        Check.warning("freshness:predict", "player_prop_predictions: no predictions yet"),
        compare("grade", "prediction_grades", graded, gradable, "latest predicted date with box scores"),
    ]


def check_keys(settings: Settings) -> list[Check]:
    """Whether each secret is set; values are never shown."""
    def state(v: object) -> bool:
        return v is not None and bool(getattr(v, "get_secret_value", lambda: str(v))().strip())

    out = []
    odds = state(settings.odds_api_key)
    out.append(Check.passed("key:odds_api_key", "set") if odds else
               Check.warning("key:odds_api_key", "missing: live lines (`nbaprops run` without --data) need "
                                                 "NBAPROPS_ODDS_API_KEY"))
    slack = state(settings.slack_webhook_url)
    out.append(Check.passed("key:slack_webhook_url", "set") if slack else
               Check.warning("key:slack_webhook_url", "missing: alerts go to the log only "
                                                      "(set NBAPROPS_SLACK_WEBHOOK_URL)"))
    api = state(settings.api_key)
    out.append(Check.passed("key:api_key", "set") if api else
               Check.warning("key:api_key", "missing: the API refuses state-changing calls (set NBAPROPS_API_KEY)"))
    return out


def check_disk(settings: Settings) -> Check:
    """Free space on the warehouse's file system: fail under 1 GiB or under the warehouse's own size."""
    db = Path(settings.db)
    where = db.parent if db.parent.exists() else Path.cwd()
    usage = shutil.disk_usage(where)
    size = db.stat().st_size if db.is_file() else 0
    detail = f"{usage.free / GIB:.1f} GiB free of {usage.total / GIB:.1f} GiB at {where}"
    if usage.free < max(DISK_FAIL_BYTES, size):
        return Check.failure("disk", f"{detail}: below {max(DISK_FAIL_BYTES, size) / GIB:.1f} GiB "
                                     "(a backfill rewrites the warehouse); free space")
    if usage.free < DISK_WARN_BYTES:
        return Check.warning("disk", f"{detail}: below {DISK_WARN_BYTES / GIB:.0f} GiB")
    return Check.passed("disk", detail)


def run_doctor(load_settings: Callable[[], Settings], *, today: dt.date | None = None,
               imports: bool = True, tables: Sequence[str] = ()) -> list[Check]:
    """Every doctor check, in order; later checks are skipped (and say so) when settings are invalid.

    Args:
        load_settings: builds the settings (raising SettingsError with every invalid value).
        today: the date freshness is judged against (default: today).
        imports: also import every module of the package.
        tables: tables that must exist (the phase registry's; see ``Project.health``).

    Returns:
        The checks.
    """
    checks: list[Check] = [check_imports()] if imports else []
    try:
        settings = load_settings()
    except NbapropsError as exc:
        checks.append(Check.failure("settings", str(exc)))
        checks.append(Check.failure("warehouse", "not checked: fix the settings first"))
        return checks
    checks.append(Check.passed("settings", f"valid (db {settings.db}, models {settings.model_path})"))
    wh, con = check_warehouse(settings, tables)
    checks += wh
    checks.append(check_models(settings))
    if con is not None:
        try:
            checks += freshness_checks(con, today or dt.date.today(), tolerance_days=1,
                                       feature_version=SERVED_FEATURE_VERSION)
        except duckdb.Error as exc:
            checks.append(Check.failure("freshness", f"cannot query the warehouse: {exc}"))
        finally:
            con.close()
    checks += check_keys(settings)
    checks.append(check_disk(settings))
    return checks
