"""Request and response models of the REST API (one per endpoint, all in the OpenAPI schema)."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
)

from nbaprops.errors import InputError
from nbaprops.markets import MARKETS, get_market

__all__ = [
    "BatchResponse",
    "BookQuote",
    "BookQuotesPage",
    "ErrorResponse",
    "FieldError",
    "GameDate",
    "HealthResponse",
    "MarketParam",
    "ModelInfo",
    "PredictionRow",
    "PlayerMarket",
    "PredictionsPage",
    "ReadyResponse",
    "Recommendation",
    "StartRequest",
    "StartResponse",
    "SystemId",
    "ValidationErrorResponse",
    "market_key",
    "parse_game_date",
    "row_dict",
]

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_game_date(value: object) -> object:
    """Accept only ``YYYY-MM-DD`` strings (or date objects) as a game date.

    Pydantic's lax date parsing would also take Unix timestamps and datetimes; a game date is a
    calendar day, so anything else is refused with a message that says what is expected.

    Args:
        value: The raw query or body value.

    Returns:
        A :class:`datetime.date`.

    Raises:
        ValueError: If ``value`` is not a valid ``YYYY-MM-DD`` date.
    """
    if isinstance(value, dt.datetime):
        raise ValueError("expected a date as YYYY-MM-DD, not a date-time")
    if isinstance(value, dt.date):
        return value
    shown = repr(value)[:40]
    if isinstance(value, str) and _DATE_RE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{shown} is not a calendar date (expected YYYY-MM-DD)") from None
    raise ValueError(f"expected a date as YYYY-MM-DD, got {shown}")


#: A game date (US/Eastern calendar day of tip-off) written ``YYYY-MM-DD``.
GameDate = Annotated[dt.date, BeforeValidator(parse_game_date)]


def market_key(value: str | None) -> str | None:
    """A ``market`` query parameter as the registry's stored key: a name (``rebounds``) or key
    (``player_rebounds``), case-insensitive; ``all`` or empty is None (every market).

    Raises:
        ValueError: an unknown market (the message lists the known names; the API answers 422).
    """
    if value is None or not value.strip() or value.strip().lower() == "all":
        return None
    try:
        return get_market(value).key
    except InputError:
        raise ValueError(f"unknown market {value[:64]!r}; known: {', '.join(m.name for m in MARKETS)} "
                         "(or their keys, e.g. player_rebounds; 'all' for every market)") from None


#: The ``market`` query parameter: a market's name or stored key (docs/markets.md), or ``all``.
MarketParam = Annotated[str, StringConstraints(max_length=64), AfterValidator(market_key)]


class SystemId(StrEnum):
    """Prediction systems (must match :data:`nbaprops.models.systems.SYSTEMS`; a test checks it)."""

    moving_average = "moving_average"
    zone_matchup = "zone_matchup"
    similarity = "similarity"
    xgboost = "xgboost"
    catboost = "catboost"
    minutes_ppm = "minutes_ppm"
    ensemble = "ensemble"


class Recommendation(StrEnum):
    """The recommendation of a prediction row."""

    OVER = "OVER"
    UNDER = "UNDER"
    PASS = "PASS"
    NO_LINE = "NO_LINE"


class ErrorResponse(BaseModel):
    """Body of every 4xx/5xx answer except request validation errors."""

    detail: str = Field(description="what went wrong and, where possible, what to do")


class FieldError(BaseModel):
    """One invalid request field."""

    loc: str = Field(description="where: e.g. 'query.date' or 'body.game_date'")
    msg: str
    type: str


class ValidationErrorResponse(BaseModel):
    """Body of a 422 answer."""

    detail: str
    errors: list[FieldError]


class HealthResponse(BaseModel):
    """Liveness: the process answers (no warehouse or model check)."""

    status: Literal["ok"] = "ok"
    version: str


class ModelInfo(BaseModel):
    """One system of the served model set."""

    system_id: str
    model_version: str = Field(description="'<model_set>:<system version>', as stored on prediction rows")


class ReadyResponse(BaseModel):
    """Readiness: the warehouse answers and the served model set loads with verified files."""

    status: Literal["ready", "not_ready"]
    reasons: list[str] = Field(default_factory=list, description="why not ready (empty when ready)")
    package_version: str
    schema_version: int | None = None
    feature_version: str
    model_set: str | None = None
    models: list[ModelInfo] = Field(default_factory=list)
    trained_until: str | None = None


class StartRequest(BaseModel):
    """Start a prediction batch for one date."""

    model_config = ConfigDict(extra="forbid")

    game_date: GameDate
    min_minutes: float = Field(default=15.0, ge=0, le=48,
                               description="recent average minutes for a player without a line to be predicted")
    force: bool = Field(default=False, description="supersede a batch of the date that is still running")


class StartResponse(BaseModel):
    """A batch accepted for background execution (poll ``batch_url``)."""

    batch_id: str | None = Field(description="None only if the batch had not registered within the wait")
    game_date: dt.date
    status: str = Field(description="status of the batch row when the request returned (normally 'running')")
    forced: bool
    min_minutes: float
    batch_url: str | None


class BatchResponse(BaseModel):
    """One row of ``prediction_batches``."""

    batch_id: str
    game_date: dt.date
    status: str = Field(description="running | consolidating | complete | complete_with_failures | failed | "
                                    "superseded | abandoned")
    expected_players: int | None = None
    completed_players: int | None = None
    failed_players: int | None = None
    skipped_players: int | None = None
    units_total: int | None = None
    units_done: int | None = None
    min_minutes: float | None = None
    forced: bool | None = None
    model_set: str | None = None
    started_at: dt.datetime
    heartbeat_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    owner: str | None = None
    error: str | None = None


class PredictionRow(BaseModel):
    """One row of ``player_prop_predictions``."""

    game_id: str
    game_date: dt.date
    player_id: int
    system_id: str
    market: str = Field("player_points", description="the market (docs/markets.md): for another market than "
                                                     "points, predicted_points, edge and the line are that stat")
    line: float | None = None
    line_key: str
    predicted_points: float | None = None
    predicted_scale: float | None = None
    p_over: float | None = None
    confidence: float | None = None
    edge: float | None = None
    expected_value: float | None = None
    recommendation: str
    line_source: str
    sportsbook: str | None = None
    line_quoted_at: dt.datetime | None = None
    line_quote_basis: str | None = None
    line_snapshot_id: str | None = None
    over_price: int | None = None
    under_price: int | None = None
    market_p_over: float | None = None
    #: the system's forecast from inputs without any line or price, before the market blend
    model_only_points: float | None = None
    #: its calibrated P(over the line), before the market blend (NULL without a line)
    model_only_p_over: float | None = None
    best_book: str | None = Field(None, description="book of the best price of the side (line shopping; docs/market.md)")
    best_price: int | None = Field(None, description="best American price of the side among the books at the line")
    consensus_line: float | None = Field(None, description="median line of the books quoting at prediction time")
    consensus_p_over: float | None = Field(None, description="books' pooled fair P(over) at consensus_line")
    books_quoting: int | None = Field(None, description="books passing the line gate at prediction time")
    consensus_at: dt.datetime | None = Field(None, description="newest quote time the consensus used")
    model_version: str
    feature_version: str
    package_version: str
    feature_quality_score: float | None = None
    is_fallback: bool
    fallback_reason: str | None = None
    batch_id: str
    created_at: dt.datetime
    injury_status: str | None = Field(default=None, description=(
        "the player's status on the official injury report read at injury_as_of: OUT | DOUBTFUL | "
        "QUESTIONABLE | PROBABLE | AVAILABLE; null = not listed, or no report by then"))
    injury_report_time: dt.datetime | None = Field(default=None, description=(
        "publication time of the report read; null = no report of the date by injury_as_of"))
    injury_as_of: dt.datetime | None = Field(default=None, description=(
        "the prediction's as-of time for the report: min(prediction time, tip-off)"))
    decision_reason: str | None = Field(default=None, description=(
        "why a rule overrode the model's recommendation: 'listed_out' (listed OUT: no OVER/UNDER); "
        "null = the model's recommendation stands"))

    @computed_field(description="the player is listed QUESTIONABLE or DOUBTFUL: a flag, the "  # type: ignore[prop-decorator]
                                "recommendation stands")
    @property
    def injury_flag(self) -> bool:
        return self.injury_status in ("QUESTIONABLE", "DOUBTFUL")


class PredictionsPage(BaseModel):
    """A page of predictions of one date, ordered by (game_id, player_id, system_id, line_key)."""

    game_date: dt.date
    system: SystemId | None = None
    recommendation: Recommendation | None = None
    market: str | None = Field(None, description="the market filter (stored key), None: every market")
    total: int = Field(description="rows matching the filters (all pages)")
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, None on the last page")
    items: list[PredictionRow]


class BookQuote(BaseModel):
    """One book's newest pre-tip points quote of a player (docs/market.md)."""

    sportsbook: str
    source: str
    line: float | None = None
    over_price: float | None = Field(default=None, description="American odds")
    under_price: float | None = Field(default=None, description="American odds")
    fair_p_over: float | None = Field(default=None, description="de-vigged P(over) of this book")
    quoted_at: dt.datetime | None = Field(default=None, description="None for a source's closing row")
    gate_reason: str | None = Field(default=None, description="why the line gates rejected it (never shopped)")
    best_over: bool = Field(description="the best over price at the shopped line")
    best_under: bool = Field(description="the best under price at the shopped line")


class PlayerMarket(BaseModel):
    """Every book's quote of one player, the best prices and the consensus with its move since the open."""

    player_id: int
    game_id: str | None = None
    shopped_line: float | None = Field(default=None, description="the prediction's line, where prices are shopped")
    best_over_price: float | None = None
    best_over_book: str | None = None
    best_under_price: float | None = None
    best_under_book: str | None = None
    consensus_line: float | None = Field(default=None, description="median line of the passing books now")
    consensus_p_over: float | None = Field(default=None, description="pooled fair P(over) at the consensus line")
    line_spread: float | None = None
    books_quoting: int
    consensus_at: dt.datetime | None = None
    open_consensus_line: float | None = Field(default=None, description="the same, in the first snapshot")
    open_consensus_p_over: float | None = None
    open_at: dt.datetime | None = None
    consensus_line_move: float | None = Field(default=None, description="consensus line now - at the open")
    consensus_p_over_move: float | None = Field(
        default=None, description="pooled fair P(over) at the consensus line now: now - at the open")
    books: list[BookQuote]


class BookQuotesPage(BaseModel):
    """Every quoted player of a date with every book's line and prices."""

    game_date: dt.date
    players: list[PlayerMarket]


def row_dict(columns: list[str], values: tuple[Any, ...]) -> dict[str, Any]:
    """Zip a DuckDB row with its column names for a response model.

    NaN becomes None (JSON has no NaN) and a naive timestamp is marked UTC: the warehouse session
    runs in UTC, so its ``TIMESTAMP`` columns hold UTC wall-clock times.

    Args:
        columns: Column names from the cursor description.
        values: One fetched row.

    Returns:
        ``{column: value}``.
    """
    out: dict[str, Any] = {}
    for name, value in zip(columns, values, strict=True):
        if isinstance(value, float) and value != value:
            value = None
        elif isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        out[name] = value
    return out


class JobRequest(BaseModel):
    """Run one ``nbaprops`` command in the server (the CLI sends this while a server owns the warehouse)."""

    model_config = ConfigDict(extra="forbid")

    argv: list[Annotated[str, StringConstraints(max_length=1000)]] = Field(
        min_length=1, max_length=100, description="the arguments after `nbaprops`, e.g. [\"status\", \"--json\"]")


class JobAccepted(BaseModel):
    """A command accepted; poll ``job_url``."""

    job_id: str
    job_url: str


class JobResponse(BaseModel):
    """A command run by the server: ``running`` or ``done`` with its exit code and output."""

    job_id: str
    argv: list[str]
    status: Literal["queued", "running", "done"]
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
