"""The ``nbaprops`` command line (typer + rich). Thin over the same functions the API uses."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from nbaprops.config import Settings, load_settings
from nbaprops.errors import NbapropsError

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="NBA player points predictions against real sportsbook lines, graded honestly.")
console = Console(stderr=True, soft_wrap=True)
out = Console()


class State:
    settings: Settings | None = None
    db: Path | None = None
    threads: int | None = None


state = State()


@app.callback()
def _root(
    db: Annotated[Path | None, typer.Option("--db", envvar="NBAPROPS_DB", help="DuckDB warehouse file")] = None,
    threads: Annotated[int | None, typer.Option("--threads", envvar="NBAPROPS_THREADS",
                                                help="DuckDB threads")] = None,
) -> None:
    state.db = db
    state.threads = threads


def settings() -> Settings:
    if state.settings is None:
        state.settings = load_settings(db=state.db, threads=state.threads)
    return state.settings


def _connect(read_only: bool = False) -> Any:
    from nbaprops.warehouse import connect

    s = settings()
    return connect(s.db, read_only=read_only, threads=s.threads)


def _date(value: str) -> dt.date:
    v = value.strip().lower()
    today = dt.date.today()
    if v == "today":
        return today
    if v == "yesterday":
        return today - dt.timedelta(days=1)
    if v == "tomorrow":
        return today + dt.timedelta(days=1)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date: use YYYY-MM-DD, today, yesterday or tomorrow") from None


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description:<48}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=console, transient=False, disable=not console.is_terminal)


def _emit(obj: Any) -> None:
    out.print_json(json.dumps(obj, default=str))


@app.command()
def backfill(
    data: Annotated[Path, typer.Option("--data", envvar="NBAPROPS_DATA", help="directory of bulk files")],
    date_from: Annotated[str | None, typer.Option("--from", help="first date to build (default: first game)")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="last date to build (default: last game)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Load every file in DATA and build analytics, precompute and the feature store for every date."""
    from nbaprops.pipeline.backfill import BackfillReport, buildable_range, load_files, run_phases

    t0 = time.perf_counter()
    con = _connect()
    report = BackfillReport()
    with _progress() as prog:
        task = prog.add_task("load files", total=1)

        def cb(desc: str, done: int, total: int) -> None:
            prog.update(task, description=desc, completed=done, total=max(total, 1))

        load_files(con, data, report, cb)
        lo_hi = buildable_range(con)
        if not lo_hi:
            raise NbapropsError(f"no games found in {data}: is it the right directory?")
        lo = _date(date_from) if date_from else lo_hi[0]
        hi = _date(date_to) if date_to else lo_hi[1]
        report.date_from, report.date_to = lo, hi
        report.phases = run_phases(con, settings(), lo, hi, progress=cb)
    report.void_lines = int(con.execute("SELECT count(*) FROM prop_line_snapshots WHERE is_void").fetchone()[0])
    report.seconds = time.perf_counter() - t0
    if as_json:
        _emit(report.as_dict())
        return
    t = Table(title=f"backfill {lo}..{hi} in {report.seconds:.1f}s")
    t.add_column("what")
    t.add_column("rows", justify="right")
    for k, v in report.loaded.items():
        t.add_row(f"loaded {k}", f"{v:,}")
    for k, st in report.lines.items():
        t.add_row(f"lines {Path(k).name}", ", ".join(f"{a}={b:,}" for a, b in st.items()))
    t.add_row("player names resolved", f"{report.names.get('matched', 0):,} of {report.names.get('names', 0):,}")
    t.add_row("void lines (player did not play)", f"{report.void_lines:,}")
    for k, v in report.phases.items():
        t.add_row(k, f"{v:,}")
    out.print(t)
    for f, reason in report.skipped:
        console.print(f"[yellow]skipped[/] {f}: {reason}")


@app.command()
def status(
    date: Annotated[str | None, typer.Option("--date", help="one date (default: every date with games)")] = None,
    date_from: Annotated[str | None, typer.Option("--from")] = None,
    date_to: Annotated[str | None, typer.Option("--to")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Per date and phase: row counts and whether the date is complete."""
    from nbaprops.pipeline.backfill import buildable_range, date_status

    con = _connect()
    if date:
        lo = hi = _date(date)
    else:
        span = buildable_range(con) or (dt.date(1900, 1, 1), dt.date(1900, 1, 1))
        lo = _date(date_from) if date_from else span[0]
        hi = _date(date_to) if date_to else span[1]
    rows = date_status(con, lo, hi)
    if date and not rows:
        raise NbapropsError(f"no games on {date} in the warehouse")
    runs = con.execute("""SELECT phase, date_from, date_to, started_at, finished_at, n_rows, status, error
                          FROM phase_runs WHERE date_from <= ? AND date_to >= ?
                          ORDER BY started_at DESC LIMIT 20""", [hi, lo]).df()
    def _fmt(k: str, v: Any) -> Any:
        if k in ("date_from", "date_to"):
            return str(v)[:10]
        if k in ("started_at", "finished_at"):
            return None if v is None or str(v) in ("NaT", "None") else str(v)
        return None if isinstance(v, float) and v != v else v

    run_records = [{k: _fmt(str(k), v) for k, v in r.items()} for r in runs.to_dict("records")]
    if as_json:
        _emit({**rows[0], "runs": run_records} if date else rows)
        return
    complete = sum(r["complete"] for r in rows)
    t = Table(title=f"{complete} of {len(rows)} dates complete")
    cols = ["game_date", "games", "boxscores", "points_lines", "player_game_summary", "upcoming_context",
            "player_daily_cache", "feature_store", "complete"]
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
    date: Annotated[str, typer.Option("--date", help="game date")],
    version: Annotated[str, typer.Option("--version", help="feature version")] = "v2_33features",
    player: Annotated[int | None, typer.Option("--player", help="one player_id")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print the feature rows of a date."""
    from nbaprops.features.definitions import FEATURE_VERSIONS

    if version not in FEATURE_VERSIONS:
        raise typer.BadParameter(f"unknown feature version {version!r}; known: {sorted(FEATURE_VERSIONS)}")
    con = _connect()
    d = _date(date)
    q = """SELECT game_date, game_id, player_id, team_abbr, opponent_abbr, is_expected, has_line, played,
                  quality_score, quality_tier, feature_names, features, feature_sources
           FROM feature_store WHERE game_date = ? AND feature_version = ?"""
    args: list[Any] = [d, version]
    if player is not None:
        q += " AND player_id = ?"
        args.append(player)
    cur = con.execute(q + " ORDER BY game_id, player_id", args)
    cols = [d[0] for d in cur.description]
    records = [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]  # lists keep NULL as None
    if as_json:
        recs = []
        for r in records:
            feats = {n: {"value": v, "source": s} for n, v, s in
                     zip(r.pop("feature_names"), r.pop("features"), r.pop("feature_sources"), strict=True)}
            r["game_date"] = str(r["game_date"])[:10]
            r["features"] = feats
            recs.append(r)
        _emit(recs)
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


models_app = typer.Typer(help="The model registry: list, promote, roll back.", invoke_without_command=True)
app.add_typer(models_app, name="models")


@app.command()
def train(
    until: Annotated[str, typer.Option("--until", help="train on games strictly before this date")],
    since: Annotated[str | None, typer.Option("--since", help="first date of the training window")] = None,
    promote_model: Annotated[bool, typer.Option("--promote", help="serve the new model set now")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Train every system on data strictly before --until and save a model set to the registry."""
    from nbaprops.models.registry import promote
    from nbaprops.models.training import train_models

    s = settings()
    con = _connect()
    with _progress() as prog:
        task = prog.add_task("train", total=1)
        manifest = train_models(con, s.model_path, _date(until), since=_date(since) if since else None,
                                thread_count=s.threads,
                                progress=lambda d, a, b: prog.update(task, description=d, completed=a, total=b))
    if promote_model and manifest["served"] != manifest["model_set"]:
        promote(s.model_path, manifest["model_set"])
        manifest["served"] = manifest["model_set"]
    if as_json:
        _emit(manifest)
        return
    t = Table(title=f"model set {manifest['model_set']} (trained until {manifest['trained_until']}, "
                    f"{manifest['train_rows']:,} rows)")
    for c in ("system", "val rows", "val MAE", "MAE on line rows", "line MAE same rows"):
        t.add_column(c)
    for sid, v in manifest["validation"].items():
        t.add_row(sid, f"{v['rows']:,}", f"{v['mae']:.3f}", f"{v['mae_line_rows']:.3f}",
                  f"{v['line_mae_same_rows']:.3f}")
    out.print(t)
    served = manifest["served"]
    out.print(f"served: {served}" + ("" if served == manifest["model_set"] else
                                     f"  (run `nbaprops models promote {manifest['model_set']}` to serve the new one)"))


@models_app.callback()
def models_list(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the model sets in the registry (the served one is marked)."""
    if ctx.invoked_subcommand:
        return
    from nbaprops.models.registry import list_model_sets

    sets = list_model_sets(settings().model_path)
    if as_json:
        _emit(sets)
        return
    t = Table(title=f"model registry {settings().model_path}")
    for c in ("model set", "served", "trained until", "features", "train rows", "catboost val MAE"):
        t.add_column(c)
    for m in sets:
        t.add_row(m["model_set"], "*" if m["served"] else "", str(m["trained_until"]), str(m["feature_version"]),
                  f"{m['train_rows']:,}", f"{m['validation'].get('catboost', {}).get('mae', float('nan')):.3f}")
    out.print(t)


@models_app.command("promote")
def models_promote(model_set: Annotated[str, typer.Argument(help="model set to serve")]) -> None:
    """Pin a model set as the one that serves predictions."""
    from nbaprops.models.registry import promote

    data = promote(settings().model_path, model_set)
    out.print(f"serving {data['current']}")


@models_app.command("rollback")
def models_rollback() -> None:
    """Serve the previously served model set again."""
    from nbaprops.models.registry import rollback

    data = rollback(settings().model_path)
    out.print(f"serving {data['current']}")


@app.command()
def predict(
    date: Annotated[str | None, typer.Option("--date", help="game date (YYYY-MM-DD, today, tomorrow)")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="first date of a range")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="last date of a range")] = None,
    min_minutes: Annotated[float, typer.Option("--min-minutes", help="recent minutes for a player without a line")] = 15.0,
    force: Annotated[bool, typer.Option("--force", help="supersede a running batch for the date")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, help="worker processes")] = 1,
    allow_fallback: Annotated[bool, typer.Option("--allow-fallback",
                                                 help="without a usable model, store flagged fallback rows")] = False,
    queue_backend: Annotated[str, typer.Option("--queue", envvar="NBAPROPS_QUEUE",
                                               help="auto | inline | process | redis (units go to `nbaprops worker`)")
                             ] = "auto",
    redis_url: Annotated[str | None, typer.Option("--redis-url", envvar="NBAPROPS_REDIS_URL",
                                                  help="broker for --queue redis")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Predict every expected player of a date (or a range) with every system; replaces, never appends."""
    from nbaprops.predict.coordinator import start_batch
    from nbaprops.predict.queues import make_queue

    if date and (date_from or date_to):
        raise typer.BadParameter("give --date or --from/--to, not both")
    if not date and not (date_from and date_to):
        raise typer.BadParameter("give --date D or --from D1 --to D2")
    con = _connect()
    if date:
        dates = [_date(date)]
    else:
        lo, hi = _date(date_from or ""), _date(date_to or "")
        dates = [r[0] for r in con.execute(
            "SELECT DISTINCT game_date FROM games WHERE game_date BETWEEN ? AND ? ORDER BY 1", [lo, hi]).fetchall()]
    results = []
    with _progress() as prog:
        task = prog.add_task("predict", total=len(dates))
        for i, d in enumerate(dates):
            prog.update(task, description=f"predict {d}", completed=i)
            # one queue per batch (start_batch closes it); "auto" keeps the inline / process-pool default
            q = None if queue_backend == "auto" else make_queue(workers, queue_backend, redis_url=redis_url)
            results.append(start_batch(con, settings(), d, min_minutes=min_minutes, force=force, workers=workers,
                                       allow_fallback=allow_fallback, queue=q).as_dict())
        prog.update(task, completed=len(dates))
    if as_json:
        _emit(results if len(results) != 1 else results[0])
        return
    t = Table(title="prediction batches")
    for c in ("date", "batch", "status", "players", "rows", "skipped", "quarantined lines", "seconds"):
        t.add_column(c)
    for r in results:
        t.add_row(r["game_date"], r["batch_id"], r["status"], str(r["expected_players"]), str(r["rows"]),
                  str(r["skipped_players"]), str(r["quarantined_lines"]), f"{r['seconds']:.2f}")
    out.print(t)
    for r in results:
        for sid, err in r["system_failures"].items():
            console.print(f"[yellow]{r['game_date']} system {sid} stopped by its circuit breaker:[/] {err}")


@app.command()
def grade(
    date: Annotated[str | None, typer.Option("--date", help="game date to grade")] = None,
    date_from: Annotated[str | None, typer.Option("--from")] = None,
    date_to: Annotated[str | None, typer.Option("--to")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Grade stored predictions against box scores (only real, validated lines are bets)."""
    from nbaprops.evaluate.grade import grade_dates, load_graded
    from nbaprops.evaluate.metrics import betting_metrics, points_metrics

    if date:
        lo = hi = _date(date)
    elif date_from and date_to:
        lo, hi = _date(date_from), _date(date_to)
    else:
        raise typer.BadParameter("give --date D or --from D1 --to D2")
    con = _connect()
    n = grade_dates(con, lo, hi, require=True)
    g = load_graded(con, lo, hi)
    pm = points_metrics(g)
    bm = betting_metrics(g, n_boot=500)
    if as_json:
        _emit({"graded_rows": n, "points": pm.to_dict("records"), "betting": bm.to_dict("records")})
        return
    t = Table(title=f"graded {n:,} predictions {lo}..{hi}")
    for c in ("system", "MAE (line rows)", "line MAE same rows", "bets", "hit rate", "ROI"):
        t.add_column(c)
    for p_row, b_row in zip(pm.to_dict("records"), bm.to_dict("records"), strict=True):
        t.add_row(p_row["system_id"], f"{p_row['mae_line']:.3f} (n={p_row['n_line']})", f"{p_row['line_mae']:.3f}",
                  str(b_row["bets"]), f"{b_row['hit_rate']:.1%}" if b_row["bets"] else "-",
                  f"{b_row['roi']:+.1%}" if b_row["bets"] else "-")
    out.print(t)


@app.command()
def backtest(
    date_from: Annotated[str, typer.Option("--from", help="first date")],
    date_to: Annotated[str, typer.Option("--to", help="last date")],
    retrain_every: Annotated[str, typer.Option("--retrain-every", help="block length, e.g. 7d")] = "7d",
    lines: Annotated[list[Path] | None, typer.Option("--lines", help="Odds API flattened file(s) to import first")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="write report.md, metrics.json, plots here")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1)] = 1,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Walk-forward: for each block train only on earlier games, predict the block, grade, roll forward."""
    from nbaprops.evaluate.backtest import import_lines, run_backtest
    from nbaprops.evaluate.metrics import summarize
    from nbaprops.evaluate.report import write_report

    text = retrain_every.strip().lower().rstrip("d")
    if not text.isdigit() or int(text) < 1:
        raise typer.BadParameter(f"--retrain-every {retrain_every!r}: use a number of days such as 7d")
    lo, hi = _date(date_from), _date(date_to)
    if hi < lo:
        raise typer.BadParameter("--to is before --from")
    con = _connect()
    imported = {str(p): import_lines(con, settings(), p) for p in (lines or [])}
    with _progress() as prog:
        task = prog.add_task("backtest", total=1)
        res = run_backtest(con, settings(), lo, hi, retrain_every_days=int(text), workers=workers,
                           progress=lambda d, a, b: prog.update(task, description=d, completed=a, total=max(b, 1)))
    graded = res.pop("graded")
    cmd = " ".join(["nbaprops", *sys.argv[1:]]) if sys.argv[0].endswith("nbaprops") else \
        f"nbaprops backtest --from {lo} --to {hi} --retrain-every {retrain_every}"
    if report is not None:
        info = write_report(graded, report, title=f"nbaprops walk-forward backtest {lo} to {hi}",
                            period=f"{lo} to {hi}, retrained every {int(text)} days", command=cmd)
        headline = info["headline"]
        res["report"] = {"report_md": info["report_md"], "metrics_json": info["metrics_json"],
                         "alarms": info["alarms"], "edge_demonstrated": info["edge_demonstrated"]}
    else:
        summary = summarize(graded, n_boot=500)
        headline = summary
    res["imported_lines"] = imported
    if as_json:
        _emit({**res, "headline": headline})
        return
    from nbaprops.evaluate.metrics import betting_metrics, points_metrics, probability_metrics

    pm, bm = points_metrics(graded), betting_metrics(graded, n_boot=500)
    prm = probability_metrics(graded)
    t = Table(title=f"walk-forward {lo}..{hi}: {res['dates']} slates, {len(res['blocks'])} retrains, {res['seconds']}s")
    for c in ("system", "MAE line rows", "line MAE", "diff", "Brier", "market Brier", "bets", "hit rate", "ROI [95% CI]"):
        t.add_column(c)
    prm_by = {r["system_id"]: r for r in prm.to_dict("records")}
    for p_row, b_row in zip(pm.to_dict("records"), bm.to_dict("records"), strict=True):
        pr = prm_by.get(p_row["system_id"], {})
        t.add_row(p_row["system_id"], f"{p_row['mae_line']:.3f}", f"{p_row['line_mae']:.3f}",
                  f"{p_row['mae_minus_line']:+.3f}", f"{pr.get('brier_model', float('nan')):.4f}",
                  f"{pr.get('brier_market', float('nan')):.4f}", str(b_row["bets"]),
                  f"{b_row['hit_rate']:.1%}" if b_row["bets"] else "-",
                  f"{b_row['roi']:+.1%} [{b_row['roi_ci_low']:+.1%}, {b_row['roi_ci_high']:+.1%}]" if b_row["bets"] else "-")
    out.print(t)
    out.print("break-even at -110: 52.38%")
    if report is not None:
        out.print(f"report: {res['report']['report_md']}")
        for a in res["report"]["alarms"]:
            console.print(f"[red]alarm:[/] {a}")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", envvar="NBAPROPS_HOST", help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", envvar="NBAPROPS_PORT", help="port")] = 8000,
) -> None:
    """Serve the REST API and dashboard (X-API-Key from NBAPROPS_API_KEY guards state changes)."""
    from nbaprops.api.app import serve as run_server

    run_server(settings(), host=host, port=port)


@app.command()
def version(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Print package, schema and feature versions, and the served model set with each system's version."""
    from nbaprops.pipeline.runner import versions

    try:
        s: Settings | None = settings()
    except NbapropsError:
        s = None     # invalid settings: still print what the package knows
    info = versions(s)
    if as_json:
        _emit(info)
        return
    out.print(f"nbaprops {info['package']}  schema {info['schema']}  features {', '.join(info['feature_versions'])}")
    out.print(f"served model set {info['model_set'] or '(none)'}  (features {info['model_feature_version'] or '-'})")
    for sid, mv in info["model_versions"].items():
        out.print(f"  {sid}: {mv}")
    if info.get("model_error"):
        console.print(f"[yellow]models:[/] {info['model_error']}")


def _register_groups() -> None:
    from nbaprops.cli import monitor, ops, worker

    for group in (monitor, ops, worker):
        group.register(app)


_register_groups()


def main() -> None:
    """Console entry point: typed errors become one clear line and exit code 1."""
    try:
        app()
    except NbapropsError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(1)


if __name__ == "__main__":
    main()
