"""nbaprops: point-in-time NBA player points predictions against real sportsbook lines.

The Python API::

    from nbaprops import Project
    p = Project("nba.duckdb")
    p.predictions("2024-04-10")      # pandas DataFrame

See ``docs/python-api.md``. Every error nbaprops raises on purpose is a :class:`NbapropsError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nbaprops._version import __version__
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

if TYPE_CHECKING:
    from nbaprops.config import Settings
    from nbaprops.project import BacktestResult, GradeResult, Project


__all__ = ["BacktestResult", "BatchConflictError", "GradeResult", "InputError", "LockError", "ModelError",
           "NbapropsError", "PhaseGateError", "Project", "Settings", "SettingsError", "SourceError",
           "WarehouseError", "__version__", "load_settings"]


def __getattr__(name: str) -> Any:
    # Project pulls pandas and DuckDB: imported on first use so `import nbaprops` stays light
    if name in ("Project", "BacktestResult", "GradeResult"):
        from nbaprops import project

        return getattr(project, name)
    if name in ("Settings", "load_settings"):
        from nbaprops import config

        return getattr(config, name)
    raise AttributeError(f"module 'nbaprops' has no attribute {name!r}")
