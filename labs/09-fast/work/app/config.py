"""Settings, read once from the environment (12-factor style)."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    model_path: Path = Field(Path("models/diabetes-rf.skops"), description="skops model artifact")
    model_card_path: Path = Field(Path("models/model-card.json"), description="model card JSON")
    log_level: str = Field("INFO", description="Python log level name")
    max_batch_rows: int = Field(256, ge=1, le=10_000, description="rows allowed per batch")
    max_body_bytes: int = Field(1_000_000, ge=1_024, description="largest request body accepted")


@lru_cache
def get_settings() -> Settings:
    return Settings()
