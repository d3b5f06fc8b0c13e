"""Packaging that cannot miss a module (LESSONS.md: a deployed service crashed on a file that was not
copied into the image).

The wheel is built from the repository (``pip wheel --no-deps``), installed with ``--no-deps`` into a
fresh venv under tmp, and everything below runs from a tmp working directory outside the source tree:

- the wheel holds exactly the files of ``src/nbaprops`` (every ``.py``, the ``.sql`` files,
  ``py.typed``, ``ingest/data/player_aliases.csv``, templates), and declares the console script;
- ``import nbaprops`` in the venv resolves to the venv, never to ``src/`` (the editable install);
- every module of the installed package imports;
- ``nbaprops --help``, ``nbaprops version --json`` and ``nbaprops doctor --json`` run;
- the ``Dockerfile`` is multi-stage, its final stage copies only the built wheel from the builder,
  installs it and runs as a non-root user; its ``CMD`` (``nbaprops serve``), run from the wheel's
  venv, passes its ``HEALTHCHECK`` (``/health``) even where there is no docker engine;
- with a docker engine, the image itself is built, runs as non-root, answers ``/health`` and reports
  healthy; without one that part is skipped with the reason.

Reinstalling every dependency into the venv would take minutes, so the venv sees the dependencies
of the running environment through a ``.pth`` file listing its site-packages directories as plain
paths: a plain path entry does not run the ``.pth`` files inside it, so the editable install's
hook (which puts ``src/`` on ``sys.path``) stays out. The test proves it did.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import site
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import nbaprops
from nbaprops.warehouse import SCHEMA_VERSION

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
PKG = SRC / "nbaprops"
IGNORED_PARTS = {"__pycache__"}
IGNORED_SUFFIXES = {".pyc", ".pyo"}


def _source_files() -> set[str]:
    """Every file of the package in the source tree, as wheel paths (``nbaprops/...``)."""
    out = set()
    for p in PKG.rglob("*"):
        rel = p.relative_to(SRC)
        if p.is_file() and not IGNORED_PARTS & set(rel.parts) and p.suffix not in IGNORED_SUFFIXES:
            out.add(rel.as_posix())
    return out


def _run(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
         timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\n"
                             f"stderr:\n{proc.stderr[-3000:]}")
    return proc


@dataclass(frozen=True)
class Installed:
    venv: Path
    python: Path
    nbaprops: Path
    env: dict[str, str]
    cwd: Path


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of the repository, built without its dependencies."""
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)]
    if importlib.util.find_spec("hatchling") is not None:
        # the build backend is already here: build offline (else pip fetches hatchling from the index)
        cmd.insert(4, "--no-build-isolation")
    _run(cmd, cwd=out)
    wheels = sorted(out.glob("nbaprops-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def _clean_env(venv: Path, home: Path) -> dict[str, str]:
    """The current environment without anything that points Python or nbaprops elsewhere."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "NBAPROPS_")) and k not in {"VIRTUAL_ENV", "PIP_PREFIX", "PIP_TARGET"}}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["PYTHONNOUSERSITE"] = "1"
    env["NBAPROPS_DB"] = str(home / "nbaprops.duckdb")
    return env


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A fresh venv (outside the source tree) with only the wheel installed in it."""
    base = tmp_path_factory.mktemp("wheel_venv")
    venv, cwd = base / "venv", base / "cwd"
    cwd.mkdir()
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    # install before the dependencies become visible, so pip sees no other nbaprops distribution
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
          "--quiet", "--disable-pip-version-check", str(wheel)], cwd=cwd)
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    outer = [p for p in site.getsitepackages() if Path(p).is_dir() and not Path(p).resolve().is_relative_to(SRC)]
    (Path(purelib) / "_outer_dependencies.pth").write_text("".join(f"{p}\n" for p in outer))
    return Installed(venv, python, venv / "bin" / "nbaprops", _clean_env(venv, cwd), cwd)


# ------------------------------------------------------------------------------------ the wheel
def test_wheel_ships_every_file_of_the_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        dist_info = [n for n in names if n.split("/")[0].endswith(".dist-info")]
        entry_points = zf.read(next(n for n in dist_info if n.endswith("/entry_points.txt"))).decode()
        metadata = zf.read(next(n for n in dist_info if n.endswith("/METADATA"))).decode()
    shipped = {n for n in names if n.startswith("nbaprops/")}
    source = _source_files()
    assert source - shipped == set(), "files in src/nbaprops missing from the wheel"
    assert shipped - source == set(), "files in the wheel that are not in src/nbaprops"
    for must in ("nbaprops/py.typed", "nbaprops/ingest/data/player_aliases.csv", "nbaprops/cli/root.py", "nbaprops/project.py",
                 "nbaprops/warehouse/sql/schema/004_monitoring_views.sql"):
        assert must in shipped
    assert {n for n in source if n.endswith(".sql")} <= shipped
    assert len([n for n in shipped if n.endswith(".sql")]) >= 10
    assert "nbaprops = nbaprops.cli:main" in entry_points
    assert "Requires-Dist: duckdb" in metadata
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith(("tests/", "src/"))]


def test_the_venv_imports_the_wheel_not_the_source_tree(installed: Installed) -> None:
    code = ("import json, sys, nbaprops; "
            "print(json.dumps({'file': nbaprops.__file__, 'version': nbaprops.__version__, 'path': sys.path}))")
    info = json.loads(_run([str(installed.python), "-c", code], env=installed.env, cwd=installed.cwd).stdout)
    assert Path(info["file"]).resolve().is_relative_to(installed.venv.resolve()), info["file"]
    assert not any(Path(p).resolve() == SRC.resolve() for p in info["path"] if p), "src/ is on sys.path"
    assert info["version"] == nbaprops.__version__


def test_every_module_of_the_installed_package_imports(installed: Installed) -> None:
    # ``__main__`` runs the CLI when imported (that is its job): it is compiled, not imported, and
    # ``python -m nbaprops --help`` runs it for real. The report goes to a file, not stdout, so
    # nothing a module prints can corrupt it.
    report = installed.cwd / "imports.json"
    code = """
import importlib, importlib.util, json, pkgutil, sys, traceback
import nbaprops
ok, failed, outside = [], {}, []
for mod in pkgutil.walk_packages(nbaprops.__path__, "nbaprops."):
    try:
        if mod.name.rsplit(".", 1)[-1] == "__main__":
            spec = importlib.util.find_spec(mod.name)
            compile(spec.loader.get_source(mod.name), spec.origin, "exec")
            path = spec.origin
        else:
            path = importlib.import_module(mod.name).__file__
    except BaseException:
        failed[mod.name] = traceback.format_exc(limit=3)
        continue
    ok.append(mod.name)
    if not (path or "").startswith(nbaprops.__path__[0]):
        outside.append(path)
with open(sys.argv[1], "w") as fh:
    json.dump({"ok": ok, "failed": failed, "outside": outside}, fh)
"""
    _run([str(installed.python), "-c", code, str(report)], env=installed.env, cwd=installed.cwd)
    res = json.loads(report.read_text())
    assert res["failed"] == {}, "\n".join(f"{k}:\n{v}" for k, v in res["failed"].items())
    assert res["outside"] == []
    # every .py module of the source tree was found (walk_packages misses nothing)
    expected = set()
    for n in _source_files():
        if n.endswith(".py"):
            parts = n[:-3].split("/")
            expected.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    expected.discard("nbaprops")
    assert set(res["ok"]) == expected
    main = _run([str(installed.python), "-m", "nbaprops", "--help"], env=installed.env, cwd=installed.cwd)
    assert "backfill" in main.stdout


def test_the_cli_runs_from_the_wheel(installed: Installed) -> None:
    assert installed.nbaprops.is_file()
    env, cwd = installed.env, installed.cwd
    help_text = _run([str(installed.nbaprops), "--help"], env=env, cwd=cwd).stdout
    for command in ("backfill", "predict", "grade", "version", "doctor", "serve", "views", "remediate"):
        assert command in help_text, command
    version = json.loads(_run([str(installed.nbaprops), "version", "--json"], env=env, cwd=cwd).stdout)
    assert version["package"] == nbaprops.__version__
    assert version["schema"] == SCHEMA_VERSION
    # doctor on a fresh install: exit 0 (all pass) or 1 (something to fix, e.g. no model yet), JSON either way
    doc = _run([str(installed.nbaprops), "doctor", "--json"], env=env, cwd=cwd, check=False, timeout=120)
    assert doc.returncode in (0, 1), f"doctor exited {doc.returncode}: {doc.stderr[-2000:]}"
    checks = json.loads(doc.stdout)
    assert isinstance(checks, list) and checks
    assert all({"name", "ok", "detail"} <= set(c) for c in checks)
    assert doc.returncode == (0 if all(c["ok"] for c in checks) else 1)


# ------------------------------------------------------------------------------------ the image
def _dockerfile_entry() -> tuple[list[str], str]:
    """The Dockerfile's ``CMD`` (exec form) and ``HEALTHCHECK`` command."""
    lines = (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    cmd = [ln for ln in lines if ln.startswith("CMD ")]
    health = [ln for ln in lines if ln.startswith("HEALTHCHECK ")]
    assert len(cmd) == 1 and len(health) == 1, "one CMD and one HEALTHCHECK"
    argv = json.loads(cmd[0][len("CMD "):])
    return argv, health[0].split(" CMD ", 1)[1].strip()


def test_dockerfile_installs_the_wheel_and_runs_as_a_non_root_user() -> None:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    froms = [i for i, ln in enumerate(lines) if ln.startswith("FROM ")]
    assert len(froms) >= 2, "multi-stage: a builder stage builds the wheel"
    final = lines[froms[-1]:]
    assert final[0].split()[1] in ("python:3.11-slim", "${PYTHON_IMAGE}")
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in lines
    copies = [ln for ln in final if ln.startswith(("COPY", "ADD"))]
    assert copies and all("--from=builder" in ln for ln in copies), f"the final stage copies only the wheel: {copies}"
    assert any("pip install" in ln and ".whl" in ln for ln in final)
    users = [ln.split()[1] for ln in final if ln.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), users
    assert "ENV" in text and "NBAPROPS_DB=/data/nbaprops.duckdb" in text
    assert "EXPOSE 8000" in final
    ignore = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
              if ln.strip() and not ln.startswith("#")]
    assert ignore[0] == "*" and "!src/" in ignore and "!pyproject.toml" in ignore


def test_the_images_entry_point_and_healthcheck_work_with_the_wheel(installed: Installed) -> None:
    """Without docker: the Dockerfile's CMD, run from the wheel's venv, answers its HEALTHCHECK."""
    argv, health = _dockerfile_entry()
    assert argv[:2] == ["nbaprops", "serve"] and "8000" in argv and "127.0.0.1:8000/health" in health
    port = str(_free_port())
    argv = [str(installed.nbaprops) if a == "nbaprops" else port if a == "8000" else
            "127.0.0.1" if a == "0.0.0.0" else a for a in argv]
    health = health.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    env = {**installed.env, "NBAPROPS_DB": str(installed.cwd / "data" / "nbaprops.duckdb")}
    log = installed.cwd / "serve.log"
    with log.open("w") as fh:
        server = subprocess.Popen(argv, env=env, cwd=installed.cwd, stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        rc = None
        while time.monotonic() < deadline and server.poll() is None:
            rc = subprocess.run(["sh", "-c", health], env=env, cwd=installed.cwd, capture_output=True,
                                timeout=30, check=False).returncode
            if rc == 0:
                break
            time.sleep(1)
        assert rc == 0, f"HEALTHCHECK never passed (server exit {server.poll()}):\n{log.read_text()[-3000:]}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
            assert resp.status == 200
            assert json.loads(resp.read())["version"] == nbaprops.__version__
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def docker() -> Iterator[str]:
    """The docker CLI, when it can reach an engine (else the test is skipped with the reason)."""
    exe = shutil.which("docker")
    if exe is None:
        pytest.skip("docker is not installed: image build and /health check skipped")
    try:
        info = subprocess.run([exe, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                              timeout=30, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip("docker info timed out: no usable docker engine; image build and /health check skipped")
    if info.returncode != 0 or not info.stdout.strip():
        reason = (info.stderr.strip().splitlines() or ["no server version"])[-1]
        pytest.skip(f"no docker engine ({reason}): image build and /health check skipped")
    yield exe


def test_docker_image_installs_the_wheel_and_answers_health(docker: str) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER " in dockerfile and "HEALTHCHECK" in dockerfile and ".whl" in dockerfile
    tag = f"nbaprops-test:{os.getpid()}"
    name = f"nbaprops-test-{os.getpid()}"
    _run([docker, "build", "-t", tag, str(ROOT)], timeout=1800)
    port = _free_port()
    try:
        _run([docker, "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8000", tag])
        user = _run([docker, "exec", name, "id", "-u"]).stdout.strip()
        assert user != "0", "the container runs as root"
        site_pkg = _run([docker, "exec", name, "python", "-c",
                         "import nbaprops; print(nbaprops.__file__)"]).stdout.strip()
        assert "site-packages" in site_pkg, site_pkg
        body: dict[str, object] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
                    if resp.status == 200:
                        body = json.loads(resp.read())
                        break
            except OSError:
                time.sleep(1)
        assert body, f"/health did not answer in 120 s:\n{_run([docker, 'logs', name], check=False).stderr[-3000:]}"
        health = ""
        while time.monotonic() < deadline + 120:
            health = _run([docker, "inspect", "--format", "{{.State.Health.Status}}", name]).stdout.strip()
            if health != "starting":
                break
            time.sleep(2)
        assert health == "healthy", health
    finally:
        _run([docker, "rm", "-f", name], check=False)
        _run([docker, "rmi", "-f", tag], check=False)
