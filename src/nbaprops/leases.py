"""Leases: who holds a ``running`` record and whether that holder can still be running it.

A holder is named by its owner id ``host:pid`` (:func:`owner_id`): the prediction batches'
``owner`` column, the ``@host:pid`` suffix of a phase run's ``run_id``, the prefix of a Redis
worker's name. Two rules decide whether a lease is still held:

* liveness (:func:`is_alive`): a holder on this host whose pid no longer exists is dead (crash,
  kill -9); this process is alive; a holder on another host cannot be seen from here and counts
  as alive.
* age (:func:`is_stale`): a lease whose last heartbeat is older than ``after`` seconds is stale,
  unless its holder is this very process; a lease of a dead process on this host is stale at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
from typing import NamedTuple

__all__ = ["BATCH_STALE_AFTER_S", "Owner", "announce_server", "is_alive", "is_stale", "live_server", "owner_id",
           "parse_owner", "run_holder", "server_file", "withdraw_server"]

#: A prediction batch's lease (``prediction_batches.owner`` / ``heartbeat_at``) is stale after this many
#: seconds without a heartbeat; the coordinator beats after every unit and every phase of a batch.
BATCH_STALE_AFTER_S = 300.0


class Owner(NamedTuple):
    """A parsed owner id."""

    host: str
    pid: int

    @property
    def local(self) -> bool:
        """Whether the holder runs on this host (so its pid can be checked)."""
        return self.host == socket.gethostname()

    @property
    def this_process(self) -> bool:
        """Whether the holder is the calling process."""
        return self.local and self.pid == os.getpid()

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}"


def owner_id() -> str:
    """``host:pid`` of this process."""
    return str(Owner(socket.gethostname(), os.getpid()))


def parse_owner(owner: str | None) -> Owner | None:
    """The host and pid of an owner id (None when it is empty or not ``host:pid`` with a positive pid)."""
    host, sep, pid = (owner or "").rpartition(":")
    if not sep or not host or not pid.isdigit() or int(pid) <= 0:
        return None
    return Owner(host, int(pid))


def run_holder(run_id: str | None) -> Owner | None:
    """The holder named by a phase run id ``<hex>@host:pid`` (None when it names none)."""
    _, sep, owner = (run_id or "").rpartition("@")
    return parse_owner(owner) if sep else None


def is_alive(owner: str | None) -> bool:
    """Whether the holder may still be running.

    False only when it provably is not: the id does not parse, or it names a pid on this host that
    no longer exists. A holder on another host is taken to be alive (only :func:`is_stale`'s age
    rule can release its lease), and so is a pid of another user (``kill(pid, 0)`` is refused).
    """
    parsed = parse_owner(owner)
    if parsed is None:
        return False
    if not parsed.local or parsed.this_process:
        return True
    try:
        os.kill(parsed.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _naive_utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t


def is_stale(owner: str | None, heartbeat: dt.datetime | None, *, after: float,
             now: dt.datetime | None = None) -> bool:
    """Whether a lease can be taken over.

    Args:
        owner: the holder's ``host:pid`` (None or malformed: only the age rule applies).
        heartbeat: the lease's last heartbeat (naive UTC as stored, or aware); None counts as stale.
        after: seconds without a heartbeat after which a lease is stale.
        now: the current time (naive UTC or aware; default: now).

    Returns:
        False for a lease of this very process; True for a lease of a dead process on this host;
        otherwise whether the heartbeat is missing or older than ``after`` seconds.
    """
    parsed = parse_owner(owner)
    if parsed is not None and parsed.local:
        if parsed.this_process:
            return False
        if not is_alive(owner):
            return True
    if heartbeat is None:
        return True
    current = _naive_utc(now) if now is not None else dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return (current - _naive_utc(heartbeat)).total_seconds() > after


# --------------------------------------------------------------------------- the warehouse's server


def server_file(db: str | os.PathLike[str]) -> str:
    """Where a running ``nbaprops serve`` announces that it owns the warehouse ``db``."""
    return f"{os.fspath(db)}.server.json"


def announce_server(db: str | os.PathLike[str], url: str) -> str:
    """Record that this process serves ``db`` at ``url`` (atomic replace); returns the file's path."""
    import json

    path = server_file(db)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)   # the warehouse may not exist yet
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"url": url, "owner": owner_id()}, f)
    os.replace(tmp, path)
    return path


def withdraw_server(db: str | os.PathLike[str]) -> None:
    """Remove this process's announcement (another process's is left alone)."""
    info = live_server(db)
    if info is not None and info.get("owner") == owner_id():
        with contextlib.suppress(FileNotFoundError):
            os.remove(server_file(db))


def live_server(db: str | os.PathLike[str]) -> dict[str, str] | None:
    """The announcement of a server that owns ``db`` and is alive (None when there is none, or its
    process is gone: an announcement left by a killed server does not count)."""
    import json

    try:
        with open(server_file(db), encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("url"), str) or not is_alive(info.get("owner")):
        return None
    return {"url": str(info["url"]), "owner": str(info.get("owner"))}
