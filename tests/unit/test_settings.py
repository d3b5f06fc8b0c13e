"""Settings: env prefix NBAPROPS_, .env, overrides, and ONE SettingsError naming every bad variable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nbaprops.config import DEFAULT_BOOK_PRIORITY, Settings, load_settings
from nbaprops.errors import NbapropsError, SettingsError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No NBAPROPS_ variable from the caller's shell, and no stray .env (cwd = an empty tmp dir)."""
    for key in list(os.environ):
        if key.startswith("NBAPROPS_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    s = load_settings()
    assert isinstance(s, Settings)
    assert s.threads == 2
    assert s.book_priority == list(DEFAULT_BOOK_PRIORITY)
    assert s.book_priority[:2] == ["draftkings", "fanduel"]
    assert s.odds_api_key is None


def test_invalid_threads_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBAPROPS_THREADS", "abc")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "NBAPROPS_THREADS" in str(info.value)
    assert isinstance(info.value, NbapropsError)
    assert info.value.__cause__ is None  # one clear message, not a pydantic traceback chain


def test_every_invalid_value_in_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBAPROPS_THREADS", "abc")
    monkeypatch.setenv("NBAPROPS_ODDS_API_BUDGET", "-1")
    monkeypatch.setenv("NBAPROPS_HTTP_TIMEOUT_S", "0")
    with pytest.raises(SettingsError) as info:
        load_settings()
    msg = str(info.value)
    for var in ("NBAPROPS_THREADS", "NBAPROPS_ODDS_API_BUDGET", "NBAPROPS_HTTP_TIMEOUT_S"):
        assert var in msg, f"{var} not named in: {msg}"


def test_invalid_override_names_its_variable() -> None:
    with pytest.raises(SettingsError, match="NBAPROPS_THREADS"):
        load_settings(threads=0)


def test_none_override_keeps_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NBAPROPS_THREADS", "6")
    monkeypatch.setenv("NBAPROPS_DB", str(tmp_path / "w.duckdb"))
    s = load_settings(threads=None, db=None)  # what the CLI passes when an option is not given
    assert s.threads == 6
    assert s.db == tmp_path / "w.duckdb"
    assert load_settings(threads=3).threads == 3


def test_env_values_are_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBAPROPS_THREADS", "4")
    monkeypatch.setenv("NBAPROPS_ROTATION_MIN_MINUTES", "12.5")
    monkeypatch.setenv("NBAPROPS_ODDS_API_KEY", "secret-key-123")
    s = load_settings()
    assert s.threads == 4 and s.rotation_min_minutes == 12.5
    assert s.odds_api_key is not None and s.odds_api_key.get_secret_value() == "secret-key-123"
    assert "secret-key-123" not in repr(s) and "secret-key-123" not in str(s.model_dump())


@pytest.mark.parametrize(("raw", "books"), [
    ("FanDuel, draftkings", ["fanduel", "draftkings"]),
    ("draftkings", ["draftkings"]),
    ('["BetMGM", "fanduel"]', ["betmgm", "fanduel"]),
])
def test_book_priority_from_env(monkeypatch: pytest.MonkeyPatch, raw: str, books: list[str]) -> None:
    monkeypatch.setenv("NBAPROPS_BOOK_PRIORITY", raw)
    assert load_settings().book_priority == books


def test_bad_book_priority_is_a_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBAPROPS_BOOK_PRIORITY", "[not json")
    with pytest.raises(SettingsError, match="NBAPROPS_BOOK_PRIORITY"):
        load_settings()


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("NBAPROPS_THREADS=3\n")
    assert load_settings().threads == 3


def test_env_beats_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("NBAPROPS_THREADS=3\n")
    monkeypatch.setenv("NBAPROPS_THREADS", "5")
    assert load_settings().threads == 5


def test_invalid_value_in_dotenv_names_the_variable(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("NBAPROPS_THREADS=abc\n")
    with pytest.raises(SettingsError, match="NBAPROPS_THREADS"):
        load_settings()
