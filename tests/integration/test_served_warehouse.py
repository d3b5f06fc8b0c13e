"""One warehouse for the server and the jobs: while `nbaprops serve` owns the file, CLI commands run
through it (POST /jobs), and API reads running meanwhile all succeed and see either the old or the
new prediction batch, never a mix."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import nbaprops
from nbaprops.leases import server_file

pytestmark = pytest.mark.integration

DAY = "2024-04-10"
KEY = "served-warehouse-test-key"
CLI = "import sys; from nbaprops.cli import main; sys.argv[0] = 'nbaprops'; main()"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBAPROPS_")}
    env["NBAPROPS_API_KEY"] = KEY
    env["PYTHONPATH"] = str(Path(nbaprops.__file__).resolve().parents[1])
    return env


def _cli(db: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CLI, "--db", str(db), *args], env=_env(), cwd=db.parent,
                          capture_output=True, text=True, timeout=timeout, check=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def predicted(warehouse_copy: Path) -> Path:
    """A warehouse copy with a served model set and the predictions of DAY."""
    for args in (("train", "--until", DAY, "--since", "2023-10-24", "--json"), ("predict", "--date", DAY, "--json")):
        res = _cli(warehouse_copy, *args)
        assert res.returncode == 0, res.stderr[-2000:]
    return warehouse_copy


@pytest.fixture(scope="module")
def server(predicted: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", CLI, "--db", str(predicted), "serve", "--port", str(port)],
                            env=_env(), cwd=predicted.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200 and Path(server_file(predicted)).exists():
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "server exited"
            time.sleep(0.3)
        else:
            pytest.fail("nbaprops serve did not come up within 60 s")
        yield url, predicted
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert not Path(server_file(predicted)).exists(), "a stopped server leaves no announcement behind"


def _read(url: str) -> tuple[int, set[str], int, int]:
    r = httpx.get(f"{url}/predictions", params={"date": DAY, "limit": 5000}, timeout=60)
    if r.status_code != 200:
        return r.status_code, set(), 0, 0
    body = r.json()
    return 200, {it["batch_id"] for it in body["items"]}, int(body["total"]), len(body["items"])


def test_cli_commands_run_through_the_server_while_reads_see_old_or_new(server: tuple[str, Path]) -> None:
    url, db = server
    status, before, total, n = _read(url)
    assert status == 200 and len(before) == 1 and total == n > 900
    old = next(iter(before))

    # a read-only command and the daily run's predict phase, both refused before (the file was locked)
    st = _cli(db, "status", "--date", DAY, "--json")
    assert st.returncode == 0, st.stderr[-2000:]
    assert json.loads(st.stdout)["feature_store_complete"] is True
    assert "running the command there" in st.stderr

    reads: list[tuple[int, set[str], int, int]] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            reads.append(_read(url))

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        run = _cli(db, "run", "--date", DAY, "--only", "predict", "--force", "--json")
    finally:
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(60)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    report: dict[str, Any] = json.loads(run.stdout)
    assert report["status"] == "ok" and [p["phase"] for p in report["phases"]] == ["predict"]

    status, after, total, n = _read(url)
    assert status == 200 and len(after) == 1 and total == n
    new = next(iter(after))
    assert new != old

    assert len(reads) >= 3
    assert all(r[0] == 200 for r in reads), {r[0] for r in reads}
    # every read saw exactly one batch, the old or the new one, and all of its rows
    assert all(len(r[1]) == 1 and r[1] <= {old, new} and r[2] == r[3] for r in reads)


def test_a_command_without_the_servers_key_is_refused_with_a_message(server: tuple[str, Path]) -> None:
    url, db = server
    env = _env()
    env.pop("NBAPROPS_API_KEY")
    res = subprocess.run([sys.executable, "-c", CLI, "--db", str(db), "status", "--json"], env=env, cwd=db.parent,
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 1
    assert f"served by `nbaprops serve` at {url}" in res.stderr and "NBAPROPS_API_KEY" in res.stderr


def test_a_second_server_for_the_same_warehouse_is_refused(server: tuple[str, Path]) -> None:
    url, db = server
    res = _cli(db, "serve", "--port", str(_free_port()), timeout=120)
    assert res.returncode == 1
    assert f"already served at {url}" in res.stderr
