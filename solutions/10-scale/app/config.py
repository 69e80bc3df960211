"""Settings, read once from the environment (12-factor style)."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    model_path: Path = Field(Path("models/diabetes-rf.skops"), description="skops model artifact")
    model_card_path: Path = Field(Path("models/model-card.json"), description="model card JSON")
    log_level: str = Field("INFO", description="Python log level name")
    max_batch_rows: int = Field(256, ge=1, le=10_000, description="rows allowed per batch")
    max_body_bytes: int = Field(1_000_000, ge=1_024, description="largest request body accepted")
    # Seconds to keep serving after SIGTERM (readiness already 503); 0 when a
    # preStop hook does the waiting, as in lab 05's Deployment.
    shutdown_delay_seconds: float = Field(0.0, ge=0, le=30, description="serve on after SIGTERM")
    # Unset: the prediction endpoints are open (labs 02-03). Set from a Secret in lab 04.
    api_key: SecretStr | None = Field(None, description="key the prediction endpoints require")

    @field_validator("api_key")
    @classmethod
    def key_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # An empty or short key would look like protection without being one.
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("API_KEY must be at least 16 characters (or unset)")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
