"""The core object: one warehouse and its resources, and every operation the interfaces offer.

``Project`` owns the settings, the DuckDB connection (opened lazily, migrated on open), the model
registry path, the alert sink and the live sources. Every CLI command and every API endpoint is
*parse -> one Project method -> render*; a notebook uses the same methods::

    from nbaprops import Project
    p = Project("nba.duckdb")
    p.predictions("2024-04-10")          # a pandas DataFrame

Reads open a fresh cursor per call on the shared connection (each cursor has its own transaction,
so the API can read while a batch writes); writes run on the connection itself.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from nbaprops.config import Settings, load_settings
from nbaprops.errors import InputError, LockError, NbapropsError
from nbaprops.executors import EXECUTORS
from nbaprops.progress import Progress, no_progress

if TYPE_CHECKING:
    import duckdb

    from nbaprops.ingest.watch import WatchReport
    from nbaprops.models.probe import ModelProbe, ServedModels
    from nbaprops.ops.alerts import AlertSink
    from nbaprops.ops.checks import Check
    from nbaprops.pipeline.backfill import BackfillReport
    from nbaprops.pipeline.runner import RunReport
    from nbaprops.predict.coordinator import BatchResult
    from nbaprops.predict.launcher import BatchLauncher, Launched
    from nbaprops.queries.board import BoardData
    from nbaprops.queries.dashboard import PerformanceData, PipelineData, SlateData
    from nbaprops.queries.player import PlayerPage

__all__ = ["BacktestResult", "DateLike", "ExportResult", "GradeResult", "Project", "Readiness", "to_date"]

log = logging.getLogger(__name__)

DateLike = dt.date | str


def to_date(value: DateLike) -> dt.date:
    """A date from a ``date`` or ``YYYY-MM-DD`` (also ``today``, ``yesterday``, ``tomorrow``).

    Raises:
        InputError: the text is not a date.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    v = str(value).strip().lower()
    today = dt.date.today()
    relative = {"today": today, "yesterday": today - dt.timedelta(days=1), "tomorrow": today + dt.timedelta(days=1)}
    if v in relative:
        return relative[v]
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        raise InputError(f"{value!r} is not a date: use YYYY-MM-DD, today, yesterday or tomorrow") from None


def _range(date_from: DateLike, date_to: DateLike | None) -> tuple[dt.date, dt.date]:
    lo = to_date(date_from)
    hi = to_date(date_to) if date_to is not None else lo
    if hi < lo:
        raise InputError(f"the range {lo}..{hi} ends before it starts")
    return lo, hi


def _market_keys(markets: Sequence[str] | str | None) -> list[str] | None:
    """The stored keys of a market selection: None (every market), one ``--market`` string (names,
    keys, a comma list or ``all``) or a list of names/keys. Raises InputError on an unknown one."""
    from nbaprops.markets import get_market, parse_markets

    if markets is None:
        return None
    if isinstance(markets, str):
        return [m.key for m in parse_markets(markets, default=())] or None
    return [get_market(m).key for m in markets]


@dataclass
class GradeResult:
    """What :meth:`Project.grade` did: rows graded and the graded rows of the range."""

    graded_rows: int
    graded: pd.DataFrame


@dataclass
class BacktestResult:
    """A walk-forward backtest: ``metrics`` (the metrics.json dict), ``graded`` (one row per graded
    prediction), the retrain ``blocks`` and the run's figures, plus the report's paths when written."""

    metrics: dict[str, Any]
    graded: pd.DataFrame
    blocks: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    #: report.md / metrics.json paths, alarms and the edge verdict when a report was written
    report: dict[str, Any] | None = None
    #: the report's headline rows (one per system), or ``metrics`` itself when no report was written
    headline: Any = None


@dataclass
class ExportResult:
    """What :meth:`Project.export` wrote: the directory, the format, and per document its file and rows."""

    game_date: dt.date
    out_dir: Path
    format: str
    files: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    manifest: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"game_date": str(self.game_date), "out_dir": str(self.out_dir), "format": self.format,
                "files": {k: str(v) for k, v in self.files.items()}, "rows": self.rows,
                "manifest": str(self.manifest) if self.manifest else None}


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` at once: a temp file in the same directory, then ``os.replace``
    (a reader sees the old file or the new one, never a partial one)."""
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)        # mkstemp makes it private; an export is meant to be read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class Readiness:
    """What :meth:`Project.readiness` found: ``reasons`` is empty when ready."""

    reasons: list[str] = field(default_factory=list)
    schema_version: int | None = None
    models: ServedModels | None = None

    @property
    def ready(self) -> bool:
        return not self.reasons


class Project:
    """One nbaprops warehouse and everything done with it.

    Args:
        settings: a :class:`~nbaprops.config.Settings`, the path of the DuckDB file, or None to read
            the settings from the environment (``NBAPROPS_*``, ``.env``).
        connection: an already open connection to use instead of opening ``settings.db`` (it is not
            closed by :meth:`close`).
        wait_s: how long to keep trying to open a warehouse another process holds.
    """

    def __init__(self, settings: Settings | str | Path | None = None, *,
                 connection: duckdb.DuckDBPyConnection | None = None, wait_s: float = 0.0) -> None:
        if isinstance(settings, Settings):
            self.settings = settings
        elif settings is None:
            self.settings = load_settings()
        else:
            self.settings = load_settings(db=Path(settings))
        self._con = connection
        self._owns_con = connection is None
        self._lock = threading.Lock()
        self._wait_s = wait_s
        self._sink: AlertSink | None = None
        self._probe: ModelProbe | None = None
        self._launcher: BatchLauncher | None = None

    # ------------------------------------------------------------------ resources
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The warehouse connection, opened (and migrated) on first use.

        Raises:
            LockError: another process holds the warehouse (after ``wait_s``).
            WarehouseError: it cannot be opened.
        """
        with self._lock:
            if self._con is None:
                self._con = self._open()
            return self._con

    def _open(self) -> duckdb.DuckDBPyConnection:
        from nbaprops.warehouse import connect

        deadline = time.monotonic() + max(0.0, self._wait_s)
        while True:
            try:
                return connect(self.settings.db, threads=self.settings.threads)
            except LockError as exc:
                if time.monotonic() >= deadline:
                    hint = (f" (waited {self._wait_s:.0f} s)" if self._wait_s
                            else "; or pass --wait SECONDS to wait for it")
                    raise LockError(f"{exc}{hint}") from None
                time.sleep(1.0)

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh cursor (own transaction) on the connection, closed after the block."""
        cur = self.con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @property
    def model_path(self) -> Path:
        """The model registry directory."""
        return self.settings.model_path

    @property
    def alert_sink(self) -> AlertSink:
        """Where alerts go (Slack webhook and/or the log, from the settings)."""
        if self._sink is None:
            from nbaprops.ops.alerts import make_sink

            self._sink = make_sink(self.settings)
        return self._sink

    def close(self) -> None:
        """Close the connection if this project opened it."""
        with self._lock:
            if self._con is not None and self._owns_con:
                self._con.close()
            if self._owns_con:
                self._con = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ pipeline
    def backfill(self, data_dir: str | Path, date_from: DateLike | None = None, date_to: DateLike | None = None,
                 *, progress: Progress = no_progress) -> BackfillReport:
        """Load every file in ``data_dir`` and run every build of the registry over the dates.

        Run records a dead process left ``running`` (a killed backfill or run) are marked
        ``abandoned`` first.

        Raises:
            InputError: ``data_dir`` is not a directory.
            NbapropsError: nothing in it has games.
        """
        from nbaprops.pipeline.backfill import BackfillReport, buildable_range, load_files
        from nbaprops.pipeline.builds import run_phases
        from nbaprops.pipeline.gates import release_all_abandoned

        t0 = time.perf_counter()
        data = Path(data_dir)
        if not data.is_dir():
            raise InputError(f"--data {data}: not a directory (give the folder that holds the bulk files)")
        release_all_abandoned(self.con)
        report = BackfillReport()
        load_files(self.con, data, report, progress)
        span = buildable_range(self.con)
        if not span:
            raise NbapropsError(f"no games found in {data}: is it the right directory?")
        lo = to_date(date_from) if date_from else span[0]
        hi = to_date(date_to) if date_to else span[1]
        report.date_from, report.date_to = lo, hi
        report.phases = run_phases(self.con, self.settings, lo, hi, progress=progress)
        row = self.con.execute("SELECT count(*) FROM prop_line_snapshots WHERE is_void").fetchone()
        report.void_lines = int(row[0]) if row else 0
        report.seconds = time.perf_counter() - t0
        return report

    def run(self, game_date: DateLike, *, data_dir: str | Path | None = None, replay: str | Path | None = None,
            only: Sequence[str] | None = None, force: bool = False, allow_incomplete: bool = False,
            workers: int = 1, progress: Progress = no_progress) -> RunReport:
        """The daily job for one date: every phase of the registry (or ``only`` these), gated, locked and
        recorded (see :mod:`nbaprops.pipeline.runner`).

        Raises:
            SettingsError: live ingest is needed and its settings are missing.
            InputError: ``data_dir``/``replay`` is not a directory, or both are given.
        """
        from nbaprops.errors import SettingsError
        from nbaprops.ingest.live import make_sources, missing_live_settings
        from nbaprops.pipeline import registry
        from nbaprops.pipeline.runner import run_daily

        d = to_date(game_date)
        phases = tuple(only) if only is not None else None
        for name in phases or ():
            try:
                registry.phase(name)
            except KeyError as exc:
                raise InputError(str(exc.args[0])) from None
        if data_dir is not None and replay is not None:
            raise InputError("give --data or --replay, not both")
        for flag, path in (("--data", data_dir), ("--replay", replay)):
            if path is not None and not Path(path).is_dir():
                raise InputError(f"{flag} {path}: not a directory")
        needs_ingest = phases is None or "ingest" in phases
        if needs_ingest and data_dir is None and replay is None and (missing := missing_live_settings(self.settings)):
            raise SettingsError(
                "`nbaprops run` without --data fetches live data and needs settings that are missing:\n"
                + "\n".join(f"  - {m}" for m in missing)
                + "\nSet them in the environment (export NBAPROPS_ODDS_API_KEY=...) or in a .env file in the "
                  "working directory, or run with --data DIR to ingest bulk files instead.")
        con = self.con
        sources = None
        try:
            if needs_ingest and data_dir is None:
                sources = make_sources(self.settings, replay=Path(replay) if replay is not None else None,
                                       store_dir=Path(self.settings.db).parent / "landing" / "payloads" / str(d))
            return run_daily(con, self.settings, d, data_dir=Path(data_dir) if data_dir is not None else None,
                             sources=sources, only=phases, force=force, allow_incomplete=allow_incomplete,
                             workers=workers, wait_s=self._wait_s, sink=self.alert_sink,
                             progress=progress)
        finally:
            if sources is not None:
                sources.close()

    def watch(self, game_date: DateLike, *, markets: Sequence[str] | None = None, books: Sequence[str] | None = None,
              replay: str | Path | None = None, once: bool = False, progress: Progress = no_progress) -> WatchReport:
        """Capture the lines of a date's events on a schedule (docs/market-watch.md): pulls at the cadence
        and before each tip-off, until the last tip-off (or one pass of the due pulls with ``once``).

        ``replay`` (a recorded Odds API file) runs the watch against a local replay of The Odds API on a
        simulated clock instead of the real API.

        Raises:
            SettingsError: no Odds API key (live); InputError: ``replay`` is not a file, a bad market/book;
            BudgetExceededError: a budget or the quota refused a pull; SourceError: the key was rejected.
        """
        from nbaprops.ingest.watch import WatchPlan, run_watch

        d = to_date(game_date)
        if replay is not None and not Path(replay).is_file():
            raise InputError(f"--replay {replay}: not a file (give a recorded Odds API file, e.g. "
                             "lines/odds_api_2024-03_to_2024-05.parquet)")
        plan = WatchPlan.from_settings(self.settings, markets=tuple(markets) if markets else None,
                                       books=tuple(books) if books else None)
        return run_watch(self.con, self.settings, d, plan,
                         landing_dir=Path(self.settings.db).parent / "landing" / "watch" / str(d),
                         replay=Path(replay) if replay is not None else None, once=once, progress=progress)

    def verify(self, game_date: DateLike) -> RunReport:
        """The post-run checks of a date (the ``verify`` phase alone; failures are alerted)."""
        return self.run(game_date, only=("verify",))

    def status(self, date_from: DateLike | None = None, date_to: DateLike | None = None) -> list[dict[str, Any]]:
        """Per date with games: row counts per build and whether each build (and the date) is complete."""
        from nbaprops.pipeline.backfill import buildable_range, date_status

        with self.reader() as cur:
            span = buildable_range(cur) or (dt.date(1900, 1, 1), dt.date(1900, 1, 1))
            lo = to_date(date_from) if date_from else span[0]
            hi = to_date(date_to) if date_to else span[1]
            return date_status(cur, lo, hi)

    def run_records(self, date_from: DateLike, date_to: DateLike | None = None, limit: int = 20
                    ) -> list[dict[str, Any]]:
        """The latest run records (``phase_runs``) overlapping the dates; records a dead process left
        ``running`` are marked (and shown) ``abandoned`` first."""
        from nbaprops.pipeline.gates import release_all_abandoned
        from nbaprops.queries.tables import run_records

        lo, hi = _range(date_from, date_to)
        release_all_abandoned(self.con)
        with self.reader() as cur:
            return run_records(cur, lo, hi, limit)

    def doctor(self) -> list[Check]:
        """Settings, warehouse and schema, the registry's tables, models, freshness, keys and disk."""
        return Project.health(lambda: self.settings)

    @staticmethod
    def health(load_settings: Callable[[], Settings]) -> list[Check]:
        """The doctor's checks with settings that may not load (the first check then says why), so
        that ``nbaprops doctor`` reports a broken environment instead of failing on it."""
        from nbaprops.ops.doctor import run_doctor
        from nbaprops.pipeline.registry import written_tables

        return run_doctor(load_settings, tables=written_tables())

    def versions(self) -> dict[str, Any]:
        """Package, schema and feature versions, the served model set and each system's version."""
        from nbaprops.ops.versions import versions

        return versions(self.settings)

    # ------------------------------------------------------------------ features and models
    def features(self, game_date: DateLike, *, version: str | None = None, player_id: int | None = None
                 ) -> pd.DataFrame:
        """The feature rows of a date as a wide DataFrame: ``game_date, game_id, player_id, team_abbr,
        opponent_abbr, is_home, is_expected, has_line, played, quality_score, quality_tier,
        required_missing``, the context columns, then one float column per feature (NaN = missing)."""
        from nbaprops.features.definitions import FEATURE_VERSION
        from nbaprops.features.store import load_features

        version = self._feature_version(version)
        d = to_date(game_date)
        with self.reader() as cur:
            df = load_features(cur, d, d, version or FEATURE_VERSION)
        if player_id is not None:
            df = df[df["player_id"] == player_id].reset_index(drop=True)
        return df

    def market_features(self, game_date: DateLike, market: str, *, player_id: int | None = None) -> pd.DataFrame:
        """A market's own point-in-time features of a date (``market_feature_values``: the stat's
        averages, spread, trend, per-minute rate, record vs the opponent and the opponent's allowed
        figure, each with its ``<name>__src``, and the market's chosen pre-tip line). Points' features
        are :meth:`features`.

        Raises:
            InputError: an unknown market, or points (whose features are the feature store's).
        """
        from nbaprops.markets import POINTS, get_market

        m = get_market(market)
        if m == POINTS:
            raise InputError("the points features are the feature store's: use Project.features", field="market")
        args: list[object] = [to_date(game_date), m.key]
        extra = ""
        if player_id is not None:
            extra, args = " AND player_id = ?", [*args, player_id]
        with self.reader() as cur:
            return cur.execute(f"""SELECT * FROM market_feature_values WHERE game_date = ? AND market = ?{extra}
                                   ORDER BY game_id, player_id""", args).df()

    def feature_records(self, game_date: DateLike, *, version: str | None = None,
                        player_id: int | None = None) -> list[dict[str, Any]]:
        """The feature rows of a date with their name/value/source arrays (``None`` stays ``None``)."""
        from nbaprops.queries.tables import feature_records

        with self.reader() as cur:
            return feature_records(cur, to_date(game_date), self._feature_version(version), player_id)

    @staticmethod
    def _feature_version(version: str | None) -> str:
        from nbaprops.features.definitions import FEATURE_VERSION, FEATURE_VERSIONS

        version = version or FEATURE_VERSION
        if version not in FEATURE_VERSIONS:
            raise InputError(f"unknown feature version {version!r}; known: {sorted(FEATURE_VERSIONS)}")
        return version

    def train(self, until: DateLike, *, since: DateLike | None = None, promote: bool = False,
              feature_version: str | None = None, executor: str = "serial", workers: int = 5,
              progress: Progress = no_progress, market: str = "points") -> dict[str, Any]:
        """Train every system on games strictly before ``until`` and save a model set (its manifest is
        returned; ``promote`` serves it now). ``feature_version`` (default: the served one) is the
        feature-store version trained on; a set of another version cannot be served.
        ``executor="ray"`` fits the member systems as Ray tasks (a local Ray on ``workers`` CPUs, or the
        cluster at ``NBAPROPS_RAY_ADDRESS``); same model set. ``market`` (name or key, default points):
        the market the set forecasts; each market has its own served set."""
        from nbaprops.executors import make_executor
        from nbaprops.features.definitions import SERVED_FEATURE_VERSION
        from nbaprops.markets import get_market
        from nbaprops.models.registry import promote as promote_set
        from nbaprops.models.training import train_models

        prop_market = get_market(market)

        version = self._feature_version(feature_version)
        if promote and version != SERVED_FEATURE_VERSION:
            raise InputError(f"a model set trained on {version!r} cannot be served: the store serves "
                             f"{SERVED_FEATURE_VERSION!r}", field="feature_version")
        if executor not in EXECUTORS:
            raise InputError(f"executor {executor!r}: use one of {', '.join(EXECUTORS)}")
        ex = make_executor(executor, workers)
        try:
            manifest = train_models(self.con, self.model_path, to_date(until),
                                    since=to_date(since) if since else None, thread_count=self.settings.threads,
                                    progress=progress, feature_version=version,
                                    promote_if_first=version == SERVED_FEATURE_VERSION, executor=ex,
                                    market=prop_market)
        finally:
            ex.close()
        if promote and manifest["served"] != manifest["model_set"]:
            promote_set(self.model_path, manifest["model_set"])
            manifest["served"] = manifest["model_set"]
        return manifest

    def model_sets(self) -> list[dict[str, Any]]:
        """The model sets of the registry (``served`` marks the one in use)."""
        from nbaprops.models.registry import list_model_sets

        return list_model_sets(self.model_path)

    def promote(self, model_set: str) -> dict[str, Any]:
        """Serve ``model_set`` from now on."""
        from nbaprops.models.registry import promote

        return promote(self.model_path, model_set)

    def rollback(self, market: str = "points") -> dict[str, Any]:
        """Serve the previously served model set of ``market`` (default points) again."""
        from nbaprops.markets import get_market
        from nbaprops.models.registry import rollback

        return rollback(self.model_path, get_market(market).key)

    # ------------------------------------------------------------------ predictions
    def game_dates(self, date_from: DateLike, date_to: DateLike | None = None) -> list[dt.date]:
        """Dates with games in the range."""
        from nbaprops.queries.tables import prediction_dates

        lo, hi = _range(date_from, date_to)
        with self.reader() as cur:
            return prediction_dates(cur, lo, hi)

    def predict(self, game_date: DateLike, *, min_minutes: float = 15.0, force: bool = False, workers: int = 1,
                allow_fallback: bool = False, queue: str = "auto", redis_url: str | None = None,
                progress: Progress = no_progress, market: str | None = None,
                market_at: str = "close") -> BatchResult:
        """One prediction batch for a date (every expected player, every system); replaces the date's
        stored rows of the batch's markets when it consolidates. ``market``: a name or key, a
        comma-separated list or ``all``; default points plus every market with a served model set.
        ``market_at`` (``close``, the default, or ``open``): when the market is read
        (:data:`nbaprops.predict.market.MARKET_AT`; docs/market.md)."""
        from nbaprops.markets import MARKETS, parse_markets
        from nbaprops.models.registry import served_markets
        from nbaprops.predict.coordinator import start_batch
        from nbaprops.predict.queues import make_queue

        markets = parse_markets(market, default=()) or None
        if market is not None and market.strip().lower() == "all":
            # every market of the registry that has a served model set (points always)
            served = set(served_markets(self.model_path))
            markets = tuple(m for m in MARKETS if m.key in served or m == MARKETS[0])
        q = None if queue == "auto" else make_queue(workers, queue, redis_url=redis_url)
        try:
            return start_batch(self.con, self.settings, to_date(game_date), min_minutes=min_minutes, force=force,
                               workers=workers, allow_fallback=allow_fallback, queue=q, progress=progress,
                               markets=markets, market_at=market_at)
        finally:
            if q is not None:
                q.close()   # also when the batch was refused before it took the queue over

    def launcher(self, *, claim_timeout_s: float = 30.0, workers: int = 1) -> BatchLauncher:
        """The launcher of background prediction batches (the API's ``POST /start``); created on first
        use with these options."""
        from nbaprops.predict.launcher import BatchLauncher

        with self._lock:
            if self._launcher is None:
                self._launcher = BatchLauncher(lambda: self.con, self.settings, claim_timeout_s=claim_timeout_s,
                                               workers=workers)
            return self._launcher

    def launch(self, game_date: DateLike, *, min_minutes: float = 15.0, force: bool = False) -> Launched:
        """Start a prediction batch in a background thread; returns once the batch is registered.

        Raises:
            BatchConflictError: a batch of the date is running (unless ``force``).
        """
        return self.launcher().launch(to_date(game_date), min_minutes=min_minutes, force=force)

    def predictions(self, date_from: DateLike, date_to: DateLike | None = None, *, system: str | None = None,
                    recommendation: str | None = None,
                    markets: Sequence[str] | str | None = None) -> pd.DataFrame:
        """Stored predictions of a date (or range): every column of ``player_prop_predictions`` plus
        ``player_name``, ``team_abbr``, ``opponent_abbr``; ``markets`` as in :meth:`grade` (None: every
        market).

        Raises:
            InputError: an unknown market.
        """
        from nbaprops.queries.tables import predictions

        lo, hi = _range(date_from, date_to)
        keys = _market_keys(markets)
        with self.reader() as cur:
            return predictions(cur, lo, hi, system=system, recommendation=recommendation, markets=keys)

    def predictions_page(self, game_date: DateLike, columns: Sequence[str], *, system: str | None = None,
                         recommendation: str | None = None, limit: int = 500, offset: int = 0,
                         market: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        """(total, one page of rows) of a date's predictions (the API's ``/predictions``); ``market``:
        names or keys, a comma list (None or ``all``: every market)."""
        from nbaprops.queries.tables import predictions_page

        with self.reader() as cur:
            return predictions_page(cur, to_date(game_date), columns, system=system, recommendation=recommendation,
                                    limit=limit, offset=offset, markets=_market_keys(market))

    def book_quotes(self, game_date: DateLike, *, player_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """Every book's line and prices for each quoted player of a date, the best over / under price at
        the prediction's line (flagged ``best_over`` / ``best_under`` on the book), and the consensus
        with its move since the open (docs/market.md, "Every book on the slate page")."""
        from nbaprops.queries.book_quotes import slate_book_quotes

        day = to_date(game_date)
        with self.reader() as cur:
            lines = dict(cur.execute("""SELECT player_id, mode(CAST(line AS DOUBLE)) FROM player_prop_predictions
                                        WHERE game_date = ? AND line IS NOT NULL AND market = 'player_points'
                                        GROUP BY player_id""",
                                     [day]).fetchall())
            return slate_book_quotes(cur, day, lines=lines, player_ids=player_ids)

    def batch(self, batch_id: str, columns: Sequence[str]) -> dict[str, Any] | None:
        """One prediction batch row, or None."""
        from nbaprops.queries.tables import batch

        with self.reader() as cur:
            return batch(cur, batch_id, columns)

    def batch_version(self, game_date: DateLike) -> tuple[str | None, str | None, int, str]:
        """(latest batch id of the date, its status, the date's stored rows, a marker of every batch of
        every date): what the API's response cache keys the stored predictions of a date by."""
        from nbaprops.queries.tables import batch_version

        with self.reader() as cur:
            return batch_version(cur, to_date(game_date))

    def lines(self, game_date: DateLike, *, market: str | None = "player_points") -> pd.DataFrame:
        """Every stored book quote of a date (all snapshots) of one market: its key
        (``player_rebounds``) or short name (``rebounds``, ``pra``: docs/markets.md); ``None`` or
        ``"all"`` for every market. An unknown market is an ``InputError`` naming the known ones."""
        from nbaprops.markets import get_market
        from nbaprops.queries.tables import lines

        key = None if market is None or market.strip().lower() == "all" else get_market(market).key
        with self.reader() as cur:
            return lines(cur, to_date(game_date), market=key)

    # ------------------------------------------------------------------ evaluation
    def grade(self, date_from: DateLike, date_to: DateLike | None = None, *, require: bool = True,
              markets: Sequence[str] | str | None = None) -> GradeResult:
        """Grade the stored predictions of the dates against the box scores, each in its own market.

        ``markets``: names or keys (a list, or one string: ``'rebounds'``, ``'pra,threes'``, ``'all'``);
        None: every market predicted (docs/markets.md, "Grading and the report per market")."""
        from nbaprops.evaluate.grade import grade_dates, load_graded

        lo, hi = _range(date_from, date_to)
        keys = _market_keys(markets)
        n = grade_dates(self.con, lo, hi, require=require, markets=keys)
        return GradeResult(n, load_graded(self.con, lo, hi, markets=keys))

    def grades(self, date_from: DateLike, date_to: DateLike | None = None, *,
               markets: Sequence[str] | str | None = None) -> pd.DataFrame:
        """Graded predictions of the dates (``prediction_grades`` with prices, line validity and the
        closing prices), without grading anything; ``markets`` as in :meth:`grade`."""
        from nbaprops.evaluate.grade import load_graded

        lo, hi = _range(date_from, date_to)
        with self.reader() as cur:
            return load_graded(cur, lo, hi, markets=_market_keys(markets))

    def fetch_injury_report(self, game_date: DateLike | None = None, *, at: dt.datetime | None = None,
                            replay: str | Path | None = None) -> dict[str, Any]:
        """Fetch and land the latest official injury report published by ``at``
        (:func:`nbaprops.ingest.injuries.fetch_latest_report`); run it on a schedule (docs/injury-reports.md).

        Args:
            game_date: the date of the run (default: today, US/Eastern); without ``at`` the report fetched
                is the latest published by now, or by the date's end for a past date.
            at: the latest publication time to try (aware, or naive US/Eastern).
            replay: read saved payloads from this directory instead of the network.

        Returns:
            The landing's stats with ``report_time``, ``url`` and ``probes``.

        Raises:
            MissingReportError: no report was published in the times tried.
            InputError: the report is malformed (quarantined, payload kept).
            SourceError: the upstream failed.
        """
        from zoneinfo import ZoneInfo

        from nbaprops.ingest.injuries import fetch_latest_report
        from nbaprops.ingest.live import report_fetch_time
        from nbaprops.ingest.sources.base import SnapshotStore
        from nbaprops.ingest.sources.injury_report import InjuryReportLive, InjuryReportSnapshot

        eastern = ZoneInfo("America/New_York")
        d = to_date(game_date) if game_date is not None else dt.datetime.now(eastern).date()
        when = report_fetch_time(d, dt.datetime.now(dt.UTC)) if at is None else at
        if replay is not None:
            if not Path(replay).is_dir():
                raise InputError(f"--replay {replay}: not a directory")
            return fetch_latest_report(self.con, InjuryReportSnapshot(replay), when)
        live = InjuryReportLive(self.settings, store=SnapshotStore(
            Path(self.settings.db).parent / "landing" / "payloads" / str(d)))
        try:
            return fetch_latest_report(self.con, live, when)
        finally:
            live.close()

    def import_lines(self, path: str | Path) -> dict[str, Any]:
        """Import an Odds API flattened lines file and rebuild the phases of its dates."""
        from nbaprops.pipeline.backfill import import_lines

        return import_lines(self.con, self.settings, Path(path))

    def backtest(self, date_from: DateLike, date_to: DateLike, *, retrain_every_days: int = 7,
                 report_dir: str | Path | None = None, command: str | None = None, workers: int = 1,
                 executor: str = "serial", progress: Progress = no_progress,
                 markets: Sequence[str] | str | None = None, market_at: str = "close") -> BacktestResult:
        """Walk forward over the dates: for each block train only on earlier games, predict the block with
        its pre-tip lines, grade it. ``metrics`` is the dict written as metrics.json (also without a
        report directory). ``executor``: ``serial`` or ``ray`` (the retrain blocks as Ray tasks on
        ``workers`` CPUs of a local Ray, or on the cluster at ``NBAPROPS_RAY_ADDRESS``). ``markets``
        (names or keys, or one ``--market`` string: a comma list or ``all``; None: points): each
        retrain block trains one model set per market, then the markets are predicted, graded and
        reported; with several, the metrics are per (market, system). ``market_at``: ``close`` (the
        default) or ``open``, when each batch reads the market (docs/market.md)."""
        from nbaprops.evaluate.backtest import run_backtest
        from nbaprops.evaluate.metrics import summarize
        from nbaprops.evaluate.report import write_report
        from nbaprops.markets import get_market
        from nbaprops.predict.market import MARKET_AT

        lo, hi = _range(date_from, date_to)
        if retrain_every_days < 1:
            raise InputError(f"retrain every {retrain_every_days} days: use a whole number of days >= 1")
        if executor not in EXECUTORS:
            raise InputError(f"executor {executor!r}: use one of {', '.join(EXECUTORS)}")
        if market_at not in MARKET_AT:
            raise InputError(f"market_at {market_at!r}: use one of {', '.join(MARKET_AT)}", field="market_at")
        res = run_backtest(self.con, self.settings, lo, hi, retrain_every_days=retrain_every_days, workers=workers,
                           executor=executor, progress=progress, market_at=market_at,
                           markets=tuple(get_market(k) for k in (_market_keys(markets) or ["points"])))
        graded = res.pop("graded")
        blocks = list(res.get("blocks", []))
        report = None
        headline: Any = None
        if report_dir is not None:
            cmd = command or f"nbaprops backtest --from {lo} --to {hi} --retrain-every {retrain_every_days}d"
            info = write_report(graded, Path(report_dir), title=f"nbaprops walk-forward backtest {lo} to {hi}",
                                period=f"{lo} to {hi}, retrained every {retrain_every_days} days", command=cmd)
            metrics = json.loads(Path(info["metrics_json"]).read_text(encoding="utf-8"))
            headline = info["headline"]
            report = {"report_md": info["report_md"], "metrics_json": info["metrics_json"],
                      "alarms": info["alarms"], "edge_demonstrated": info["edge_demonstrated"]}
        else:
            metrics = summarize(graded, n_boot=500)
        return BacktestResult(metrics=metrics, graded=graded, blocks=blocks, info=res, report=report,
                              headline=headline if headline is not None else metrics)

    # ------------------------------------------------------------------ operations
    def views(self) -> dict[str, Any]:
        """Row count of each monitoring view and the placeholder alerts."""
        from nbaprops.ops.views import placeholder_alerts, view_counts

        with self.reader() as cur:
            counts = view_counts(cur)
            alerts = placeholder_alerts(cur) if counts.get("placeholder_alerts") else []
        return {"views": counts, "placeholder_alerts": alerts}

    def remediate(self, date_from: DateLike, date_to: DateLike, *, dry_run: bool = False) -> dict[str, Any]:
        """Archive stored predictions whose line fails today's line rules (``dry_run``: only count them)."""
        from nbaprops.ops.remediate import archive_invalid, archive_summary, find_invalid

        lo, hi = _range(date_from, date_to)
        report: dict[str, Any] = {"date_from": str(lo), "date_to": str(hi), "dry_run": dry_run}
        if dry_run:
            bad = find_invalid(self.con, lo, hi)
            report["would_archive"] = len(bad)
            report["by_reason"] = {str(k): int(v) for k, v in bad["reason"].value_counts().sort_index().items()}
        else:
            report["archived"] = archive_invalid(self.con, lo, hi)
            report["archive_by_reason"] = archive_summary(self.con, lo, hi)
        return report

    def restore(self, date_from: DateLike, date_to: DateLike, *, reason: str | None = None,
                regrade: bool = True) -> dict[str, Any]:
        """Move archived predictions back, unchanged, and re-grade the range."""
        from nbaprops.evaluate.grade import grade_dates
        from nbaprops.ops.remediate import archive_summary, restore_archived

        lo, hi = _range(date_from, date_to)
        n = restore_archived(self.con, lo, hi, reason=reason)
        graded = grade_dates(self.con, lo, hi) if n and regrade else 0
        return {"date_from": str(lo), "date_to": str(hi), "reason": reason, "restored": n,
                "regraded_rows": graded, "still_archived": archive_summary(self.con, lo, hi)}

    # ------------------------------------------------------------------ dashboard pages
    def slate_page(self, game_date: DateLike | None = None, *, system: str | None = "catboost",
                   recommendation: str | None = None, sort: str = "edge", order: str = "desc",
                   market: str | None = "player_points") -> tuple[list[dt.date], dt.date, SlateData]:
        """The slate page's data: the dates with predictions (newest first), the date shown (``game_date``
        or the newest) and its predictions filtered and sorted; ``market``: a name or key (default
        points; None or ``all``: every market)."""
        from nbaprops.markets import get_market
        from nbaprops.queries.dashboard import load_slate_page, prediction_dates

        with self.reader() as cur:
            dates = prediction_dates(cur)
            day = to_date(game_date) if game_date else (dates[0] if dates else dt.datetime.now(dt.UTC).date())
            key = None if market is None or market.strip().lower() == "all" else get_market(market).key
            return dates, day, load_slate_page(cur, day, system=system, recommendation=recommendation, sort=sort,
                                               order="asc" if order == "asc" else "desc", market=key)

    def performance(self, date_from: DateLike | None = None, date_to: DateLike | None = None, *,
                    system: str | None = None, market: str = "player_points") -> PerformanceData:
        """Hit rate, ROI, calibration and MAE against the line by system, date and month (graded rows)
        of one market (a name or key, default points), and per (market, system) of every market."""
        from nbaprops.markets import get_market
        from nbaprops.queries.dashboard import load_performance

        with self.reader() as cur:
            return load_performance(cur, date_from=to_date(date_from) if date_from else None,
                                    date_to=to_date(date_to) if date_to else None, system=system,
                                    market=get_market(market).key)

    def pipeline(self, *, phase: str | None = None, status: str | None = None, game_date: DateLike | None = None,
                 limit: int = 200) -> PipelineData:
        """Phase run records, prediction batches and the alerts computed from them."""
        from nbaprops.queries.dashboard import load_pipeline

        with self.reader() as cur:
            return load_pipeline(cur, phase=phase, status=status, game_date=to_date(game_date) if game_date else None,
                                 limit=limit)

    def player_page(self, player_id: int, game_date: DateLike, *, market: str | None = None,
                    system: str = "catboost") -> PlayerPage | None:
        """The player prop page of a player on a date (None when the player has no game that date)."""
        from nbaprops.queries.player import load_player_page

        with self.reader() as cur:
            return load_player_page(cur, int(player_id), to_date(game_date), market=market, system=system,
                                    model_dir=self.model_path)

    def board(self, game_date: DateLike | None = None, *, system: str = "catboost", team: str | None = None,
              game_id: str | None = None, market: str | None = None, recommendation: str | None = None,
              min_ev: float | None = None, sort: str = "ev", order: str = "desc"
              ) -> tuple[list[dt.date], dt.date, BoardData]:
        """The prop board of a date (default: the newest date with predictions): the dates with predictions,
        the date shown and its cards, filtered and sorted."""
        from nbaprops.queries.board import load_board
        from nbaprops.queries.dashboard import prediction_dates

        with self.reader() as cur:
            dates = prediction_dates(cur)
            day = to_date(game_date) if game_date else (dates[0] if dates else dt.datetime.now(dt.UTC).date())
            return dates, day, load_board(cur, day, system=system, team=team, game_id=game_id, market=market,
                                          recommendation=recommendation, min_ev=min_ev, sort=sort,
                                          order="asc" if order == "asc" else "desc")

    def export_documents(self, game_date: DateLike, *, system: str = "catboost", only: str | None = None,
                         market: str | None = None) -> dict[str, Any]:
        """The export documents of a date (see :mod:`nbaprops.queries.exports`), as pydantic models;
        ``market`` (a name or key; None or ``all``: every market) keeps one market's predictions, best
        bets and streaks.

        Raises:
            InputError: ``only`` is not a document name, or an unknown market.
        """
        from nbaprops.markets import get_market
        from nbaprops.queries.exports import DOCUMENTS, build_documents

        if only is not None and only not in DOCUMENTS:
            raise InputError(f"unknown export document {only!r}; known: {', '.join(DOCUMENTS)}")
        with self.reader() as cur:
            key = None if market is None or market.strip().lower() in ("", "all") else get_market(market).key
            return dict(build_documents(cur, to_date(game_date), system=system, only=only, market=key))

    def export(self, game_date: DateLike, out_dir: str | Path, *, fmt: str = "json",
               system: str = "catboost", market: str | None = None) -> ExportResult:
        """Write the export documents of a date to ``out_dir`` (``<document>.json`` or ``.csv``, plus
        ``manifest.json`` with every document's envelope); each file is replaced atomically.

        Raises:
            InputError: unknown format, or ``out_dir`` exists and is not a directory.
        """
        import csv
        import io

        if fmt not in ("json", "csv"):
            raise InputError(f"--format {fmt}: use json or csv")
        target = Path(out_dir)
        if target.exists() and not target.is_dir():
            raise InputError(f"--out {target}: not a directory")
        target.mkdir(parents=True, exist_ok=True)
        day = to_date(game_date)
        docs = self.export_documents(day, system=system, market=market)
        res = ExportResult(day, target, fmt)
        manifest: dict[str, Any] = {"game_date": str(day), "format": fmt, "documents": {}}
        for name, doc in docs.items():
            envelope = doc.model_dump(mode="json")
            rows = envelope.pop("rows")
            path = target / f"{name}.{fmt}"
            if fmt == "json":
                data = (json.dumps({**envelope, "rows": rows}, indent=2) + "\n").encode("utf-8")
            else:
                from nbaprops.queries.exports import row_model

                buf = io.StringIO()
                writer = csv.DictWriter(buf, fieldnames=list(row_model(name).model_fields), lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
                data = buf.getvalue().encode("utf-8")
            _write_atomic(path, data)
            res.files[name] = path
            res.rows[name] = len(rows)
            manifest["documents"][name] = {"file": path.name, "schema": f"docs/exports/{name}.schema.json",
                                           **envelope}
        res.manifest = target / "manifest.json"
        _write_atomic(res.manifest, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
        return res

    # ------------------------------------------------------------------ readiness
    def readiness(self) -> Readiness:
        """Whether this project can serve: the warehouse answers at the current schema and the served model
        set loads with files matching their manifest (the load is reused while every file hashes the same)."""
        import duckdb

        from nbaprops.warehouse import SCHEMA_VERSION, schema_version

        res = Readiness()
        try:
            with self.reader() as cur:
                cur.execute("SELECT 1").fetchone()
                res.schema_version = schema_version(cur)
            if res.schema_version < SCHEMA_VERSION:
                res.reasons.append(f"warehouse: schema version {res.schema_version} < {SCHEMA_VERSION}; "
                                   "restart to migrate")
        except (NbapropsError, duckdb.Error) as exc:
            res.reasons.append(f"warehouse: {exc}")
        try:
            res.models = self._model_probe().check()
        except NbapropsError as exc:
            res.reasons.append(f"models: {exc}")
        except Exception:
            log.exception("readiness: loading the served model set failed")
            res.reasons.append("models: the served model set cannot be loaded (see the server log)")
        return res

    def _model_probe(self) -> ModelProbe:
        from nbaprops.models.probe import ModelProbe

        with self._lock:
            if self._probe is None:
                self._probe = ModelProbe(self.model_path)
            return self._probe
