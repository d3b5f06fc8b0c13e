"""Failure injection for the kill -9 tests, from outside the product code (src/ has no test hooks).

:func:`install_crash` makes the process die like ``kill -9`` right before the COMMIT of the first
transaction that writes a given table. It wraps ``nbaprops.warehouse.connection.transaction``, the
one place every multi-statement write of nbaprops goes through (tests/unit/test_transactions.py
keeps it so): the wrapper hands the block a proxy of the connection that notes the table of every
``INSERT [OR ...] INTO t`` / ``DELETE FROM t`` / ``UPDATE t`` it runs, and when the block ends
without an error and ``t`` is the target it calls ``os._exit(137)`` (the status a SIGKILL leaves)
instead of letting the COMMIT run. Nothing is flushed, no handler runs, the transaction is lost.

Import order does not matter: the wrapper replaces the attribute of ``nbaprops.warehouse.connection``
(so a later ``from nbaprops.warehouse.connection import transaction`` gets it) *and* rebinds the
name in every ``nbaprops`` module already imported that holds the original. Install it before the
code under test runs; in a child process, :func:`preamble` does it before ``nbaprops.cli`` is imported::

    subprocess.run([sys.executable, "-c", preamble(crash_in="player_boxscores") + CLI_MAIN, ...])

:func:`slow_units` makes ``nbaprops worker`` sleep after taking each unit and before running it,
so a test can SIGKILL a worker while it holds a unit (the worker's function registry is patched).
:func:`slow_pool_units` does the same for the local process pool of ``predict --workers N`` (the
coordinator submits a picklable wrapper of ``run_unit``, so the pool's workers sleep too).
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

TESTS_DIR = Path(__file__).resolve().parent
CRASH_STATUS = 137
#: The table a write statement writes (the first one it names after the verb).
_WRITE = re.compile(r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|DELETE\s+FROM|UPDATE)\s+([A-Za-z_][\w.]*)", re.IGNORECASE)

Transaction = Callable[[Any], AbstractContextManager[Any]]


def written_tables(sql: str) -> set[str]:
    """Lower-case names of the tables a SQL text writes (``UPDATE SET`` of an upsert names none)."""
    return {t.lower().rsplit(".", 1)[-1] for t in _WRITE.findall(sql)} - {"set"}


class _Recorder:
    """A connection that notes the tables its ``execute``/``executemany`` calls write."""

    def __init__(self, con: Any) -> None:
        self._con = con
        self.writes: set[str] = set()

    def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(query, str):
            self.writes |= written_tables(query)
        return self._con.execute(query, *args, **kwargs)

    def executemany(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(query, str):
            self.writes |= written_tables(query)
        return self._con.executemany(query, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def _patch_transaction(make: Callable[[Transaction], Transaction]) -> None:
    import nbaprops.warehouse.connection as connection

    original: Transaction = connection.transaction
    patched = make(original)
    for name, module in list(sys.modules.items()):
        if (name == "nbaprops" or name.startswith("nbaprops.")) and getattr(module, "transaction", None) is original:
            module.transaction = patched


def install_crash(table: str, *, status: int = CRASH_STATUS) -> None:
    """Exit with ``status`` right before the COMMIT of the first transaction that writes ``table``."""
    target = table.lower()

    def make(original: Transaction) -> Transaction:
        @contextmanager
        def crashing_transaction(con: Any) -> Iterator[Any]:
            with original(con) as tx:
                recorder = _Recorder(tx)
                yield recorder
                if target in recorder.writes:
                    os._exit(status)

        return crashing_transaction

    _patch_transaction(make)


def slow_units(seconds: float) -> None:
    """``nbaprops worker`` sleeps ``seconds`` after taking each unit, before running it."""
    from nbaprops.predict import redis_queue

    for name, fn in list(redis_queue.FUNCTIONS.items()):
        def slow(unit: Any, _fn: Callable[[Any], Any] = fn) -> Any:
            time.sleep(seconds)
            return _fn(unit)

        redis_queue.FUNCTIONS[name] = slow


def _slow_call(seconds: float, fn: Callable[[Any], Any], unit: Any) -> Any:
    time.sleep(seconds)
    return fn(unit)


def slow_pool_units(seconds: float) -> None:
    """The prediction coordinator's units sleep ``seconds`` in the worker before they run."""
    import functools

    from nbaprops.predict import coordinator

    coordinator.run_unit = functools.partial(_slow_call, seconds, coordinator.run_unit)  # type: ignore[assignment]


def preamble(*, crash_in: str | None = None, slow_units_s: float | None = None,
             slow_pool_units_s: float | None = None) -> str:
    """Python source (one line, ending in ``; ``) that a ``python -c`` child runs before its own code.

    The child imports this helper and the very ``nbaprops`` the test process runs (whatever the child's
    working directory): a hook installed into another copy of the package would never fire.
    """
    calls = []
    if crash_in is not None:
        calls.append(f"crash.install_crash({crash_in!r})")
    if slow_units_s:
        calls.append(f"crash.slow_units({float(slow_units_s)!r})")
    if slow_pool_units_s:
        calls.append(f"crash.slow_pool_units({float(slow_pool_units_s)!r})")
    if not calls:
        return ""
    import nbaprops

    paths = [str(TESTS_DIR), str(Path(nbaprops.__file__).resolve().parents[1])]
    return f"import sys; sys.path[:0] = {paths!r}; import crash; {'; '.join(calls)}; "
