"""Operations: phase gates and run records (``gates``), alerts (``alerts``), ``doctor`` and post-run
``verify``. :class:`Check` is the one result shape every health check returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Check", "Level", "failed"]

Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    """One health check: a name, whether it passed, and a detail a person can act on.

    ``level`` separates a warning (passes, but worth a look: e.g. no Slack webhook) from a failure.
    """

    name: str
    ok: bool
    detail: str
    level: Level = "ok"

    @classmethod
    def passed(cls, name: str, detail: str) -> Check:
        """A passing check."""
        return cls(name, True, detail, "ok")

    @classmethod
    def warning(cls, name: str, detail: str) -> Check:
        """A passing check with something worth a look."""
        return cls(name, True, detail, "warn")

    @classmethod
    def failure(cls, name: str, detail: str) -> Check:
        """A failing check (non-zero exit, alert)."""
        return cls(name, False, detail, "fail")

    def as_dict(self) -> dict[str, Any]:
        """``{name, ok, detail, level}`` for ``--json``."""
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "level": self.level}


def failed(checks: list[Check]) -> list[Check]:
    """The failing checks of a list."""
    return [c for c in checks if not c.ok]
