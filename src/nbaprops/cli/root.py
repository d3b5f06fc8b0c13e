"""The ``nbaprops`` command line (typer + rich). Thin over the same functions the API uses."""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress, TaskID
from rich.table import Table

from nbaprops.cli.common import RootOptions, console, date_option, emit, out, progress_bar, project, settings
from nbaprops.config import Settings, load_settings
from nbaprops.errors import InputError, NbapropsError, ServedElsewhere
from nbaprops.features.definitions import FEATURE_VERSION, FEATURE_VERSIONS
from nbaprops.markets import MARKETS, Market, get_market, parse_markets

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="NBA player points predictions against real sportsbook lines, graded honestly.")


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[Path | None, typer.Option("--db", envvar="NBAPROPS_DB", help="DuckDB warehouse file")] = None,
    threads: Annotated[int | None, typer.Option("--threads", envvar="NBAPROPS_THREADS",
                                                help="DuckDB threads")] = None,
) -> None:
    if isinstance(ctx.obj, RootOptions) and ctx.obj.connection is not None:
        pass     # a job inside `nbaprops serve`: the server's warehouse and settings, not the client's
    else:
        ctx.obj = RootOptions(db=db, threads=threads)


def _bar(prog: Progress, task: TaskID) -> Callable[[str, int, int], None]:
    def cb(desc: str, done: int, total: int) -> None:
        prog.update(task, description=desc, completed=done, total=max(total, 1))
    return cb


@app.command()
def backfill(
    ctx: typer.Context,
    data: Annotated[Path, typer.Option("--data", envvar="NBAPROPS_DATA", help="directory of bulk files")],
    date_from: Annotated[str | None, typer.Option("--from", help="first date to build (default: first game)")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="last date to build (default: last game)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Load every file in DATA and build analytics, precompute and the feature store for every date."""
    lo = date_option(date_from) if date_from else None
    hi = date_option(date_to) if date_to else None
    p = project(ctx)
    with progress_bar() as prog:
        report = p.backfill(data, lo, hi, progress=_bar(prog, prog.add_task("load files", total=1)))
    if as_json:
        emit(report.as_dict())
        return
    t = Table(title=f"backfill {report.date_from}..{report.date_to} in {report.seconds:.1f}s")
    t.add_column("what")
    t.add_column("rows", justify="right")
    for k, v in report.loaded.items():
        t.add_row(f"loaded {k}", f"{v:,}")
    for k, st in report.lines.items():
        t.add_row(f"lines {Path(k).name}", ", ".join(f"{a}={b:,}" for a, b in st.items()))
    n = report.files
    t.add_row("files read / unchanged / skipped",
              f"{n.get('read', 0):,} / {n.get('unchanged', 0) + n.get('same_content', 0):,} / {n.get('skipped', 0):,}")
    t.add_row("player names resolved", f"{report.names.get('matched', 0):,} of {report.names.get('names', 0):,}")
    t.add_row("void lines (player did not play)", f"{report.void_lines:,}")
    for k, v in report.phases.items():
        t.add_row(k, f"{v:,}")
    out.print(t)
    for problem in report.problems(limit=20):
        console.print(f"[yellow]warning[/] {problem}")


@app.command()
def status(
    ctx: typer.Context,
    date: Annotated[str | None, typer.Option("--date", help="one date (default: every date with games)")] = None,
    date_from: Annotated[str | None, typer.Option("--from")] = None,
    date_to: Annotated[str | None, typer.Option("--to")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Per date and phase: row counts and whether the date is complete."""
    p = project(ctx)
    if date:
        rows = p.status(date_option(date), date_option(date))
        if not rows:
            raise NbapropsError(f"no games on {date} in the warehouse")
    else:
        rows = p.status(date_option(date_from) if date_from else None, date_option(date_to) if date_to else None)
    if rows:
        lo, hi = rows[0]["game_date"], rows[-1]["game_date"]
    else:
        lo = hi = date_option(date) if date else dt.date(1900, 1, 1)
    run_records = p.run_records(lo, hi)
    if as_json:
        emit({**rows[0], "runs": run_records} if date else rows)
        return
    complete = sum(r["complete"] for r in rows)
    t = Table(title=f"{complete} of {len(rows)} dates complete")
    cols = ["game_date", "games", "boxscores", "points_lines", "player_game_summary", "upcoming_context",
            "player_daily_cache", "feature_store", "market_feature_values", "complete"]
    for c in cols:
        t.add_column(c)
    shown = rows if date or len(rows) <= 40 else [r for r in rows if not r["complete"]][:40] or rows[-10:]
    for r in shown:
        t.add_row(*[str(r[c]) for c in cols])
    out.print(t)
    if run_records:
        rt = Table(title="latest run records")
        for c in ("phase", "dates", "started", "rows", "status", "error"):
            rt.add_column(c)
        for r in run_records[:10]:
            rt.add_row(str(r["phase"]), f"{r['date_from']}..{r['date_to']}", str(r["started_at"])[:19],
                       str(r["n_rows"]), str(r["status"]), str(r["error"] or "")[:60])
        out.print(rt)


@app.command()
def features(
    ctx: typer.Context,
    date: Annotated[str, typer.Option("--date", help="game date")],
    version: Annotated[str, typer.Option("--version", help="feature version")] = FEATURE_VERSION,
    player: Annotated[int | None, typer.Option("--player", help="one player_id")] = None,
    market: Annotated[str, typer.Option("--market", help="points (the feature store), or another market's own "
                                        "features (market_feature_values)")] = "points",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print the feature rows of a date (points), or a market's own stat features (--market rebounds)."""
    if version not in FEATURE_VERSIONS:
        raise typer.BadParameter(f"unknown feature version {version!r}; known: {sorted(FEATURE_VERSIONS)}")
    d = date_option(date)
    (prop_market,) = _market_option(market)[:1]
    if prop_market.key != MARKETS[0].key:
        _print_market_features(project(ctx).market_features(d, prop_market.key, player_id=player), prop_market,
                               d, as_json)
        return
    records = project(ctx).feature_records(d, version=version, player_id=player)
    if as_json:
        recs = []
        for r in records:
            feats = {n: {"value": v, "source": s} for n, v, s in
                     zip(r.pop("feature_names"), r.pop("features"), r.pop("feature_sources"), strict=True)}
            r["game_date"] = str(r["game_date"])[:10]
            r["features"] = feats
            recs.append(r)
        emit(recs)
        return
    t = Table(title=f"{len(records)} feature rows on {d} ({version})")
    for c in ("player_id", "team", "opp", "line", "L5", "L10", "season", "quality", "tier"):
        t.add_column(c)
    for r in records:
        f = dict(zip(r["feature_names"], r["features"], strict=True))

        def fmt(x: Any) -> str:
            return "-" if x is None else f"{x:.1f}"

        t.add_row(str(r["player_id"]), r["team_abbr"], r["opponent_abbr"], fmt(f.get("vegas_points_line")),
                  fmt(f["points_avg_last_5"]), fmt(f["points_avg_last_10"]), fmt(f["points_avg_season"]),
                  f"{r['quality_score']:.0f}", r["quality_tier"])
    out.print(t)


def _print_market_features(frame: Any, market: Market, d: dt.date, as_json: bool) -> None:
    """``features --market M``: the market's feature rows as JSON records or a table."""
    records: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in frame.astype(object).where(frame.notna(), None).to_dict("records")]
    for r in records:
        for k, v in r.items():
            if isinstance(v, (dt.date, dt.datetime)) or hasattr(v, "isoformat"):
                r[k] = str(v)
    if as_json:
        emit(records)
        return
    t = Table(title=f"{len(records)} {market.name} feature rows on {d}")
    for c in ("player_id", "team", "opp", "line", "L5", "L10", "season", "per min L10", "opp allowed"):
        t.add_column(c)

    def fmt(x: Any) -> str:
        return "-" if x is None else f"{x:.2f}"

    for r in records:
        t.add_row(str(r["player_id"]), str(r["team_abbr"]), str(r["opponent_abbr"]), fmt(r["line"]),
                  fmt(r["stat_avg_last_5"]), fmt(r["stat_avg_last_10"]), fmt(r["stat_avg_season"]),
                  fmt(r["stat_per_minute_last_10"]), fmt(r["opp_stat_allowed_avg"]))
    out.print(t)


@app.command()
def lines(
    ctx: typer.Context,
    date: Annotated[str, typer.Option("--date", help="game date")],
    market: Annotated[str, typer.Option("--market", help="market key or name (points, rebounds, pra, ...; "
                                                         "docs/markets.md) or 'all'")] = "points",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print the stored book quotes of a date for one market (or all)."""
    d = date_option(date)
    frame = project(ctx).lines(d, market=market)
    records: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in frame.astype(object).where(frame.notna(), None).to_dict("records")]
    for r in records:
        r["game_date"] = str(r["game_date"])[:10]
    if as_json:
        emit(records)
        return
    t = Table(title=f"{len(records)} quotes on {d} ({market})")
    for c in ("player_id", "player", "team", "market", "source", "book", "line", "over", "under", "quoted_at"):
        t.add_column(c)

    def txt(x: Any) -> str:
        return "-" if x is None else str(x)

    for r in records:
        t.add_row(txt(r["player_id"]), escape(str(r["player_name"])), txt(r["player_team"]),
                  get_market(r["market"]).name, r["source"], r["sportsbook"], f"{r['line']:g}",
                  txt(r["over_price"]), txt(r["under_price"]), txt(r["quoted_at"])[:19])
    out.print(t)


models_app = typer.Typer(help="The model registry: list, promote, roll back.", invoke_without_command=True)
app.add_typer(models_app, name="models")


def _market_option(value: str | None) -> tuple[Market, ...]:
    """The markets of a ``--market`` option; an unknown name is a usage error naming the known ones."""
    try:
        return parse_markets(value)
    except InputError as exc:
        raise typer.BadParameter(str(exc), param_hint="--market") from None


@app.command()
def train(
    ctx: typer.Context,
    until: Annotated[str, typer.Option("--until", help="train on games strictly before this date")],
    since: Annotated[str | None, typer.Option("--since", help="first date of the training window")] = None,
    promote_model: Annotated[bool, typer.Option("--promote", help="serve the new model set now")] = False,
    feature_version: Annotated[str | None, typer.Option(
        "--feature-version", help=f"feature version to train on (default {FEATURE_VERSION}; "
                                  f"known: {', '.join(sorted(FEATURE_VERSIONS))}); only the served one can be served")] = None,
    executor: Annotated[str, typer.Option("--executor", help="serial, or ray: the member systems as Ray tasks "
                                          "(local Ray on --workers CPUs, or NBAPROPS_RAY_ADDRESS)")] = "serial",
    workers: Annotated[int, typer.Option("--workers", min=1, help="CPUs of a local Ray")] = 5,
    market: Annotated[str, typer.Option("--market", help="prop market(s) to train a model set for: a name "
                                        f"({', '.join(m.name for m in MARKETS)}), a comma list or all")] = "points",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Train every system on data strictly before --until and save a model set to the registry
    (one set per market: --market rebounds, --market pra,threes, --market all)."""
    markets = _market_option(market)
    p = project(ctx)
    manifests = []
    with progress_bar() as prog:
        for m in markets:
            manifests.append(p.train(date_option(until), since=date_option(since) if since else None,
                                     promote=promote_model, feature_version=feature_version, executor=executor,
                                     workers=workers, market=m.key,
                                     progress=_bar(prog, prog.add_task(f"train {m.name}", total=1))))
    if as_json:
        emit(manifests[0] if len(manifests) == 1 else manifests)
        return
    for manifest in manifests:
        t = Table(title=f"model set {manifest['model_set']} ({manifest.get('market', 'player_points')}, trained until "
                        f"{manifest['trained_until']}, {manifest['train_rows']:,} rows)")
        for c in ("system", "val rows", "val MAE", "MAE on line rows", "model-only MAE on line rows",
                  "line MAE same rows"):
            t.add_column(c)
        for sid, v in manifest["validation"].items():
            t.add_row(sid, f"{v['rows']:,}", f"{v['mae']:.3f}", f"{v['mae_line_rows']:.3f}",
                      f"{v.get('mae_line_rows_model_only', float('nan')):.3f}", f"{v['line_mae_same_rows']:.3f}")
        out.print(t)
        served = manifest["served"]
        out.print(f"served: {served}" + ("" if served == manifest["model_set"] else
                                         f"  (run `nbaprops models promote {manifest['model_set']}` to serve the new one)"))


@models_app.callback()
def models_list(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the model sets in the registry (the served one is marked)."""
    if ctx.invoked_subcommand:
        return
    p = project(ctx)
    sets = p.model_sets()
    if as_json:
        emit(sets)
        return
    t = Table(title=f"model registry {p.model_path}")
    for c in ("model set", "market", "served", "trained until", "features", "train rows", "catboost val MAE"):
        t.add_column(c)
    for m in sets:
        t.add_row(m["model_set"], str(m.get("market")), "*" if m["served"] else "", str(m["trained_until"]),
                  str(m["feature_version"]),
                  f"{m['train_rows']:,}", f"{m['validation'].get('catboost', {}).get('mae', float('nan')):.3f}")
    out.print(t)


@models_app.command("promote")
def models_promote(ctx: typer.Context,
                   model_set: Annotated[str, typer.Argument(help="model set to serve")]) -> None:
    """Pin a model set as the one that serves predictions."""
    out.print(f"serving {project(ctx).promote(model_set)['current']}")


@models_app.command("rollback")
def models_rollback(ctx: typer.Context,
                    market: Annotated[str, typer.Option("--market", help="the market whose set rolls back")] = "points",
                    ) -> None:
    """Serve the previously served model set (of --market, default points) again."""
    out.print(f"serving {project(ctx).rollback(market)['current']}")


@app.command()
def predict(
    ctx: typer.Context,
    date: Annotated[str | None, typer.Option("--date", help="game date (YYYY-MM-DD, today, tomorrow)")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="first date of a range")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="last date of a range")] = None,
    min_minutes: Annotated[float, typer.Option("--min-minutes", help="recent minutes for a player without a line")] = 15.0,
    force: Annotated[bool, typer.Option("--force", help="supersede a running batch for the date")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, help="worker processes")] = 1,
    allow_fallback: Annotated[bool, typer.Option("--allow-fallback",
                                                 help="without a usable model, store flagged fallback rows")] = False,
    queue_backend: Annotated[str, typer.Option("--queue", envvar="NBAPROPS_QUEUE",
                                               help="auto | inline | process | redis (units go to `nbaprops worker`) | "
                                                    "ray (units as Ray tasks)")
                             ] = "auto",
    redis_url: Annotated[str | None, typer.Option("--redis-url", envvar="NBAPROPS_REDIS_URL",
                                                  help="broker for --queue redis")] = None,
    market: Annotated[str | None, typer.Option("--market", help="prop market(s): a name, a comma list or all "
                                               "(default: points and every market with a served model set)")] = None,
    market_at: Annotated[str, typer.Option("--market-at",
                                           help="when the market is read: close (every quote so far, the default) "
                                                "or open (each player-game's first snapshot)")] = "close",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Predict every expected player of a date (or a range) with every system, in every market with a
    model set; replaces the date's rows of those markets, never appends."""
    from nbaprops.predict.market import MARKET_AT

    _market_option(market)  # an unknown market fails here, before any batch
    if market_at not in MARKET_AT:
        raise typer.BadParameter(f"--market-at must be one of {', '.join(MARKET_AT)}, got {market_at!r}")
    if date and (date_from or date_to):
        raise typer.BadParameter("give --date or --from/--to, not both")
    if not date and not (date_from and date_to):
        raise typer.BadParameter("give --date D or --from D1 --to D2")
    p = project(ctx)
    dates = [date_option(date)] if date else p.game_dates(date_option(date_from or ""), date_option(date_to or ""))
    results = []
    with progress_bar() as prog:
        task = prog.add_task("predict", total=len(dates))
        for i, d in enumerate(dates):
            prog.update(task, description=f"predict {d}", completed=i)
            # one queue per batch (the batch closes it); "auto" keeps the inline / process-pool default
            results.append(p.predict(d, min_minutes=min_minutes, force=force, workers=workers,
                                     allow_fallback=allow_fallback, queue=queue_backend, redis_url=redis_url,
                                     market=market, market_at=market_at).as_dict())
        prog.update(task, completed=len(dates))
    if as_json:
        emit(results if len(results) != 1 else results[0])
        return
    t = Table(title="prediction batches")
    for c in ("date", "batch", "status", "players", "rows", "markets", "skipped", "quarantined lines", "seconds"):
        t.add_column(c)
    for r in results:
        by_market = ", ".join(f"{get_market(k).name} {n}" for k, n in r.get("rows_by_market", {}).items())
        t.add_row(r["game_date"], r["batch_id"], r["status"], str(r["expected_players"]), str(r["rows"]),
                  by_market, str(r["skipped_players"]), str(r["quarantined_lines"]), f"{r['seconds']:.2f}")
    out.print(t)
    for r in results:
        for sid, err in r["system_failures"].items():
            console.print(f"[yellow]{r['game_date']} system {sid} stopped by its circuit breaker:[/] {err}")


MARKET_HELP = ("markets to grade and report: names or keys (points, rebounds, pra, ...; docs/markets.md), a comma "
               "list, or 'all'; default: every market present in the predictions")


def market_option(value: str | None) -> list[str] | None:
    """The stored keys a ``--market`` value names (None: every market present)."""
    if value is None or not value.strip():
        return None
    return [m.key for m in _market_option(value)]


def _row_label(rec: Mapping[Any, Any]) -> str:
    """A metric row's label: the system, prefixed by the market's name when the row has one."""
    m = rec.get("market")
    return f"{get_market(str(m)).name} · {rec['system_id']}" if m else str(rec["system_id"])


@app.command()
def grade(
    ctx: typer.Context,
    date: Annotated[str | None, typer.Option("--date", help="game date to grade")] = None,
    date_from: Annotated[str | None, typer.Option("--from")] = None,
    date_to: Annotated[str | None, typer.Option("--to")] = None,
    market: Annotated[str | None, typer.Option("--market", help=MARKET_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Grade stored predictions against box scores, each in its own market (only real, validated lines are
    bets); with several markets the table is per market and system."""
    from nbaprops.evaluate.metrics import betting_metrics, market_by, points_metrics

    if date:
        lo = hi = date_option(date)
    elif date_from and date_to:
        lo, hi = date_option(date_from), date_option(date_to)
    else:
        raise typer.BadParameter("give --date D or --from D1 --to D2")
    res = project(ctx).grade(lo, hi, require=True, markets=market_option(market))
    n, g = res.graded_rows, res.graded
    by = market_by(g)
    pm = points_metrics(g, by)
    bm = betting_metrics(g, by, n_boot=500)
    if as_json:
        emit({"graded_rows": n, "markets": sorted(g["market"].unique()) if "market" in g.columns else [],
              "points": pm.to_dict("records"), "betting": bm.to_dict("records")})
        return
    t = Table(title=f"graded {n:,} predictions {lo}..{hi}")
    for c in ("system", "MAE (line rows)", "line MAE same rows", "bets", "hit rate", "ROI"):
        t.add_column(c)
    for p_row, b_row in zip(pm.to_dict("records"), bm.to_dict("records"), strict=True):
        t.add_row(_row_label(p_row), f"{p_row['mae_line']:.3f} (n={p_row['n_line']})", f"{p_row['line_mae']:.3f}",
                  str(b_row["bets"]), f"{b_row['hit_rate']:.1%}" if b_row["bets"] else "-",
                  f"{b_row['roi']:+.1%}" if b_row["bets"] else "-")
    out.print(t)


@app.command()
def backtest(
    ctx: typer.Context,
    date_from: Annotated[str, typer.Option("--from", help="first date")],
    date_to: Annotated[str, typer.Option("--to", help="last date")],
    retrain_every: Annotated[str, typer.Option("--retrain-every", help="block length, e.g. 7d")] = "7d",
    lines: Annotated[list[Path] | None, typer.Option("--lines", help="Odds API flattened file(s) to import first")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="write report.md, metrics.json, plots here")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1)] = 1,
    executor: Annotated[str, typer.Option("--executor", help="serial, or ray: the retrain blocks as Ray tasks "
                                          "(local Ray on --workers CPUs, or NBAPROPS_RAY_ADDRESS)")] = "serial",
    market: Annotated[str | None, typer.Option("--market", help="markets to walk forward (one model set per market "
                                               "and block): names or keys, a comma list, or 'all'; default points")
                      ] = None,
    market_at: Annotated[str, typer.Option("--market-at",
                                           help="when each batch reads the market: close (the default) or open "
                                                "(each player-game's first snapshot)")] = "close",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Walk-forward: for each block train only on earlier games, predict the block, grade, roll forward."""
    from nbaprops.evaluate.metrics import betting_metrics, market_by, points_metrics, probability_metrics
    from nbaprops.predict.market import MARKET_AT

    if market_at not in MARKET_AT:
        raise typer.BadParameter(f"--market-at must be one of {', '.join(MARKET_AT)}, got {market_at!r}")

    text = retrain_every.strip().lower().rstrip("d")
    if not text.isdigit() or int(text) < 1:
        raise typer.BadParameter(f"--retrain-every {retrain_every!r}: use a number of days such as 7d")
    lo, hi = date_option(date_from), date_option(date_to)
    if hi < lo:
        raise typer.BadParameter("--to is before --from")
    markets = market_option(market)
    p = project(ctx)
    imported = {str(f): p.import_lines(f) for f in (lines or [])}
    cmd = " ".join(["nbaprops", *sys.argv[1:]]) if sys.argv[0].endswith("nbaprops") else \
        f"nbaprops backtest --from {lo} --to {hi} --retrain-every {retrain_every}" + (f" --market {market}" if market else "")
    with progress_bar() as prog:
        bt = p.backtest(lo, hi, retrain_every_days=int(text), report_dir=report, command=cmd, workers=workers,
                        executor=executor, progress=_bar(prog, prog.add_task("backtest", total=1)),
                        markets=markets, market_at=market_at)
    graded = bt.graded
    res: dict[str, Any] = dict(bt.info)
    if bt.report is not None:
        res["report"] = bt.report
    res["imported_lines"] = imported
    if as_json:
        emit({**res, "headline": bt.headline})
        return
    by = market_by(graded)
    pm, bm = points_metrics(graded, by), betting_metrics(graded, by, n_boot=500)
    prm = probability_metrics(graded, by)
    t = Table(title=f"walk-forward {lo}..{hi}: {res['dates']} slates, {len(res['blocks'])} retrains, {res['seconds']}s")
    for c in ("system", "model-only MAE", "model-only - line [95% CI]", "blended MAE", "line MAE",
              "blended - line [95% CI]", "Brier", "market Brier", "bets", "hit rate", "ROI [95% CI]"):
        t.add_column(c)
    prm_by = {_row_label(r): r for r in prm.to_dict("records")}

    def diff_ci(row: Mapping[Any, Any], key: str) -> str:
        return f"{row[key]:+.3f} [{row[key + '_ci_low']:+.3f}, {row[key + '_ci_high']:+.3f}]"

    for p_row, b_row in zip(pm.to_dict("records"), bm.to_dict("records"), strict=True):
        pr = prm_by.get(_row_label(p_row), {})
        t.add_row(_row_label(p_row), f"{p_row['mae_line_model_only']:.3f}", diff_ci(p_row, "mae_model_only_minus_line"),
                  f"{p_row['mae_line']:.3f}", f"{p_row['line_mae']:.3f}",
                  diff_ci(p_row, "mae_minus_line"), f"{pr.get('brier_model', float('nan')):.4f}",
                  f"{pr.get('brier_market', float('nan')):.4f}", str(b_row["bets"]),
                  f"{b_row['hit_rate']:.1%}" if b_row["bets"] else "-",
                  f"{b_row['roi']:+.1%} [{b_row['roi_ci_low']:+.1%}, {b_row['roi_ci_high']:+.1%}]" if b_row["bets"] else "-")
    out.print(t)
    out.print("MAE on valid-line rows; differences are forecast MAE minus the line's on the same rows, with paired "
              "95% intervals resampling slate dates (negative = beats the line; it does only when the whole "
              "interval is below zero)")
    out.print("break-even at -110: 52.38%")
    if bt.report is not None:
        out.print(f"report: {bt.report['report_md']}")
        for a in bt.report["alarms"]:
            console.print(f"[red]alarm:[/] {a}")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", envvar="NBAPROPS_HOST", help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", envvar="NBAPROPS_PORT", help="port")] = 8000,
) -> None:
    """Serve the REST API and dashboard (X-API-Key from NBAPROPS_API_KEY guards state changes)."""
    from nbaprops.api.app import serve as run_server
    from nbaprops.cli.jobs import run_argv
    from nbaprops.leases import live_server

    s = settings(ctx)
    if (other := live_server(s.db)) is not None:
        raise NbapropsError(f"the warehouse {s.db} is already served at {other['url']} (one server per "
                            "warehouse: it owns the file); use that one or stop it first")
    run_server(s, host=host, port=port, job_runner=functools.partial(run_argv, app))


@app.command()
def version(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Print package, schema and feature versions, and the served model set with each system's version."""
    from nbaprops.ops.versions import versions

    try:
        s: Settings | None = settings(ctx)
    except NbapropsError:
        s = None     # invalid settings: still print what the package knows
    info = versions(s)
    if as_json:
        emit(info)
        return
    out.print(f"nbaprops {info['package']}  schema {info['schema']}  features {', '.join(info['feature_versions'])}")
    out.print(f"served model set {info['model_set'] or '(none)'}  (features {info['model_feature_version'] or '-'})")
    for sid, mv in info["model_versions"].items():
        out.print(f"  {sid}: {mv}")
    if info.get("model_error"):
        console.print(f"[yellow]models:[/] {info['model_error']}")


def _register_groups() -> None:
    from nbaprops.cli import exports, monitor, ops, watch, worker

    for group in (monitor, ops, watch, worker, exports):
        group.register(app)


_register_groups()


def main() -> None:
    """Console entry point: typed errors become one clear line and exit code 1; a command for a
    warehouse that a running ``nbaprops serve`` owns is run by that server."""
    try:
        app()
    except ServedElsewhere as served:
        from nbaprops.cli.remote import delegate

        try:
            sys.exit(delegate(sys.argv[1:], served.url, load_settings()))
        except NbapropsError as exc:
            console.print(f"[red]error:[/] {escape(str(exc))}")
            sys.exit(1)
    except NbapropsError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(1)


if __name__ == "__main__":
    main()
