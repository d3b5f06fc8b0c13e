"""Typed settings (env prefix ``NBAPROPS_``, optional ``.env``), validated once at start-up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as _SourceError

from nbaprops.errors import SettingsError

__all__ = ["Settings", "load_settings"]

DEFAULT_BOOK_PRIORITY = ("draftkings", "fanduel", "betmgm", "caesars", "williamhill_us", "espnbet",
                         "betrivers", "unibet_us", "pointsbetus", "bovada", "betonlineag", "mybookieag")


def _default_home() -> Path:
    return Path(user_data_dir("nbaprops", appauthor=False))


class Settings(BaseSettings):
    """Every knob of nbaprops; each field is settable as ``NBAPROPS_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="NBAPROPS_", env_file=".env", extra="ignore")

    db: Path = Field(default_factory=lambda: _default_home() / "nbaprops.duckdb",
                     description="DuckDB warehouse file")
    model_dir: Path | None = Field(default=None, description="model registry (default: 'models' beside the db)")
    odds_api_key: SecretStr | None = Field(default=None, description="The Odds API key (live lines only)")
    odds_api_budget: int = Field(default=500, ge=0, description="max Odds API requests per process")
    odds_api_base_url: str = "https://api.the-odds-api.com"
    odds_watch_cadence_min: int = Field(default=120, ge=5,
                                        description="`nbaprops watch`: minutes between pulls of an event during the day")
    # NoDecode: the env value is "90,30,10" (or a JSON list), split by the validator below
    odds_watch_offsets_min: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [90, 30, 10], description="`nbaprops watch`: minutes before each tip-off to pull")
    odds_watch_day_start: str = Field(default="10:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
                                      description="`nbaprops watch`: first cadence pull, US/Eastern HH:MM")
    odds_daily_budget: int = Field(default=300, ge=0,
                                   description="Odds API requests `nbaprops watch` may spend per US/Eastern day")
    odds_monthly_budget: int = Field(default=20_000, ge=0,
                                     description="x-requests-used the account may reach this month")
    nba_stats_min_interval_s: float = Field(default=0.6, ge=0.6,
                                            description="pause between stats.nba.com calls")
    http_timeout_s: float = Field(default=30.0, gt=0)
    # NoDecode: the env value is "draftkings,fanduel" (or a JSON list), split by the validator below
    book_priority: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_BOOK_PRIORITY),
                                                          description="sportsbook preference for the chosen line")
    rotation_min_minutes: float = Field(default=15.0, ge=0,
                                        description="recent average minutes for a rotation player")
    threads: int = Field(default=2, ge=1, description="DuckDB threads")
    min_edge: float = Field(default=1.0, ge=0, description="points of edge needed to recommend a side")
    min_ev: float = Field(default=0.02, description="expected value per unit needed to recommend a side")
    api_key: SecretStr | None = Field(default=None, description="X-API-Key for state-changing API calls")
    slack_webhook_url: SecretStr | None = None

    @property
    def model_path(self) -> Path:
        """The model registry directory (``model_dir`` or ``models`` beside the warehouse)."""
        return Path(self.model_dir) if self.model_dir is not None else Path(self.db).parent / "models"

    @model_validator(mode="after")
    def _derive_model_dir(self) -> Settings:
        if self.model_dir is None:
            self.model_dir = Path(self.db).parent / "models"
        return self

    @field_validator("odds_watch_offsets_min", mode="before")
    @classmethod
    def _split_offsets(cls, v: object) -> object:
        if isinstance(v, str):
            text = v.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except ValueError:
                    return v
            return [x.strip() for x in text.split(",") if x.strip()]
        return v

    @field_validator("odds_watch_offsets_min")
    @classmethod
    def _positive_offsets(cls, v: list[int]) -> list[int]:
        if any(x <= 0 for x in v):
            raise ValueError("offsets are minutes before tip-off: each must be > 0")
        return sorted(set(v), reverse=True)

    @field_validator("book_priority", mode="before")
    @classmethod
    def _split_books(cls, v: object) -> object:
        if isinstance(v, str):
            if v.strip().startswith("["):
                try:
                    v = json.loads(v)
                except ValueError:
                    return v  # reported as an invalid list by validation
                return [str(b).strip().lower() for b in v] if isinstance(v, list) else v
            return [b.strip().lower() for b in v.split(",") if b.strip()]
        return v


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment plus explicit overrides, or raise one SettingsError
    that lists every invalid value and the environment variable that sets it."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except _SourceError as exc:  # a value the settings source could not even parse
        raise SettingsError(f"invalid settings:\n  - {exc} (check the NBAPROPS_ environment variables and .env)") from None
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "?"
            lines.append(f"  - {field}: {err['msg']} (set NBAPROPS_{field.upper()})")
        raise SettingsError("invalid settings:\n" + "\n".join(lines)) from None
