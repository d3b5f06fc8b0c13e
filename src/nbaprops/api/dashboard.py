"""The dashboard: server-rendered HTML pages over the warehouse (read-only, no API key).

    GET /                      -> 307 /slate
    GET /slate                 ?date=&system=&recommendation=&sort=&order=&market=   (market: a name or key
                               of docs/markets.md, or all; default points)
    GET /performance           ?system=&date_from=&date_to=&market=   (the figures of one market, default
                               points, and a per-(market, system) table of every graded market)
    GET /pipeline              ?phase=&status=&date=&limit=
    GET /player/{player_id}    ?date=&market=&system=   the player prop page (linked from every slate row)
    GET /board                 ?date=&system=&team=&game=&market=&recommendation=&min_ev=&sort=&order=
                               the prop board: one card per quoted player, every market
    GET /exports/{date}/{document}.json   ?market=   an export document (games, players, predictions,
                               best_bets, streaks; schemas in docs/exports/); market: one market's rows
    GET /static/plotly.min.js  plotly.js from the installed ``plotly`` package (no CDN)

Filtering and sorting happen on the server through query parameters, so every table works without
JavaScript (forms use GET; column headers are links). Charts are plotly figures rendered by the
served plotly.js; the same numbers are always printed in a table beside them. Templates live in
``nbaprops/api/templates`` and are loaded with Jinja2's ``PackageLoader``, so they ship in the wheel.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from nbaprops._version import __version__
from nbaprops.api import charts
from nbaprops.api.models import GameDate, MarketParam, Recommendation, SystemId, market_key
from nbaprops.markets import POINTS
from nbaprops.project import Project
from nbaprops.queries.board import BOARD_SORTS
from nbaprops.queries.dashboard import (
    PRIMARY_SYSTEM,
    SLATE_SORTS,
)
from nbaprops.queries.exports import DOCUMENTS

__all__ = [
    "DASHBOARD_PATHS",
    "BoardQuery",
    "PlayerQuery",
    "is_page",
    "PLOTLY_JS_PATH",
    "PerformanceQuery",
    "PipelineQuery",
    "SlateQuery",
    "SlateSystem",
    "fmt_american",
    "fmt_dt",
    "fmt_int",
    "fmt_num",
    "fmt_pct",
    "fmt_signed",
    "render_error",
    "router",
    "security_headers",
]

#: Where the app serves plotly.js.
PLOTLY_JS_PATH = "/static/plotly.min.js"
#: Paths answered with HTML (errors on them are rendered as HTML pages too).
DASHBOARD_PATHS = frozenset({"/", "/slate", "/performance", "/pipeline", "/board"})
#: Path prefixes of HTML pages with a path parameter.
DASHBOARD_PREFIXES = ("/player/",)


def is_page(path: str) -> bool:
    """Whether ``path`` is a dashboard page (its errors are rendered as HTML)."""
    return path in DASHBOARD_PATHS or path.startswith(DASHBOARD_PREFIXES)
_DASH = "\u2014"  # shown for a missing value

#: Pages may load scripts and styles from this server only (plotly's figure snippets are inline).
_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def security_headers() -> dict[str, str]:
    """Headers of every dashboard page: no third-party content, no framing, no MIME sniffing."""
    return {"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY", "Cache-Control": "no-store"}


# ------------------------------------------------------------------------------------------ formatting
def _finite(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def fmt_num(x: Any, digits: int = 1) -> str:
    """A number with ``digits`` decimals (``24.5``); an em dash when missing."""
    f = _finite(x)
    return _DASH if f is None else f"{f:.{digits}f}"


def fmt_signed(x: Any, digits: int = 1) -> str:
    """A number with an explicit sign (``+2.3``, ``-0.7``); an em dash when missing."""
    f = _finite(x)
    if f is None:
        return _DASH
    if round(f, digits) == 0:  # no "-0.0"
        f = 0.0
    return f"{f:+.{digits}f}"


def fmt_pct(x: Any, digits: int = 1) -> str:
    """A 0-1 share as a percentage (``57.3%``); an em dash when missing."""
    f = _finite(x)
    return _DASH if f is None else f"{f * 100:.{digits}f}%"


def fmt_int(x: Any) -> str:
    """An integer with thousands separators; an em dash when missing."""
    f = _finite(x)
    return _DASH if f is None else f"{int(round(f)):,}"


def fmt_dt(x: Any) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM UTC`` (naive warehouse timestamps are UTC)."""
    if not isinstance(x, dt.datetime):
        return _DASH if x is None else str(x)
    if x.tzinfo is not None:
        x = x.astimezone(dt.UTC).replace(tzinfo=None)
    return f"{x:%Y-%m-%d %H:%M} UTC"


def fmt_american(x: Any) -> str:
    """American odds with their sign (``+120``, ``-110``); an em dash when missing."""
    f = _finite(x)
    return _DASH if f is None else f"{int(round(f)):+d}"


def _raw(x: Any) -> str:
    """A cell's machine-readable value (``data-value``): full precision, empty when missing."""
    f = _finite(x)
    if f is not None:
        return repr(f)
    return "" if x is None else str(x)


@functools.cache
def _env() -> Environment:
    env = Environment(loader=PackageLoader("nbaprops.api", "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=fmt_num, signed=fmt_signed, pct=fmt_pct, int=fmt_int, when=fmt_dt, raw=_raw,
                       american=fmt_american)
    env.globals.update(version=__version__, plotly_js=PLOTLY_JS_PATH, dash=_DASH)
    return env


def _page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = _env().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=security_headers())


def render_error(status_code: int, title: str, detail: str, errors: list[str] | None = None) -> HTMLResponse:
    """An error page (used by the app's error handlers for dashboard paths).

    Args:
        status_code: HTTP status.
        title: Heading.
        detail: What went wrong (already scrubbed of secrets by the caller).
        errors: Field errors, one line each.

    Returns:
        The HTML response.
    """
    return _page("error.html", status_code, page="error", title=title, detail=detail, errors=errors or [])


# ------------------------------------------------------------------------------------------ query models
class SlateSystem(StrEnum):
    """The slate's system filter: one system, or ``all``."""

    all = "all"
    moving_average = SystemId.moving_average.value
    zone_matchup = SystemId.zone_matchup.value
    similarity = SystemId.similarity.value
    xgboost = SystemId.xgboost.value
    catboost = SystemId.catboost.value
    minutes_ppm = SystemId.minutes_ppm.value
    ensemble = SystemId.ensemble.value


SlateSort = Literal["player", "team", "opponent", "system", "line", "book", "predicted", "p_over", "edge",
                    "confidence", "recommendation", "model"]
_Str = Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class _FormQuery(BaseModel):
    """Query parameters of an HTML form: an empty field means "not set"; unknown parameters are ignored."""

    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v


def _market_choice(value: str | None) -> str | None:
    """A page's ``market`` field: a market's stored key, ``all``, or None (not set: points)."""
    if value is None:
        return None
    if value.strip().lower() == "all":
        return "all"
    key = market_key(value)  # ValueError listing the known names on an unknown one
    return key


#: A page's market selector value: a market's name or key (docs/markets.md) or ``all``.
_MarketChoice = Annotated[str, Field(max_length=64), AfterValidator(_market_choice)]


class SlateQuery(_FormQuery):
    """Filters and sort order of the slate page."""

    date: GameDate | None = Field(default=None, description="slate date, YYYY-MM-DD (default: the newest "
                                                            "date with predictions)")
    system: SlateSystem | None = Field(default=None, description=f"one system or 'all' (default: {PRIMARY_SYSTEM})")
    recommendation: Recommendation | None = Field(default=None, description="only this recommendation")
    sort: SlateSort | None = Field(default=None, description="sort column (default: edge)")
    order: Literal["asc", "desc"] | None = Field(default=None, description="sort direction (default: desc)")
    market: _MarketChoice | None = Field(default=None, description="the market shown: a name or key "
                                                                  "(docs/markets.md) or 'all' (default: points)")


class PerformanceQuery(_FormQuery):
    """Filters of the performance page."""

    system: SystemId | None = Field(default=None, description="only this system (default: all)")
    market: _MarketChoice | None = Field(default=None, description="the market of the figures: a name or key "
                                                                  "(default: points; every market is also in the "
                                                                  "per-market table)")
    date_from: GameDate | None = Field(default=None, description="first date (default: the first graded date)")
    date_to: GameDate | None = Field(default=None, description="last date (default: the last graded date)")


class PipelineQuery(_FormQuery):
    """Filters of the pipeline page."""

    phase: _Str | None = Field(default=None, description="only runs of this phase")
    status: _Str | None = Field(default=None, description="only runs with this status")
    date: GameDate | None = Field(default=None, description="only runs covering this date, and its batches")
    limit: int = Field(default=200, ge=1, le=1000, description="at most this many runs and batches")


_Team = Annotated[str, Field(min_length=2, max_length=4, pattern=r"^[A-Z]+$")]
_GameId = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[0-9]+$")]
_Market = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$")]


class PlayerQuery(_FormQuery):
    """Query of the player page."""

    date: GameDate = Field(description="the date, YYYY-MM-DD")
    market: _Market | None = Field(default=None, description="the market (default: player_points)")
    system: SystemId | None = Field(default=None, description=f"whose distribution is drawn (default: {PRIMARY_SYSTEM})")


class BoardQuery(_FormQuery):
    """Filters and sort order of the board."""

    date: GameDate | None = Field(default=None, description="the date (default: the newest date with predictions)")
    system: SystemId | None = Field(default=None, description=f"whose predictions fill points (default: {PRIMARY_SYSTEM})")
    team: _Team | None = Field(default=None, description="only this team's players")
    game: _GameId | None = Field(default=None, description="only this game")
    market: _Market | None = Field(default=None, description="only players quoted in this market, showing only it")
    recommendation: Recommendation | None = Field(default=None, description="only this points recommendation")
    min_ev: float | None = Field(default=None, ge=-1.0, le=10.0, description="only points EV >= this (per unit)")
    sort: Literal[BOARD_SORTS] | None = Field(default=None, description="sort key (default: ev)")  # type: ignore[valid-type]
    order: Literal["asc", "desc"] | None = Field(default=None, description="sort direction (default: desc)")


# ------------------------------------------------------------------------------------------ routes
router = APIRouter()


def _project(request: Request) -> Project:
    return cast(Project, request.app.state.nbaprops.project)


ProjectDep = Annotated[Project, Depends(_project)]
_HTML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "the page"},
    422: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "invalid query parameters"},
    503: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "warehouse unavailable"},
}


@router.get("/", include_in_schema=False)
def index() -> RedirectResponse:
    """The dashboard starts at the slate."""
    return RedirectResponse("/slate", status_code=307)


@functools.cache
def _plotly_js() -> Path | bytes:
    ref = resources.files("plotly").joinpath("package_data", "plotly.min.js")
    if isinstance(ref, Path) and ref.is_file():
        return ref
    return ref.read_bytes()  # a zipped install: serve the bytes


@router.get(PLOTLY_JS_PATH, include_in_schema=False)
def plotly_js() -> Response:
    """plotly.js as shipped in the installed ``plotly`` Python package."""
    src = _plotly_js()
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    if isinstance(src, Path):
        return FileResponse(src, media_type="text/javascript", headers=headers)
    return Response(src, media_type="text/javascript", headers=headers)


def _url(path: str, **params: Any) -> str:
    clean = {k: str(v) for k, v in params.items() if v is not None and v != ""}
    return f"{path}?{urlencode(clean)}" if clean else path


@router.get("/slate", response_class=HTMLResponse, tags=["dashboard"], responses=_HTML)
def slate_page(query: Annotated[SlateQuery, Query()], project: ProjectDep) -> HTMLResponse:
    """The slate of a date: every prediction with player, team, line, book, P(over), edge and
    recommendation; no-line, quarantined and skipped players with the reason."""
    system_choice = query.system or SlateSystem(PRIMARY_SYSTEM)
    system = None if system_choice is SlateSystem.all else system_choice.value
    sort = query.sort or "edge"
    order = query.order or "desc"
    market_choice = query.market or POINTS.key
    dates, game_date, data = project.slate_page(
        query.date, system=system, recommendation=query.recommendation.value if query.recommendation else None,
        sort=sort, order=order, market=None if market_choice == "all" else market_choice)
    older = [d for d in dates if d < game_date]
    newer = [d for d in dates if d > game_date]
    base = {"date": game_date, "system": system_choice.value,
            "recommendation": query.recommendation.value if query.recommendation else None,
            "market": None if market_choice == POINTS.key else market_choice}

    def sort_url(key: str) -> str:
        # a click on the current column flips the order; a new column starts with the natural order
        if key == sort:
            nxt = "asc" if order == "desc" else "desc"
        else:
            nxt = "asc" if key in ("player", "team", "opponent", "system", "book", "recommendation", "model") else "desc"
        return _url("/slate", **base, sort=key, order=nxt)

    markets = {m["player_id"]: m for m in project.book_quotes(game_date)} if data.rows else {}
    return _page("slate.html", page="slate", title=f"Slate {game_date}", data=data, dates=dates, markets=markets,
                 game_date=game_date, system_choice=system_choice.value, systems=[s.value for s in SlateSystem],
                 recommendations=[r.value for r in Recommendation], sorts=list(SLATE_SORTS), sort=sort, order=order,
                 sort_url=sort_url, market_choice=market_choice,
                 prev_url=_url("/slate", **{**base, "date": older[0]}, sort=sort, order=order) if older else None,
                 next_url=_url("/slate", **{**base, "date": newer[-1]}, sort=sort, order=order) if newer else None,
                 pipeline_url=_url("/pipeline", date=game_date))


@router.get("/performance", response_class=HTMLResponse, tags=["dashboard"], responses=_HTML)
def performance_page(query: Annotated[PerformanceQuery, Query()], project: ProjectDep) -> HTMLResponse:
    """Hit rate and ROI over time against the 52.38% break-even, calibration of P(over), and MAE
    next to the line's MAE by system and by month (charts plus the same numbers as tables)."""
    market_choice = query.market if query.market and query.market != "all" else POINTS.key
    data = project.performance(query.date_from, query.date_to, system=query.system.value if query.system else None,
                               market=market_choice)
    figures: dict[str, str] = {}
    if data.by_system:
        figures = {
            "hit_rate": charts.hit_rate_chart(data.by_date, data.break_even),
            "roi": charts.roi_chart(data.by_date),
            "calibration": charts.calibration_chart(data.calibration),
            "mae": charts.mae_chart(data.by_system),
        }
    return _page("performance.html", page="performance", title="Performance", data=data, figures=figures,
                 systems=[s.value for s in SystemId], system=query.system.value if query.system else None)


@router.get("/pipeline", response_class=HTMLResponse, tags=["dashboard"], responses=_HTML)
def pipeline_page(query: Annotated[PipelineQuery, Query()], project: ProjectDep) -> HTMLResponse:
    """Phase run records per phase and date, prediction batch status, and alerts computed from the
    warehouse (failed or stalled phases and batches, quarantined lines, stopped systems)."""
    data = project.pipeline(phase=query.phase, status=query.status, game_date=query.date, limit=query.limit)
    return _page("pipeline.html", page="pipeline", title="Pipeline", data=data,
                 phases=[p["phase"] for p in data.phases],
                 statuses=["ok", "failed", "blocked", "running"])


@router.get("/player/{player_id}", response_class=HTMLResponse, tags=["dashboard"],
            responses={**_HTML, 404: {"content": {"text/html": {"schema": {"type": "string"}}},
                                      "description": "the player has no game on the date"}})
def player_page(player_id: Annotated[int, PathParam(ge=1, le=10**12)], query: Annotated[PlayerQuery, Query()],
                project: ProjectDep) -> HTMLResponse:
    """One player's prop: the last 20 games against tonight's line, hit rates (last 5/10/20, season,
    against tonight's opponent), minutes, availability and teammates out, every book's line and the
    line's history, and the model's distribution (model-only and blended) with the line and P(over)."""
    system = (query.system or SystemId(PRIMARY_SYSTEM)).value
    day = query.date
    data = project.player_page(player_id, day, market=query.market, system=system)
    if data is None:
        return render_error(404, "No game", f"Player {player_id} has no game on {day}.")
    figures = dict.fromkeys(("games", "minutes", "history", "distribution"), "")   # "" = not drawn
    if data.games:
        figures["games"] = charts.game_log_chart(data.games, data.line, data.market_label)
        figures["minutes"] = charts.minutes_chart(data.games)
    if any(q.get("quoted_at") is not None for q in data.history):
        figures["history"] = charts.line_history_chart(data.history)
    if data.distribution is not None:
        figures["distribution"] = charts.distribution_chart(data.distribution)
    return _page("player.html", page="player", title=f"{data.player_name} {day}", data=data, figures=figures,
                 systems=[s.value for s in SystemId], system=system,
                 slate_url=_url("/slate", date=day), board_url=_url("/board", date=day),
                 market_url=lambda m: _url(f"/player/{player_id}", date=day, market=m, system=query.system))


@router.get("/board", response_class=HTMLResponse, tags=["dashboard"], responses=_HTML)
def board_page(query: Annotated[BoardQuery, Query()], project: ProjectDep) -> HTMLResponse:
    """The prop board: one card per player quoted on the date with every market (line, books, best
    prices, hit-rate chips, streak) and, for points, the model's P(over), EV and recommendation;
    filtered by team, game, market, recommendation and minimum EV, and sorted."""
    system = (query.system or SystemId(PRIMARY_SYSTEM)).value
    sort = query.sort or "ev"
    order = query.order or "desc"
    dates, day, data = project.board(query.date, system=system, team=query.team, game_id=query.game,
                                     market=query.market,
                                     recommendation=query.recommendation.value if query.recommendation else None,
                                     min_ev=query.min_ev, sort=sort, order=order)
    base = {"date": day, "system": query.system.value if query.system else None, "team": query.team,
            "game": query.game, "market": query.market,
            "recommendation": query.recommendation.value if query.recommendation else None, "min_ev": query.min_ev}
    return _page("board.html", page="board", title=f"Board {day}", data=data, dates=dates, game_date=day,
                 systems=[s.value for s in SystemId], system=system, sorts=list(BOARD_SORTS), sort=sort, order=order,
                 recommendations=[r.value for r in Recommendation],
                 sort_url=lambda key: _url("/board", **base, sort=key,
                                           order=("asc" if order == "desc" else "desc") if key == sort
                                           else ("asc" if key in ("player", "team", "game") else "desc")),
                 player_url=lambda pid, market=None: _url(f"/player/{pid}", date=day, market=market),
                 slate_url=_url("/slate", date=day))


@router.get("/exports/{game_date}/{document}.json", tags=["exports"],
            responses={200: {"description": "the document (schema: docs/exports/<document>.schema.json)"},
                       404: {"description": "unknown document"}})
def export_document(game_date: Annotated[GameDate, PathParam(description="YYYY-MM-DD")],
                    document: Annotated[str, PathParam(max_length=32, pattern=r"^[a-z_]+$")],
                    project: ProjectDep,
                    market: Annotated[MarketParam | None,
                                      Query(description="only this market's predictions, best bets and streaks: a "
                                                        "name or key (docs/markets.md) or all (the default)")] = None,
                    ) -> JSONResponse:
    """One export document of a date, as ``nbaprops export --format json`` writes it."""
    if document not in DOCUMENTS:
        raise HTTPException(404, f"unknown export document {document!r}; known: {', '.join(DOCUMENTS)}")
    doc = project.export_documents(game_date, only=document, market=market)[document]
    return JSONResponse(doc.model_dump(mode="json"), headers={"Cache-Control": "no-store",
                                                               "X-Content-Type-Options": "nosniff"})
