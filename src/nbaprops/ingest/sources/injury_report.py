"""The NBA's official injury report: its URL, a fetcher, and a parser of the PDF.

The league publishes the report several times a day as a PDF at
``https://ak-static.cms.nba.com/referee/injury/Injury-Report_<date>_<time>.pdf``. The time part of
the name changed on 2025-12-23 (:data:`URL_PATTERN_CHANGE`):

- before: ``Injury-Report_2024-01-04_12PM.pdf`` (on the hour, ``_HHAM`` / ``_HHPM``);
- from 2025-12-23: ``Injury-Report_2025-12-23_01_30PM.pdf`` (``_HH_MMAM`` / ``_HH_MMPM``).

The old pattern answers HTTP 403 since the change. :func:`report_url` builds the right one for a
report time; :func:`report_time_from_name` reads either back.

:class:`InjuryReportLive` fetches a report with httpx (retried with stamina on 429/5xx/transport
errors) into a :class:`~nbaprops.ingest.sources.base.RawPayload` whose body is the PDF in base64.
A missing report (HTTP 403/404) or a body that is not a PDF raises :class:`MissingReportError`: it
is never read as "nobody is injured".

:func:`parse_injury_report` reads the PDF (pdfplumber) into :class:`InjuryReport`: one
:class:`InjuryRow` per player row and one per team whose report is "NOT YET SUBMITTED" (player
``None``, status ``NOT_YET_SUBMITTED``). The table has the columns Game Date, Game Time, Matchup,
Team, Player Name ("Last, First"), Current Status, Reason; blank Game Date / Game Time / Matchup /
Team cells carry over from the row above (across pages too). A reason (or a name) that wraps is
printed on several text lines around the line of its status, so every text line is attached to the
nearest line that holds a status. Lines that cannot be read are returned as :class:`ParseProblem`,
never dropped silently. Loading into the warehouse is :mod:`nbaprops.ingest.injuries`.
"""

from __future__ import annotations

import base64
import io
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import stamina

from nbaprops.config import Settings
from nbaprops.errors import (
    InputError,
    MissingReportError,
    SourceError,
    TransientUpstreamError,
    UnreadableFileError,
)
from nbaprops.ingest.sources.base import RawPayload, SnapshotStore

__all__ = [
    "BASE_URL",
    "COLUMNS",
    "EASTERN",
    "NOT_YET_SUBMITTED",
    "SOURCE",
    "STATUSES",
    "TEAM_NAMES",
    "URL_PATTERN_CHANGE",
    "InjuryReport",
    "InjuryReportLive",
    "InjuryReportSnapshot",
    "InjuryRow",
    "ParseProblem",
    "first_last",
    "normalize_status",
    "parse_injury_report",
    "pdf_bytes",
    "report_name",
    "report_params",
    "report_slots",
    "report_time_from_name",
    "report_url",
]

log = logging.getLogger(__name__)

SOURCE = "nba_injury_report"
ENDPOINT = "injury_report"
BASE_URL = "https://ak-static.cms.nba.com/referee/injury/"
EASTERN = ZoneInfo("America/New_York")
#: First report date whose file name carries minutes (``_HH_MMPM``); the old ``_HHPM`` answers 403 since.
URL_PATTERN_CHANGE = date(2025, 12, 23)

#: The player statuses the report prints (Current Status column).
STATUSES: tuple[str, ...] = ("Out", "Doubtful", "Questionable", "Probable", "Available")
#: The status of a team row whose report is "NOT YET SUBMITTED" (player NULL).
NOT_YET_SUBMITTED = "NOT_YET_SUBMITTED"
_STATUS_KEYS = {s.lower(): s for s in STATUSES} | {"not yet submitted": NOT_YET_SUBMITTED,
                                                   "not_yet_submitted": NOT_YET_SUBMITTED}

#: The printed columns, in order, and the field each is read into.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("Game Date", "game_date"), ("Game Time", "game_time"), ("Matchup", "matchup"), ("Team", "team"),
    ("Player Name", "player_name"), ("Current Status", "status"), ("Reason", "reason"),
)
_CARRIED = ("game_date", "game_time", "matchup", "team")

#: Team names as the report prints them -> abbreviation (used when the warehouse has no team tables).
TEAM_NAMES: dict[str, str] = {
    "Atlanta Hawks": "ATL", "Boston Celtics": "BOS", "Brooklyn Nets": "BKN", "Charlotte Hornets": "CHA",
    "Chicago Bulls": "CHI", "Cleveland Cavaliers": "CLE", "Dallas Mavericks": "DAL", "Denver Nuggets": "DEN",
    "Detroit Pistons": "DET", "Golden State Warriors": "GSW", "Houston Rockets": "HOU",
    "Indiana Pacers": "IND", "LA Clippers": "LAC", "Los Angeles Clippers": "LAC", "Los Angeles Lakers": "LAL",
    "Memphis Grizzlies": "MEM", "Miami Heat": "MIA", "Milwaukee Bucks": "MIL",
    "Minnesota Timberwolves": "MIN", "New Orleans Pelicans": "NOP", "New York Knicks": "NYK",
    "Oklahoma City Thunder": "OKC", "Orlando Magic": "ORL", "Philadelphia 76ers": "PHI",
    "Phoenix Suns": "PHX", "Portland Trail Blazers": "POR", "Sacramento Kings": "SAC",
    "San Antonio Spurs": "SAS", "Toronto Raptors": "TOR", "Utah Jazz": "UTA", "Washington Wizards": "WAS",
}

_NAME_RE = re.compile(
    r"Injury-Report_(?P<date>\d{4}-\d{2}-\d{2})_(?P<hour>\d{2})(?:_(?P<minute>\d{2}))?(?P<ampm>[AP]M)",
    re.IGNORECASE)
_TITLE_RE = re.compile(r"Injury\s*Report:\s*(?P<date>\d{1,2}/\d{1,2}/\d{2,4})\s+(?P<time>\d{1,2}:\d{2})\s*"
                       r"(?P<ampm>[AP]M)", re.IGNORECASE)
_PAGE_RE = re.compile(r"^Page\s*\d+\s*of\s*\d+$", re.IGNORECASE)
_NYS_RE = re.compile(r"^NOT\s*YET\s*SUBMITTED$", re.IGNORECASE)
_WS = re.compile(r"\s+")

#: Words closer than this (points) are one word: the report's letters touch, its spaces are ~2.3 pt wide.
_X_TOLERANCE = 1.5
#: Words whose tops differ by less than this (points) are on one text line.
_LINE_TOLERANCE = 3.0
#: A word starts in a column when its x0 is at least the header word's x0 minus this.
_COLUMN_SLACK = 3.0


# --------------------------------------------------------------------------- report times and URLs


def _eastern(ts: datetime) -> datetime:
    """A report time on the league's clock (a naive time is taken as US/Eastern)."""
    return ts.replace(tzinfo=EASTERN) if ts.tzinfo is None or ts.utcoffset() is None else ts.astimezone(EASTERN)


def report_name(report_time: datetime) -> str:
    """The file name of the report published at ``report_time``.

    Args:
        report_time: the publication time (aware, or naive US/Eastern wall-clock time).

    Returns:
        ``Injury-Report_YYYY-MM-DD_HHPM.pdf`` before 2025-12-23, ``Injury-Report_YYYY-MM-DD_HH_MMPM.pdf``
        from then on (12-hour clock, zero-padded, ``AM``/``PM``).

    Raises:
        InputError: a time before 2025-12-23 that is not on the hour (the old names have no minutes).
    """
    et = _eastern(report_time)
    hour12 = et.hour % 12 or 12
    ampm = "AM" if et.hour < 12 else "PM"
    if et.date() >= URL_PATTERN_CHANGE:
        return f"Injury-Report_{et:%Y-%m-%d}_{hour12:02d}_{et.minute:02d}{ampm}.pdf"
    if et.minute or et.second:
        raise InputError(f"reports before {URL_PATTERN_CHANGE} were published on the hour (file names "
                         f"without minutes); got {et:%Y-%m-%d %H:%M} ET", field="report_time")
    return f"Injury-Report_{et:%Y-%m-%d}_{hour12:02d}{ampm}.pdf"


def report_url(report_time: datetime, base_url: str = BASE_URL) -> str:
    """The URL of the report published at ``report_time`` (see :func:`report_name` for the two patterns)."""
    return base_url.rstrip("/") + "/" + report_name(report_time)


def report_time_from_name(name: str) -> datetime | None:
    """The report time (US/Eastern, aware) in a report file name or URL of either pattern; ``None`` if absent.

    ``Injury-Report_2024-01-04_12PM.pdf`` -> 2024-01-04 12:00 ET; ``..._2025-12-23_01_30PM.pdf`` -> 13:30 ET.
    """
    m = _NAME_RE.search(name)
    if not m:
        return None
    hour, minute = int(m.group("hour")), int(m.group("minute") or 0)
    if not 1 <= hour <= 12 or minute > 59:
        return None
    hour = hour % 12 + (12 if m.group("ampm").upper() == "PM" else 0)
    day = date.fromisoformat(m.group("date"))
    return datetime.combine(day, time(hour, minute), tzinfo=EASTERN)


#: Minutes between candidate report times: hourly before :data:`URL_PATTERN_CHANGE`, every 15 minutes since.
SLOT_MINUTES_OLD, SLOT_MINUTES_NEW = 60, 15


def report_slots(at: datetime, count: int) -> list[datetime]:
    """The ``count`` candidate report times at or before ``at``, newest first (US/Eastern, aware).

    Before 2025-12-23 reports were named on the hour; since then their names carry minutes, and the
    league publishes on quarter hours (``_01_30PM``), so candidates step by 15 minutes.
    """
    et = _eastern(at).replace(second=0, microsecond=0)
    out: list[datetime] = []
    while len(out) < count:
        step = SLOT_MINUTES_NEW if et.date() >= URL_PATTERN_CHANGE else SLOT_MINUTES_OLD
        slot = et.replace(minute=et.minute - et.minute % step)
        out.append(slot)
        et = slot - timedelta(minutes=1)
    return out


def report_params(report_time: datetime) -> dict[str, str]:
    """The params a fetched report is stored under (report time in ET ISO form, file name, encoding)."""
    et = _eastern(report_time)
    return {"report_time": et.isoformat(), "file": report_name(et), "body_encoding": "base64"}


def pdf_bytes(payload: RawPayload) -> bytes:
    """The PDF of a fetched report (its payload body is base64).

    Raises:
        InputError: the payload is not an injury report payload.
    """
    if payload.source != SOURCE or payload.params.get("body_encoding") != "base64":
        raise InputError(f"not an injury report payload: {payload.source}/{payload.endpoint}", field="body")
    try:
        return base64.b64decode(payload.body.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise InputError("injury report payload body is not base64", field="body") from None


# --------------------------------------------------------------------------- fetch


class _EmptyBody(TransientUpstreamError):
    """HTTP 200 without a body: retried, then a missing report."""


class InjuryReportLive:
    """Fetches the official injury report PDF of a report time (httpx, retried with stamina)."""

    source = SOURCE
    #: candidate times :func:`nbaprops.ingest.injuries.fetch_latest_report` tries (HTTP requests)
    max_probes = 24

    def __init__(self, settings: Settings | None = None, client: httpx.Client | None = None, *,
                 base_url: str = BASE_URL, attempts: int = 4, wait_initial_s: float = 1.0,
                 wait_max_s: float = 30.0, now: Callable[[], datetime] | None = None,
                 store: SnapshotStore | None = None) -> None:
        """Args:
            settings: uses ``http_timeout_s`` (default: the library default of 30 s).
            client: an ``httpx.Client`` to use (default: a new one with that timeout).
            base_url: the folder the reports are published in.
            attempts: maximum attempts per fetch (429/5xx/transport errors/empty bodies are retried).
            wait_initial_s: first backoff wait; exponential with jitter up to ``wait_max_s``.
            wait_max_s: maximum backoff wait.
            now: clock for ``fetched_at`` (default ``datetime.now(UTC)``).
            store: when given, every fetched payload is also saved there (for later replay).
        """
        if attempts < 1:
            raise ValueError("attempts must be >= 1")
        timeout = settings.http_timeout_s if settings is not None else 30.0
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=True)
        self._base_url = base_url
        self._attempts = attempts
        self._wait_initial_s = wait_initial_s
        self._wait_max_s = wait_max_s
        self._now = now or (lambda: datetime.now(UTC))
        self._store = store

    def fetch_report(self, report_time: datetime) -> RawPayload:
        """Fetch the report published at ``report_time``.

        Args:
            report_time: the publication time (aware, or naive US/Eastern).

        Returns:
            The response as a payload: body = the PDF in base64, params = :func:`report_params`.

        Raises:
            MissingReportError: HTTP 403/404 (not published, or the URL pattern is wrong) or a body that
                is not a PDF (never retried), or an empty body on every attempt.
            SourceError: any other failure, after the retries are spent.
        """
        url = report_url(report_time, self._base_url)
        payload: RawPayload | None = None
        failure: str | None = None
        empty = False
        try:
            for attempt in stamina.retry_context(on=TransientUpstreamError, attempts=self._attempts, timeout=None,
                                                 wait_initial=self._wait_initial_s, wait_max=self._wait_max_s):
                with attempt:
                    payload = self._attempt(url, report_time)
        except _EmptyBody as exc:
            failure = str(exc)
            empty = True
        except TransientUpstreamError as exc:
            failure = str(exc)
        if failure is not None and empty:
            raise MissingReportError(f"injury report {url} answered with an empty body {self._attempts} time(s): "
                                     "treated as missing, not as an empty report")
        if failure is not None:
            raise SourceError(f"injury report {url} failed after {self._attempts} attempt(s): {failure}")
        assert payload is not None  # the loop either set it or raised
        if self._store is not None:
            self._store.save(payload)
        return payload

    def close(self) -> None:
        """Close the underlying HTTP client."""
        self._client.close()

    def _attempt(self, url: str, report_time: datetime) -> RawPayload:
        transport_error: str | None = None
        try:
            response = self._client.get(url)
        except httpx.TransportError as exc:
            transport_error = f"{type(exc).__name__}: {exc}"
        if transport_error is not None:
            log.warning("injury report %s: %s, will retry", url, transport_error)
            raise TransientUpstreamError(transport_error)
        status = response.status_code
        if status in (403, 404):
            raise MissingReportError(
                f"no injury report at {url} (HTTP {status}): not published (yet) for that time, or the URL "
                f"pattern is wrong (it changed on {URL_PATTERN_CHANGE} from _HHPM to _HH_MMPM; the old one "
                f"answers 403 since). This is a missing report, not an empty one.")
        if status == 429 or status >= 500:
            log.warning("injury report %s: HTTP %d, will retry", url, status)
            raise TransientUpstreamError(f"HTTP {status}")
        if status != 200:
            raise SourceError(f"injury report {url} answered HTTP {status}")
        body = response.content
        if not body:
            log.warning("injury report %s: empty body, will retry", url)
            raise _EmptyBody("HTTP 200 with an empty body")
        if body.lstrip()[:5] != b"%PDF-":
            kind = response.headers.get("content-type", "unknown content type")
            raise MissingReportError(f"injury report {url} answered HTTP 200 with a body that is not a PDF "
                                     f"({kind}, {len(body)} bytes, starts {body[:40]!r}): treated as missing")
        headers = {k: v for k, v in response.headers.items()
                   if k.lower() in {"content-type", "content-length", "last-modified", "etag", "date"}}
        return RawPayload(source=SOURCE, endpoint=ENDPOINT, params=report_params(report_time),
                          fetched_at=self._now(), status_code=status, headers=headers,
                          body=base64.b64encode(body).decode("ascii"))


class InjuryReportSnapshot:
    """Reports saved earlier by :class:`SnapshotStore` (``InjuryReportLive(store=...)``)."""

    source = SOURCE

    def __init__(self, directory: Path | str) -> None:
        self.store = SnapshotStore(directory)

    #: candidate times :func:`nbaprops.ingest.injuries.fetch_latest_report` tries (local files: a whole day)
    max_probes = 96

    def fetch_report(self, report_time: datetime) -> RawPayload:
        """Load the saved report of ``report_time``.

        Raises:
            MissingReportError: no report of that time was saved (a missing report, as live).
        """
        params = report_params(report_time)
        if not self.store.path_for(SOURCE, ENDPOINT, params).is_file():
            raise MissingReportError(f"no {SOURCE} snapshot of the report of {params['report_time']} in "
                                     f"{self.store.directory}: a missing report")
        return self.store.load(SOURCE, ENDPOINT, params)

    def has_reports(self) -> bool:
        """Whether any injury report was saved in the directory."""
        return any(self.store.directory.glob(f"{SOURCE}__*.json"))


# --------------------------------------------------------------------------- parse


@dataclass(frozen=True)
class InjuryRow:
    """One row of a report: a player's status, or a team whose report is not yet submitted."""

    report_time: datetime
    game_date: date
    game_time: str | None         # as printed, e.g. "07:30 (ET)"
    matchup: str | None           # "MIL@SAS" (away@home)
    team: str                     # as printed, e.g. "Milwaukee Bucks"
    team_abbr: str | None         # from TEAM_NAMES (None: not a team name this module knows)
    player_name: str | None       # as printed, "Last, First" (None on a NOT_YET_SUBMITTED team row)
    status: str                   # one of STATUSES or NOT_YET_SUBMITTED
    reason: str | None
    page: int
    file_row: int                 # the row's number in the report (1-based, across pages)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class ParseProblem:
    """A row or text line of the report that could not be read (quarantined by the loader)."""

    file_row: int | None
    page: int
    field: str
    reason: str
    raw: dict[str, Any]


@dataclass(frozen=True)
class InjuryReport:
    """A parsed report: its time, its rows and what could not be read."""

    file: str
    report_time: datetime
    rows: list[InjuryRow]
    problems: list[ParseProblem] = field(default_factory=list)
    printed_time: datetime | None = None   # the time in the report's title (US/Eastern)
    name_time: datetime | None = None      # the time in the file name (US/Eastern)

    @property
    def players(self) -> list[InjuryRow]:
        return [r for r in self.rows if r.player_name is not None]

    @property
    def not_yet_submitted(self) -> list[InjuryRow]:
        return [r for r in self.rows if r.status == NOT_YET_SUBMITTED]


def normalize_status(text: str | None) -> str | None:
    """``"out"`` -> ``"Out"``, ``"NOT YET SUBMITTED"`` -> ``"NOT_YET_SUBMITTED"``; ``None`` if unknown."""
    if text is None:
        return None
    return _STATUS_KEYS.get(_WS.sub(" ", str(text)).strip().lower())


def first_last(name: str) -> str:
    """``"Payton II, Gary"`` -> ``"Gary Payton II"`` (the report prints "Last, First"); other names unchanged."""
    last, sep, first = name.partition(",")
    if not sep or not first.strip():
        return _WS.sub(" ", name).strip()
    return f"{_WS.sub(' ', first).strip()} {_WS.sub(' ', last).strip()}"


@dataclass
class _Line:
    page: int
    top: float
    bottom: float
    cells: dict[str, list[str]]

    def text(self, name: str) -> str:
        return " ".join(self.cells.get(name, []))

    @property
    def centre(self) -> float:
        return (self.top + self.bottom) / 2


def _open_pdf(source: bytes | Path, file: str) -> Any:
    import pdfplumber  # imported here: only report parsing needs it

    if isinstance(source, bytes):
        data = source
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise UnreadableFileError(f"cannot read: {exc}", file=file) from exc
    if data.lstrip()[:5] != b"%PDF-":
        raise UnreadableFileError(f"not a PDF (starts {data[:16]!r}, expected %PDF-): not an injury report",
                                  file=file)
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        _ = pdf.pages  # the page tree is read lazily: a broken file fails here
    except Exception as exc:  # pdfminer raises many types (PDFSyntaxError, PSEOF, KeyError...) on a corrupt file
        raise UnreadableFileError(f"not a readable PDF ({type(exc).__name__}: {exc})", file=file) from None
    return pdf


def _text_lines(words: Iterable[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Words grouped into text lines (by top), each line sorted left to right."""
    lines: list[list[dict[str, Any]]] = []
    for w in sorted(words, key=lambda w: (round(float(w["top"]), 1), float(w["x0"]))):
        if lines and abs(float(lines[-1][0]["top"]) - float(w["top"])) < _LINE_TOLERANCE:
            lines[-1].append(w)
        else:
            lines.append([w])
    return [sorted(line, key=lambda w: float(w["x0"])) for line in lines]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _header_edges(line: list[dict[str, Any]]) -> list[tuple[float, str]] | None:
    """Column starts from the header line ``Game Date Game Time Matchup Team Player Name Current Status Reason``."""
    labels = [_squash(label) for label, _ in COLUMNS]
    words = [(str(w["text"]), float(w["x0"])) for w in line]
    edges: list[tuple[float, str]] = []
    i = 0
    for (_, name), label in zip(COLUMNS, labels, strict=True):
        found = False
        while i < len(words):
            # a label is one word or several consecutive words ("Game" "Date")
            acc, j = "", i
            while j < len(words) and len(acc) < len(label):
                acc += _squash(words[j][0])
                j += 1
            if acc == label:
                edges.append((words[i][1] - _COLUMN_SLACK, name))
                i, found = j, True
                break
            i += 1
        if not found:
            return None
    return edges


def _column(x0: float, edges: list[tuple[float, str]]) -> str | None:
    name = None
    for start, col in edges:
        if x0 >= start:
            name = col
    return name


def _printed_time(text: str) -> datetime | None:
    m = _TITLE_RE.search(text)
    if not m:
        return None
    raw_date = m.group("date")
    fmt = "%m/%d/%y" if len(raw_date.rsplit("/", 1)[-1]) == 2 else "%m/%d/%Y"
    try:
        return datetime.strptime(f"{raw_date} {m.group('time')} {m.group('ampm').upper()}",
                                 f"{fmt} %I:%M %p").replace(tzinfo=EASTERN)
    except ValueError:
        return None


def parse_injury_report(source: bytes | Path, *, name: str | None = None,
                        report_time: datetime | None = None) -> InjuryReport:
    """Parse an official injury report PDF.

    The report time is the time printed in the title ("Injury Report: 01/04/24 12:30 PM"), never earlier
    than the time in the file name (the ``_12PM`` report of 2024-01-04 says 12:30 PM: it was not public
    before then). ``report_time`` overrides both.

    Args:
        source: the PDF bytes or its path.
        name: the file name or URL (for the time in the name and for messages; default the path).
        report_time: the publication time, when known from elsewhere (aware, or naive US/Eastern).

    Returns:
        The report: its rows in printed order and the lines that could not be read.

    Raises:
        UnreadableFileError: not a PDF, or a PDF that cannot be read.
        InputError: a PDF without the injury report table (no header row, or no row under it), or
            without a report time (none in the title, the file name or ``report_time``).
    """
    file = name or (str(source) if isinstance(source, Path) else "<injury report bytes>")
    name_time = report_time_from_name(Path(file).name)
    pdf = _open_pdf(source, file)
    try:
        pages = [(i + 1, page.extract_words(x_tolerance=_X_TOLERANCE, y_tolerance=2, keep_blank_chars=False))
                 for i, page in enumerate(pdf.pages)]
    except Exception as exc:  # pdfminer raises many private types on a corrupt content stream
        raise UnreadableFileError(f"cannot read the PDF's text ({type(exc).__name__}: {exc})", file=file) from None
    finally:
        pdf.close()

    printed: datetime | None = None
    edges: list[tuple[float, str]] | None = None
    lines: list[_Line] = []
    for page_no, words in pages:
        for line in _text_lines(words):
            text = " ".join(str(w["text"]) for w in line)
            if printed is None and (t := _printed_time(text)) is not None:
                printed = t
                continue
            if _TITLE_RE.search(text) or _PAGE_RE.match(text.strip()):
                continue
            header = _header_edges(line)
            if header is not None:
                edges = header
                continue
            if edges is None:
                continue  # text above the table (a logo, a note): not a row
            cells: dict[str, list[str]] = {}
            for w in line:
                col = _column(float(w["x0"]), edges)
                if col is not None:
                    cells.setdefault(col, []).append(str(w["text"]))
            if cells:
                lines.append(_Line(page_no, float(line[0]["top"]), max(float(w["bottom"]) for w in line), cells))

    if edges is None:
        raise InputError("no injury report table: the header row (Game Date, Game Time, Matchup, Team, "
                         "Player Name, Current Status, Reason) is not in the PDF", file=file)
    if report_time is not None:
        when = _eastern(report_time)
    elif printed is not None or name_time is not None:
        when = max(t for t in (printed, name_time) if t is not None)
    else:
        raise InputError("no report time: none in the report's title nor in the file name "
                         "(Injury-Report_YYYY-MM-DD_HHPM.pdf)", file=file)
    rows, problems = _rows(lines, when.astimezone(UTC))
    if not rows and not problems:
        raise InputError("the injury report table has no rows: an empty report is not read as "
                         "'nobody injured'", file=file)
    return InjuryReport(file=file, report_time=when.astimezone(UTC), rows=rows, problems=problems,
                        printed_time=printed, name_time=name_time)


def _is_anchor(line: _Line) -> bool:
    return bool(line.cells.get("status")) or bool(_NYS_RE.match(line.text("reason")))


def _rows(lines: list[_Line], report_time: datetime) -> tuple[list[InjuryRow], list[ParseProblem]]:
    """Text lines -> logical rows: each line joins the nearest status line of its page."""
    groups: list[list[_Line]] = []
    orphans: list[_Line] = []
    by_page: dict[int, list[_Line]] = {}
    for line in lines:
        by_page.setdefault(line.page, []).append(line)
    for page_lines in by_page.values():
        anchors = [ln for ln in page_lines if _is_anchor(ln)]
        page_groups: dict[int, list[_Line]] = {id(a): [a] for a in anchors}
        for ln in page_lines:
            if _is_anchor(ln):
                continue
            if not anchors:
                orphans.append(ln)
                continue
            nearest = min(anchors, key=lambda a: abs(a.centre - ln.centre))
            page_groups[id(nearest)].append(ln)
        groups.extend(sorted(page_groups[id(a)], key=lambda ln: ln.top) for a in anchors)

    rows: list[InjuryRow] = []
    problems: list[ParseProblem] = [
        ParseProblem(None, ln.page, "line", "text line outside any row (no status on its page)",
                     {k: " ".join(v) for k, v in ln.cells.items()}) for ln in orphans]
    carried: dict[str, str] = {}
    for n, group in enumerate(groups, start=1):
        cells = {name: " ".join(ln.text(name) for ln in group if ln.cells.get(name)).strip()
                 for _, name in COLUMNS}
        if cells["matchup"] and not cells["team"]:
            carried.pop("team", None)  # a new game prints its team: never carry one over from another game
        for col in _CARRIED:
            if cells[col]:
                carried[col] = cells[col]
            else:
                cells[col] = carried.get(col, "")
        page = group[0].page
        raw = {"page": page, **cells}

        def bad(field_name: str, reason: str, raw: dict[str, Any] = raw, page: int = page, n: int = n) -> None:
            problems.append(ParseProblem(n, page, field_name, reason, raw))

        nys = bool(_NYS_RE.match(cells["reason"])) and not cells["status"]
        status = NOT_YET_SUBMITTED if nys else normalize_status(cells["status"])
        try:
            game_date = datetime.strptime(cells["game_date"], "%m/%d/%Y").date()
        except ValueError:
            bad("game_date", f"not a MM/DD/YYYY date: {cells['game_date']!r}")
            continue
        if not cells["team"]:
            bad("team", "no team printed in this row nor above it")
            continue
        if status is None:
            bad("status", f"unknown status {cells['status']!r} (expected one of {', '.join(STATUSES)})")
            continue
        player = cells["player_name"] or None
        if status != NOT_YET_SUBMITTED and player is None:
            bad("player_name", f"a {status} row without a player name")
            continue
        if status == NOT_YET_SUBMITTED and player is not None:
            bad("player_name", "a NOT YET SUBMITTED row names a player")
            continue
        team = _WS.sub(" ", cells["team"]).strip()
        rows.append(InjuryRow(
            report_time=report_time, game_date=game_date, game_time=cells["game_time"] or None,
            matchup=cells["matchup"].replace(" ", "") or None, team=team, team_abbr=TEAM_NAMES.get(team),
            player_name=player, status=status,
            reason=None if status == NOT_YET_SUBMITTED else (cells["reason"] or None), page=page, file_row=n))
    return rows, problems
