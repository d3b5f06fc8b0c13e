"""The nbaprops exception tree.

    NbapropsError
    ├── SettingsError            settings missing or invalid (lists every problem at once)
    ├── WarehouseError           the DuckDB file cannot be opened / migrated
    │   └── LockError            another run holds the lock for this phase and date
    │       └── BatchConflictError  a prediction batch for the date is already running (HTTP 409)
    ├── InputError               a bad input file, row or field (names file/row/field)
    │   ├── MissingColumnsError
    │   └── UnreadableFileError
    ├── SourceError              an upstream (stats.nba.com, The Odds API) failed
    │   └── BudgetExceededError  the Odds API request budget would be exceeded
    ├── PhaseGateError           a phase's inputs for a date are not complete (names what is missing)
    ├── ModelError               a model is missing, corrupt or does not match the feature version
    └── LineValidationError      a line failed the validation gate
"""

from __future__ import annotations

__all__ = [
    "BatchConflictError",
    "BudgetExceededError",
    "InputError",
    "LineValidationError",
    "LockError",
    "MissingColumnsError",
    "ModelError",
    "NbapropsError",
    "PhaseGateError",
    "SettingsError",
    "SourceError",
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
    """An upstream data source failed."""


class BudgetExceededError(SourceError):
    """A call would exceed the configured API request budget."""


class PhaseGateError(NbapropsError):
    """A phase's inputs are incomplete for the date."""


class ModelError(NbapropsError):
    """A model is missing, corrupt, or built for another feature version."""


class LineValidationError(NbapropsError):
    """A line failed the validation gate."""


class PhaseBlockedError(PhaseGateError):
    """A phase's gate refused to run it (the message names what is missing)."""


class PhaseSkipped(NbapropsError):
    """A phase had nothing to do for the date (the message says why); not a failure."""
