"""Test tiers and guards.

- ``unit`` (default): no network, no files beyond tmp.
- ``integration``: real DuckDB and ../shared/data; skipped with a reason when ../shared is absent.
- ``live``: real network; skipped unless NBAPROPS_LIVE_TESTS=1 (never in CI).
Any test that is not ``live`` fails if it opens a connection to a non-loopback address.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NBAPROPS_SHARED_DATA", ROOT.parent / "shared" / "data"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    live_ok = os.environ.get("NBAPROPS_LIVE_TESTS") == "1"
    for item in items:
        marks = {m.name for m in item.iter_markers()}
        if not marks & {"integration", "live"}:
            item.add_marker(pytest.mark.unit)
        if "live" in marks and not live_ok:
            item.add_marker(pytest.mark.skip(reason="live test: set NBAPROPS_LIVE_TESTS=1 to hit the network"))
        if "integration" in marks and not SHARED_DATA.is_dir():
            item.add_marker(pytest.mark.skip(reason=f"integration test needs real data at {SHARED_DATA} (../shared/data)"))


def _is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if not isinstance(host, str):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any connection to a non-loopback address outside ``live`` tests."""
    if request.node.get_closest_marker("live"):
        yield
        return
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded(self: socket.socket, address: Any) -> Any:
        if self.family == socket.AF_UNIX or _is_loopback(address):
            return real_connect(self, address)
        raise RuntimeError(f"unmocked network call to {address!r} in a non-live test")

    def guarded_ex(self: socket.socket, address: Any) -> Any:
        if self.family == socket.AF_UNIX or _is_loopback(address):
            return real_connect_ex(self, address)
        raise RuntimeError(f"unmocked network call to {address!r} in a non-live test")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_ex)
    yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data (integration tests are skipped when it is absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs real data at {SHARED_DATA}")
    return SHARED_DATA
