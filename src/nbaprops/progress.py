"""The one progress-callback type of long work (backfill, training, batches, backtests)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "no_progress"]

#: ``progress(description, done, total)``: called as work advances; ``done == total`` at the end.
Progress = Callable[[str, int, int], None]


def no_progress(_description: str, _done: int, _total: int) -> None:
    """A progress callback that reports nothing."""
    return None
