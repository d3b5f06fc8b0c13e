"""The FastAPI app: liveness, readiness, starting a prediction batch, batches, predictions and the dashboard.

    GET  /health            liveness (no warehouse, no models)
    GET  /ready             warehouse answers + served model set verified and loaded (503 with reasons)
    POST /start             X-API-Key; 202 {batch_id} with the batch running in the background; 409 on a
                            live batch of the date (force=true supersedes)
    GET  /batches/{id}      one prediction_batches row
    POST /jobs              X-API-Key; run one `nbaprops` command in this server (the CLI does this while a
                            server owns the warehouse); GET /jobs/{id} its status, exit code and output
    GET  /predictions       ?date=YYYY-MM-DD[&system=][&market=][&recommendation=][&limit=][&offset=]
                            (market: a name or key of docs/markets.md, or all; default every market)
    GET  /openapi.json, /docs (Swagger UI), /redoc    the UIs' scripts and styles are served from
                            /static/docs/ out of the installed ``fastapi-offline`` package (no CDN)
    GET  /, /slate, /board, /player/{id}, /performance, /pipeline   the HTML dashboard (read-only; see
                            :mod:`nbaprops.api.dashboard`)
    GET  /exports/{date}/{document}.json   the export documents (docs/exports/)

Error bodies for callers without a valid X-API-Key carry no server path and no process id: the
configured warehouse and model paths become ``<warehouse>`` / ``<models>``, any other absolute path
``<path>``, PIDs and ``host:pid`` owner ids ``<pid>`` / ``<owner>`` (the full message is logged).

Input limits: request bodies over 64 KiB are refused with 413 and query strings over 4 KiB with 414
before any handler runs; every parameter has a type, a range or a length limit.

One DuckDB connection per app (DuckDB admits one writing process), and a fresh cursor per request
and per background batch: each cursor has its own transaction, so readers see the last committed
predictions while a batch writes and consolidates, and neither waits for the other.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, cast

import duckdb
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response, Security
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import APIKeyHeader
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nbaprops._version import __version__
from nbaprops.api import dashboard
from nbaprops.api.cache import ResponseCache, ResponseCacheMiddleware
from nbaprops.api.jobs import JobQueue, JobRunner
from nbaprops.api.models import (
    BatchResponse,
    BookQuotesPage,
    ErrorResponse,
    FieldError,
    GameDate,
    HealthResponse,
    JobAccepted,
    JobRequest,
    JobResponse,
    MarketParam,
    ModelInfo,
    PlayerMarket,
    PredictionRow,
    PredictionsPage,
    ReadyResponse,
    Recommendation,
    StartRequest,
    StartResponse,
    SystemId,
    ValidationErrorResponse,
    row_dict,
)
from nbaprops.config import Settings, load_settings
from nbaprops.errors import (
    BatchConflictError,
    InputError,
    LockError,
    ModelError,
    NbapropsError,
    PhaseGateError,
    SettingsError,
    SourceError,
    WarehouseError,
)
from nbaprops.features.definitions import FEATURE_VERSION
from nbaprops.leases import announce_server, withdraw_server
from nbaprops.project import Project

__all__ = ["ApiState", "create_app", "redact", "serve", "status_for"]

log = logging.getLogger("nbaprops.api")

MAX_LIMIT = 5000
DEFAULT_LIMIT = 500
#: Largest ``offset`` of /predictions (a date has a few thousand rows; far beyond is a client bug).
MAX_OFFSET = 1_000_000
#: Largest request body (POST /start takes a few dozen bytes).
MAX_BODY_BYTES = 64 * 1024
#: Longest query string.
MAX_QUERY_BYTES = 4096


class ApiState:
    """What one app holds: its :class:`~nbaprops.project.Project` (settings, the single warehouse
    connection, the model probe) and the launcher of background batches.

    The connection is opened lazily (and re-tried on the next request after a failure) so that
    ``/health`` answers and ``/ready`` can say why even when the warehouse cannot be opened, e.g.
    while another process holds its write lock.

    Args:
        settings: Application settings.
        con: An already open warehouse connection to use instead of opening ``settings.db``
            (it is then not closed on shutdown).
        claim_timeout_s: See :class:`nbaprops.predict.launcher.BatchLauncher`.
        workers: ``start_batch`` workers per batch.
    """

    def __init__(self, settings: Settings, *, con: duckdb.DuckDBPyConnection | None = None,
                 claim_timeout_s: float = 30.0, workers: int = 1, job_runner: JobRunner | None = None) -> None:
        self.settings = settings
        self.project = Project(settings, connection=con)
        self.launcher = self.project.launcher(claim_timeout_s=claim_timeout_s, workers=workers)
        self.jobs = JobQueue(self, job_runner)
        #: responses of completed batches (GET /predictions, /slate), see :mod:`nbaprops.api.cache`
        self.cache = ResponseCache(self.project.batch_version)

    def connection(self) -> duckdb.DuckDBPyConnection:
        """The app's warehouse connection, opened (and migrated) on first use.

        Raises:
            WarehouseError: The warehouse cannot be opened.
        """
        return self.project.con

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor (own transaction context) on the app's connection."""
        return self.connection().cursor()

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Wait for background batches, then close the connection if this app opened it.

        Args:
            timeout_s: How long to wait for running batches.
        """
        if not self.launcher.join(timeout_s):
            log.warning("shutting down with prediction batches still running for %s; they are left to "
                        "the coordinator's stale-batch detection", self.launcher.running())
            return
        self.project.close()

    def scrub(self, text: str) -> str:
        """Remove the API key from a message (defence in depth: no error body carries a secret)."""
        key = self.settings.api_key.get_secret_value() if self.settings.api_key is not None else ""
        return text.replace(key, "***") if key else text

    def trusted(self, request: Request) -> bool:
        """Whether the request carries the configured X-API-Key (its error bodies may name paths)."""
        expected = self.settings.api_key.get_secret_value() if self.settings.api_key is not None else ""
        got = request.headers.get("x-api-key")
        return bool(expected) and got is not None and secrets.compare_digest(got.encode("utf-8"),
                                                                             expected.encode("utf-8"))

    def public(self, text: str, request: Request) -> str:
        """A message as the caller may see it: the API key scrubbed always; server paths and process ids
        too unless the caller is :meth:`trusted`."""
        text = self.scrub(text)
        return text if self.trusted(request) else redact(text, self._known_paths())

    def _known_paths(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for path, label in ((self.settings.db, "<warehouse>"), (self.settings.model_path, "<models>")):
            forms = {str(Path(path).resolve())} | ({str(path)} if Path(path).is_absolute() else set())
            out += [(form, label) for form in forms if form != "/"]   # absolute forms only: "models" is a word too
        return sorted(out, key=lambda x: -len(x[0]))   # longest first: the db may sit inside the models dir


#: An absolute path (POSIX, or a Windows drive path) not glued to a word before it.
_ABS_PATH = re.compile(r"""(?<![\w.~<>/-])(?:[A-Za-z]:)?[\\/][^\s'"`()\[\]{}<>,;:|]*""")
#: A process id: "(PID 123)", "pid 123", "PID=123".
_PID = re.compile(r"\b(?:PID|pid)[ =:]*\d+")
#: An owner id ``host:pid`` after "@" (a run id) or "owner ".
_OWNER = re.compile(r"(?<=@)[\w.-]+:\d+|(?<=owner )[\w.-]+:\d+")


def redact(text: str, known: Sequence[tuple[str, str]] = ()) -> str:
    """``text`` without server paths and process ids.

    Args:
        text: A message.
        known: (path, label) pairs replaced first (e.g. the configured warehouse and model directory,
            so ``<models>/ms-1/catboost/model.cbm`` still says which file).

    Returns:
        The message with every other absolute path as ``<path>``, PIDs as ``<pid>`` and ``host:pid``
        owner ids as ``<owner>``.
    """
    for path, label in known:
        text = text.replace(path, label)
    text = _OWNER.sub("<owner>", text)
    text = _PID.sub("pid <pid>", text)
    return _ABS_PATH.sub(lambda m: "<path>" if len(m.group(0)) > 1 else m.group(0), text)


# ------------------------------------------------------------------------------------------ dependencies
def _state(request: Request) -> ApiState:
    return cast(ApiState, request.app.state.nbaprops)


StateDep = Annotated[ApiState, Depends(_state)]



_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKey",
                               description="required by state-changing endpoints (settings: NBAPROPS_API_KEY)")
ApiKeyHeader = Annotated[str | None, Security(_api_key_header)]


def require_api_key(state: StateDep, key: ApiKeyHeader) -> None:
    """Allow the request only with the configured X-API-Key.

    Raises:
        HTTPException: 503 when no key is configured (never open by default), 401 when the header
            is missing or wrong.
    """
    expected = state.settings.api_key.get_secret_value() if state.settings.api_key is not None else ""
    if not expected:
        raise HTTPException(503, "state-changing endpoints are disabled: set NBAPROPS_API_KEY")
    if key is None or not secrets.compare_digest(key.encode("utf-8"), expected.encode("utf-8")):
        raise HTTPException(401, "missing or wrong X-API-Key header", headers={"WWW-Authenticate": "ApiKey"})


# ------------------------------------------------------------------------------------------ routes
router = APIRouter()
_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ValidationErrorResponse, "description": "invalid request"},
    500: {"model": ErrorResponse, "description": "internal error"},
    503: {"model": ErrorResponse, "description": "warehouse unavailable"},
}


@router.get("/health", response_model=HealthResponse, tags=["status"])
async def health() -> HealthResponse:
    """Liveness: the process answers. Touches neither the warehouse nor the models, and runs on the
    event loop (never queued behind data requests in the thread pool)."""
    return HealthResponse(version=__version__)


@router.get("/ready", response_model=ReadyResponse, tags=["status"],
            responses={503: {"model": ReadyResponse, "description": "not ready; `reasons` says why"}})
def ready(state: StateDep, request: Request) -> JSONResponse:
    """Readiness: 200 when the warehouse answers and the served model set loads with files matching
    their manifest SHA-256s; 503 with the reasons otherwise (server paths and process ids only for a
    caller with the X-API-Key; the full reasons are logged)."""
    res = state.project.readiness()
    if res.reasons:
        log.warning("not ready: %s", "; ".join(state.scrub(r) for r in res.reasons))
    reasons = [state.public(r, request) for r in res.reasons]
    body = ReadyResponse(status="ready", package_version=__version__, feature_version=FEATURE_VERSION,
                         schema_version=res.schema_version)
    if res.models is not None:
        body.model_set = res.models.model_set
        body.feature_version = res.models.feature_version
        body.trained_until = res.models.trained_until
        body.models = [ModelInfo(system_id=s, model_version=v) for s, v in res.models.model_versions.items()]
    if reasons:
        body.status = "not_ready"
        body.reasons = reasons
    return JSONResponse(body.model_dump(mode="json"), status_code=503 if reasons else 200)


@router.post("/start", status_code=202, response_model=StartResponse, tags=["batches"],
             dependencies=[Depends(require_api_key)],
             responses={**_ERRORS,
                        401: {"model": ErrorResponse, "description": "missing or wrong X-API-Key"},
                        409: {"model": ErrorResponse, "description": "a batch of the date is running"},
                        503: {"model": ErrorResponse,
                              "description": "no API key configured, no usable model or no warehouse"}})
def start(body: StartRequest, state: StateDep, response: Response) -> StartResponse:
    """Start a prediction batch for ``game_date`` in the background.

    Answers 202 once the batch is registered (poll ``batch_url``); 409 when a batch of the date is
    still running unless ``force`` (which supersedes it).
    """
    launched = state.project.launch(body.game_date, min_minutes=body.min_minutes, force=body.force)
    state.cache.invalidate()    # the date's batch is running now: its responses are no longer final
    url = f"/batches/{launched.batch_id}" if launched.batch_id else None
    if url:
        response.headers["Location"] = url
    return StartResponse(batch_id=launched.batch_id, game_date=launched.game_date, status=launched.status,
                         forced=launched.forced, min_minutes=launched.min_minutes, batch_url=url)


jobs_router = APIRouter()


@jobs_router.post("/jobs", status_code=202, response_model=JobAccepted, tags=["jobs"],
             dependencies=[Depends(require_api_key)],
             responses={**_ERRORS, 401: {"model": ErrorResponse, "description": "missing or wrong X-API-Key"},
                        503: {"model": ErrorResponse, "description": "no API key configured"}})
def submit_job(body: JobRequest, state: StateDep, response: Response) -> JobAccepted:
    """Run one ``nbaprops`` command in this server, on its warehouse (what the CLI does while a server
    owns the file). Commands run one at a time, in order; the API keeps answering meanwhile."""
    job_id = state.jobs.submit(body.argv)
    response.headers["Location"] = f"/jobs/{job_id}"
    return JobAccepted(job_id=job_id, job_url=f"/jobs/{job_id}")


@jobs_router.get("/jobs/{job_id}", response_model=JobResponse, tags=["jobs"], dependencies=[Depends(require_api_key)],
            responses={**_ERRORS, 401: {"model": ErrorResponse, "description": "missing or wrong X-API-Key"},
                       404: {"model": ErrorResponse, "description": "unknown job"}})
def get_job(job_id: Annotated[str, PathParam(min_length=1, max_length=64)], state: StateDep) -> JobResponse:
    """A command's status and, once done, its exit code and output."""
    job = state.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id[:64]!r}")
    return job


_BATCH_COLUMNS = tuple(BatchResponse.model_fields)
_PREDICTION_COLUMNS = tuple(PredictionRow.model_fields)


@router.get("/batches/{batch_id}", response_model=BatchResponse, tags=["batches"],
            responses={**_ERRORS, 404: {"model": ErrorResponse, "description": "unknown batch"}})
def get_batch(batch_id: Annotated[str, PathParam(min_length=1, max_length=200)], state: StateDep) -> BatchResponse:
    """One prediction batch: status, progress counters, heartbeat, owner and error."""
    row = state.project.batch(batch_id, _BATCH_COLUMNS)
    if row is None:
        raise HTTPException(404, f"no prediction batch {batch_id[:80]!r}")
    return BatchResponse(**row_dict(list(row), tuple(row.values())))


@router.get("/predictions", response_model=PredictionsPage, tags=["predictions"], responses=_ERRORS)
def predictions(
    date: Annotated[GameDate, Query(description="game date, YYYY-MM-DD")],
    state: StateDep,
    system: Annotated[SystemId | None, Query(description="only this system")] = None,
    recommendation: Annotated[Recommendation | None, Query(description="only this recommendation")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")] = 0,
    market: Annotated[MarketParam | None, Query(description="only this market: a name (points, rebounds, pra, "
                                                            "...) or key (player_rebounds) of docs/markets.md, "
                                                            "or all (the default)")] = None,
) -> PredictionsPage:
    """Predictions of one date (the last consolidated batch), optionally filtered, one page at a time.

    Once the date's latest batch is complete the answer carries an ``ETag`` and ``Cache-Control:
    public, no-cache`` and is served from memory; ``If-None-Match`` with the tag gets 304."""
    total, rows = state.project.predictions_page(
        date, _PREDICTION_COLUMNS, system=system.value if system is not None else None,
        recommendation=recommendation.value if recommendation is not None else None, limit=limit, offset=offset,
        market=market)
    items = [PredictionRow(**row_dict(list(r), tuple(r.values()))) for r in rows]
    nxt = offset + len(items)
    return PredictionsPage(game_date=date, system=system, recommendation=recommendation, market=market, total=total,
                           limit=limit,
                           offset=offset, next_offset=nxt if nxt < total else None, items=items)


@router.get("/predictions/quotes", response_model=BookQuotesPage, tags=["predictions"], responses=_ERRORS)
def prediction_quotes(
    date: Annotated[GameDate, Query(description="game date, YYYY-MM-DD")],
    state: StateDep,
    player_id: Annotated[int | None, Query(ge=1, le=10**12, description="only this player")] = None,
) -> BookQuotesPage:
    """Every book's newest pre-tip points line and prices for each quoted player of a date, the best over
    and under price at the prediction's line (``best_over`` / ``best_under`` on the book), quotes the
    line gates rejected (with the reason, never best), and the consensus with its move since the open."""
    players = state.project.book_quotes(date, player_ids=[player_id] if player_id is not None else None)
    return BookQuotesPage(game_date=date, players=[PlayerMarket(**p) for p in players])


# ------------------------------------------------------------------------------------------ errors
def status_for(exc: NbapropsError) -> int:
    """The HTTP status of an nbaprops error.

    Args:
        exc: The error.

    Returns:
        409 for a running batch and incomplete inputs, 4xx for bad input, 502 for upstream failures,
        503 for a missing model or an unavailable warehouse (including one locked by another
        process: the LockError ``connect`` raises), else 500.
    """
    table: tuple[tuple[type[NbapropsError], int], ...] = (
        (BatchConflictError, 409), (LockError, 503), (PhaseGateError, 409),
        (InputError, 400),
        (ModelError, 503), (WarehouseError, 503),
        (SourceError, 502), (SettingsError, 500),
    )
    for cls, code in table:
        if isinstance(exc, cls):
            return code
    return 500


def _is_page(request: Request) -> bool:
    """Whether the request is for a dashboard page (errors are then rendered as HTML)."""
    return dashboard.is_page(request.url.path)


def _install_error_handlers(app: FastAPI, state: ApiState) -> None:
    async def nbaprops_error(request: Request, exc: Exception) -> Response:
        err = cast(NbapropsError, exc)
        code = status_for(err)
        log.log(logging.ERROR if code >= 500 else logging.INFO, "%s %s -> %d %s: %s", request.method,
                request.url.path, code, type(err).__name__, err)
        detail = state.public(str(err), request)
        if _is_page(request):
            return dashboard.render_error(code, "The warehouse cannot answer" if code == 503 else "Error", detail)
        return JSONResponse(ErrorResponse(detail=detail).model_dump(), status_code=code)

    async def validation_error(request: Request, exc: Exception) -> Response:
        errors = [FieldError(loc=".".join(str(p) for p in e.get("loc", ())),
                             msg=str(e.get("msg", "invalid")).removeprefix("Value error, "),
                             type=str(e.get("type", "value_error")))
                  for e in cast(RequestValidationError, exc).errors()]
        summary = "; ".join(f"{e.loc}: {e.msg}" for e in errors) or "invalid request"
        if _is_page(request):
            return dashboard.render_error(422, "Invalid filter", "Some query parameters are not valid.",
                                          [state.scrub(f"{e.loc.removeprefix('query.')}: {e.msg}") for e in errors])
        body = ValidationErrorResponse(detail=state.scrub(f"invalid request: {summary}"), errors=errors)
        return JSONResponse(body.model_dump(), status_code=422)

    app.add_exception_handler(NbapropsError, nbaprops_error)
    app.add_exception_handler(RequestValidationError, validation_error)


class _InternalErrorMiddleware:
    """Turn any unhandled exception into ``500 {"detail": "internal error"}`` and log it.

    The traceback goes to the log only; the body never carries it (nor any message that could hold
    a secret or a path).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = JSONResponse(ErrorResponse(detail="internal error").model_dump(), status_code=500)
            await response(scope, receive, send)


class _LimitsMiddleware:
    """Refuse oversized requests before any handler runs: 414 for a query string over
    :data:`MAX_QUERY_BYTES`, 413 for a body over :data:`MAX_BODY_BYTES`.

    The body is read here (it is small by construction) and replayed to the app, so a chunked body
    without ``Content-Length`` is bounded too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > MAX_QUERY_BYTES:
            await _refuse(scope, receive, send, 414, f"query string longer than {MAX_QUERY_BYTES} bytes")
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _refuse(scope, receive, send, 400, "invalid Content-Length header")
                return
            if size > MAX_BODY_BYTES:
                await _refuse(scope, receive, send, 413, f"request body larger than {MAX_BODY_BYTES} bytes")
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body = message.get("body", b"")
            size += len(body)
            if size > MAX_BODY_BYTES:
                await _refuse(scope, receive, send, 413, f"request body larger than {MAX_BODY_BYTES} bytes")
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, code: int, detail: str) -> None:
    await JSONResponse(ErrorResponse(detail=detail).model_dump(), status_code=code)(scope, receive, send)


# ------------------------------------------------------------------------------------------ docs
#: Where the API docs' scripts, styles and icon are served (from the ``fastapi-offline`` package).
DOCS_STATIC_PATH = "/static/docs"


def _install_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` with every asset served by this app.

    FastAPI's own pages load Swagger UI and ReDoc from a CDN (and a favicon from fastapi's site);
    these load the copies bundled in ``fastapi-offline`` (MIT; Swagger UI is Apache-2.0, ReDoc MIT)
    from :data:`DOCS_STATIC_PATH`, so the docs work offline and call no third party.
    """
    app.mount(DOCS_STATIC_PATH, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-static")
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(openapi_url=f"{root}{openapi_url}", title=f"{app.title} - Swagger UI",
                                   oauth2_redirect_url=f"{root}{oauth2_redirect}",
                                   swagger_js_url=f"{root}{DOCS_STATIC_PATH}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{root}{DOCS_STATIC_PATH}/swagger-ui.css",
                                   swagger_favicon_url=f"{root}{DOCS_STATIC_PATH}/favicon.png",
                                   swagger_ui_parameters=app.swagger_ui_parameters)

    @app.get(oauth2_redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(openapi_url=f"{root}{openapi_url}", title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{root}{DOCS_STATIC_PATH}/redoc.standalone.js",
                              redoc_favicon_url=f"{root}{DOCS_STATIC_PATH}/favicon.png", with_google_fonts=False)


# ------------------------------------------------------------------------------------------ app
def create_app(settings: Settings | None = None, *, con: duckdb.DuckDBPyConnection | None = None,
               claim_timeout_s: float = 30.0, workers: int = 1, job_runner: JobRunner | None = None,
               announce_url: str | None = None) -> FastAPI:
    """Build the API app.

    Args:
        settings: Application settings (default: :func:`nbaprops.config.load_settings`).
        con: An open warehouse connection to share (default: open ``settings.db`` on first use).
        claim_timeout_s: How long POST /start waits for the batch to be registered.
        workers: ``start_batch`` workers per batch.
        job_runner: runs CLI commands for ``POST /jobs`` (``nbaprops serve`` passes
            :func:`nbaprops.cli.jobs.run_argv`); None: no ``/jobs`` routes.
        announce_url: while the app runs, announce next to the warehouse that it is served at this URL
            (the CLI then hands its commands to the server instead of failing on the file lock).

    Returns:
        The FastAPI application (OpenAPI at ``/openapi.json``, docs at ``/docs``).
    """
    settings = settings or load_settings()
    state = ApiState(settings, con=con, claim_timeout_s=claim_timeout_s, workers=workers, job_runner=job_runner)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if announce_url is not None:
            try:
                announce_server(settings.db, announce_url)
            except OSError as exc:   # serve anyway; CLI commands then meet the file lock instead
                log.warning("cannot announce the server beside the warehouse: %s", exc)
        try:
            yield
        finally:
            if announce_url is not None:
                with contextlib.suppress(OSError):
                    withdraw_server(settings.db)
            await run_in_threadpool(state.shutdown)

    app = FastAPI(
        title="nbaprops",
        version=__version__,
        summary="Point-in-time NBA player points predictions against real sportsbook lines.",
        lifespan=lifespan,
        docs_url=None,      # replaced by _install_docs: the same pages without a CDN
        redoc_url=None,
    )
    app.state.nbaprops = state
    app.include_router(router)
    if job_runner is not None:
        app.include_router(jobs_router)
    app.include_router(dashboard.router)
    _install_docs(app)
    _install_error_handlers(app, state)
    app.add_middleware(ResponseCacheMiddleware, cache=state.cache)
    app.add_middleware(_InternalErrorMiddleware)
    app.add_middleware(_LimitsMiddleware)  # outermost: nothing runs for an oversized request
    return app


def serve(settings: Settings | None = None, host: str = "127.0.0.1", port: int = 8000, *,
          log_level: str = "info", job_runner: JobRunner | None = None) -> None:
    """Run the API with uvicorn in this process (one process: DuckDB admits a single writer).

    Args:
        settings: Application settings (default: :func:`nbaprops.config.load_settings`).
        host: Interface to bind (loopback by default; put a TLS proxy in front to expose it).
        port: TCP port.
        log_level: uvicorn log level.
        job_runner: runs CLI commands sent to ``POST /jobs`` (see :func:`create_app`).
    """
    import uvicorn

    settings = settings or load_settings()
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    app = create_app(settings, job_runner=job_runner, announce_url=f"http://{local}:{port}")
    uvicorn.run(app, host=host, port=port, log_level=log_level)
