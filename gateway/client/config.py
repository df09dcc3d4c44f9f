"""Client configuration: the gateway URL and the token, from options or CCGATE_URL and CCGATE_TOKEN."""

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ClientSettings(BaseSettings):
    """Where the gateway is and who the caller is. Command-line options override the environment."""

    model_config = SettingsConfigDict(env_prefix="CCGATE_", frozen=True, extra="ignore")

    url: str = "http://127.0.0.1:8443"
    token: SecretStr | None = None
    timeout_seconds: float = 60.0
