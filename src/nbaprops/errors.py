"""The nbaprops exception tree.

    NbapropsError
    ├── SettingsError            settings missing or invalid (lists every problem at once)
    ├── WarehouseError           the DuckDB file cannot be opened / migrated
    │   ├── ServedElsewhere      a running `nbaprops serve` owns the file: the CLI hands the command to it
    │   └── LockError            another run holds the lock for this phase and date
    │       └── BatchConflictError  a prediction batch for the date is already running (HTTP 409)
    ├── InputError               a bad input file, row or field (names file/row/field)
    │   ├── MissingColumnsError
    │   └── UnreadableFileError
    ├── SourceError              an upstream (stats.nba.com, The Odds API, the Slack webhook) failed
    │   ├── BudgetExceededError  the Odds API request budget would be exceeded
    │   ├── MissingReportError   a published document is not there (the injury report: HTTP 403/404,
    │   │                        or a body that is not a PDF); never read as an empty report
    │   └── TransientUpstreamError  a failure worth retrying (429, 5xx, transport error, empty body);
    │                               retried inside the client, a SourceError once retries are spent
    ├── PhaseGateError           a phase's inputs for a date are not complete (names what is missing)
    │   └── PhaseBlockedError    a gate of the daily run refused the phase (recorded 'blocked', alerted)
    ├── PhaseSkipped             not a failure: the daily run has nothing to do for a phase
    ├── ModelError               a model is missing, corrupt or does not match the feature version
    │   └── FallbackRefusedError  fallback rows would replace a date's healthy stored predictions
    ├── LeakageError             the backtest would grade a date with a model trained on it
    └── QueueStalledError        work units stayed queued with no consumer past the give-up time

Bad rows of bulk files are never raised: ingest quarantines them (``quarantine_rows``, naming file,
row, field and reason; docs/data-contract.md); it raises an ``InputError`` when nothing usable was
loaded (naming the first file, row and field). Lines the prediction gate (``predict.line_gate.validate_lines``)
refuses are marked invalid (``line_quarantine``).
"""

from __future__ import annotations

__all__ = [
    "BatchConflictError",
    "BudgetExceededError",
    "FallbackRefusedError",
    "InputError",
    "LeakageError",
    "LockError",
    "MissingColumnsError",
    "MissingReportError",
    "ModelError",
    "NbapropsError",
    "PhaseBlockedError",
    "PhaseGateError",
    "PhaseSkipped",
    "QueueStalledError",
    "ServedElsewhere",
    "SettingsError",
    "SourceError",
    "TransientUpstreamError",
    "UnreadableFileError",
    "WarehouseError",
]


class NbapropsError(Exception):
    """Base of every error nbaprops raises on purpose."""


class SettingsError(NbapropsError):
    """Settings are missing or invalid."""


class WarehouseError(NbapropsError):
    """The warehouse cannot be opened, migrated or written."""


class LockError(WarehouseError):
    """Another run holds the lock for this phase and date."""


class BatchConflictError(LockError):
    """A prediction batch for this date is already running (use force to supersede it)."""


class InputError(NbapropsError):
    """A bad input: the message names the file, row and field and what to do."""

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 field: str | None = None) -> None:
        where = ", ".join(
            p for p in (f"file {file}" if file else "", f"row {row}" if row is not None else "",
                        f"field {field!r}" if field else "") if p
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.file = file
        self.row = row
        self.field = field


class MissingColumnsError(InputError):
    """An input file lacks required columns."""


class UnreadableFileError(InputError):
    """An input file cannot be read at all."""


class SourceError(NbapropsError):
    """An upstream data source (or the alert webhook) failed."""


class BudgetExceededError(SourceError):
    """A call would exceed the configured API request budget."""


class MissingReportError(SourceError):
    """A document the source should publish is not there (HTTP 403/404, an empty or non-PDF body).

    Raised by the injury report fetcher: a missing report is never read as "nobody is injured".
    """


class TransientUpstreamError(SourceError):
    """A failure worth retrying (HTTP 429 or 5xx, transport error, empty body).

    The HTTP clients retry on it and raise a plain :class:`SourceError` once their attempts are
    spent; its message never holds a secret (URLs with keys are redacted before it is raised).
    """


class PhaseGateError(NbapropsError):
    """A phase's inputs are incomplete for the date."""


class PhaseBlockedError(PhaseGateError):
    """A gate of the daily run refused a phase (the message names what is missing)."""


class PhaseSkipped(NbapropsError):
    """Not a failure: the daily run has nothing to do for a phase (the message says why)."""


class ModelError(NbapropsError):
    """A model is missing, corrupt, or built for another feature version."""


class FallbackRefusedError(ModelError):
    """``--allow-fallback`` without ``--force`` would replace a date's healthy (model) predictions with
    fallback rows; the message names the date and how many healthy rows are kept."""


class LeakageError(NbapropsError):
    """A date would be graded by a model whose training window includes it."""


class QueueStalledError(NbapropsError):
    """Units stayed queued with no consumer for longer than the backend's give-up time."""


class ServedElsewhere(WarehouseError):
    """A running ``nbaprops serve`` owns the warehouse: the CLI hands the command to it (``url``)."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url
