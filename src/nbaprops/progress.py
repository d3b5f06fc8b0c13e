"""The progress callback long-running steps report through (backfill, training, backtest, predict).

``progress(description, done, total)`` is called after each unit of work; the CLI draws a bar from
it, library callers pass nothing (:func:`no_progress`).
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "no_progress"]

#: ``progress(description, done, total)``: ``done`` of ``total`` units of ``description`` are finished.
Progress = Callable[[str, int, int], None]


def no_progress(description: str, done: int, total: int) -> None:
    """A :data:`Progress` that reports nothing (the default of every step that takes one)."""
    return None
