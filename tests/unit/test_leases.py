"""The one liveness rule of the tree (nbaprops.leases): owner ids, dead pids, the age rule."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys

import pytest

from nbaprops.leases import Owner, is_alive, is_stale, owner_id, parse_owner

HOST = socket.gethostname()
NOW = dt.datetime(2024, 4, 10, 12)
FRESH = NOW - dt.timedelta(seconds=10)
OLD = NOW - dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The pid of a process of this host that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_owner_id_is_host_colon_pid_and_parses_back() -> None:
    assert owner_id() == f"{HOST}:{os.getpid()}"
    parsed = parse_owner(owner_id())
    assert parsed == Owner(HOST, os.getpid())
    assert parsed is not None and parsed.local and parsed.this_process and str(parsed) == owner_id()
    assert parse_owner("a:b:42") == Owner("a:b", 42)        # the pid is after the last colon


@pytest.mark.parametrize("bad", [None, "", "host", "host:", ":12", "host:abc", "host:0", "host:-3"])
def test_malformed_owner_ids_do_not_parse_and_are_not_alive(bad: str | None) -> None:
    assert parse_owner(bad) is None
    assert not is_alive(bad)


def test_a_dead_pid_on_this_host_is_not_alive_and_its_lease_is_stale_at_once(dead_pid: int) -> None:
    owner = f"{HOST}:{dead_pid}"
    assert not is_alive(owner)
    assert is_stale(owner, FRESH, after=300, now=NOW)


def test_this_process_is_alive_and_never_stale() -> None:
    assert is_alive(owner_id())
    assert not is_stale(owner_id(), OLD, after=300, now=NOW)
    assert not is_stale(owner_id(), None, after=300, now=NOW)


def test_another_live_process_on_this_host_is_alive_but_its_lease_ages() -> None:
    parent = f"{HOST}:{os.getppid()}"
    assert is_alive(parent)
    assert not is_stale(parent, FRESH, after=300, now=NOW)
    assert is_stale(parent, OLD, after=300, now=NOW)        # alive but silent: hung


def test_another_host_is_judged_by_the_age_rule_only(dead_pid: int) -> None:
    other = f"elsewhere-{HOST}:{dead_pid}"                  # that pid means nothing here
    assert is_alive(other)
    assert not is_stale(other, FRESH, after=300, now=NOW)
    assert is_stale(other, OLD, after=300, now=NOW)
    assert is_stale(other, None, after=300, now=NOW)
    assert not is_stale(other, OLD, after=7200, now=NOW)    # the caller's age decides
    assert is_stale(None, OLD, after=300, now=NOW) and not is_stale(None, FRESH, after=300, now=NOW)


def test_aware_and_naive_times_compare_in_utc() -> None:
    aware_now = NOW.replace(tzinfo=dt.UTC)
    plus2 = dt.timezone(dt.timedelta(hours=2))
    assert not is_stale("elsewhere:1", FRESH, after=300, now=aware_now)
    assert not is_stale("elsewhere:1", (FRESH + dt.timedelta(hours=2)).replace(tzinfo=plus2), after=300, now=NOW)
    assert is_stale("elsewhere:1", (OLD + dt.timedelta(hours=2)).replace(tzinfo=plus2), after=300, now=aware_now)
