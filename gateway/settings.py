"""The gateway's configuration: one frozen object, read from ``CCGATE_*`` variables once and passed down.

This is the only module that reads the environment (STYLE 11). Limits are named and bounded.
``check_production`` is the fail-fast gate: a production gateway refuses to start with the simulated
TEE enabled or with a placeholder secret, and the key vault refuses key files others can read.
"""

import warnings
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Final

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.errors import ConfigurationError

KIB: Final = 1 << 10
MIB: Final = 1 << 20
GIB: Final = 1 << 30

# Values that mean "nobody set this yet". A production gateway refuses them as secrets.
PLACEHOLDER_SECRETS: Final = frozenset(
    {"", "changeme", "change-me", "password", "secret", "example", "placeholder", "todo", "xxx", "postgres"}
)


class Mode(StrEnum):
    """``development`` allows the simulated TEE; ``production`` refuses every insecure convenience."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Everything the gateway needs to start; built once, by ``ccgate serve`` or a test."""

    model_config = SettingsConfigDict(env_prefix="CCGATE_", frozen=True, extra="forbid")

    mode: Mode = Mode.DEVELOPMENT
    data_dir: Path = Path("ccgate-data")
    database_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite in data_dir. PostgreSQL: postgresql+psycopg://",
    )
    blob_dir: Path | None = Field(default=None, description="Envelope storage; default data_dir/blobs.")
    public_url: str = "http://127.0.0.1:8443"

    max_upload_bytes: Annotated[int, Field(ge=1, le=1 << 44)] = 64 * GIB
    max_request_bytes: Annotated[int, Field(ge=KIB, le=64 * MIB)] = 1 * MIB
    max_policy_bytes: Annotated[int, Field(ge=KIB, le=4 * MIB)] = 256 * KIB
    upload_chunk_bytes: Annotated[int, Field(ge=64 * KIB, le=64 * MIB)] = 4 * MIB
    download_chunk_bytes: Annotated[int, Field(ge=64 * KIB, le=64 * MIB)] = 4 * MIB
    blob_fsync: bool = True

    api_token_ttl_seconds: Annotated[int, Field(ge=60, le=90 * 86400)] = 7 * 86400
    node_token_ttl_seconds: Annotated[int, Field(ge=60, le=365 * 86400)] = 30 * 86400
    enrollment_nonce_ttl_seconds: Annotated[int, Field(ge=10, le=3600)] = 120
    tree_head_interval_seconds: Annotated[int, Field(ge=1, le=86400)] = 300

    attestation_nonce_ttl_seconds: Annotated[int, Field(ge=10, le=3600)] = 120
    attestation_token_ttl_seconds: Annotated[int, Field(ge=60, le=7 * 86400)] = 3600
    session_grace_seconds: Annotated[int, Field(ge=60, le=86400)] = 3600

    collateral_dir: Path | None = Field(
        default=None,
        description="Endorsements (roots, certificates, CRLs, TCB info, RIMs); default data_dir/collateral.",
    )
    allow_simulated_tee: bool = False
    startup_maintenance: bool = Field(
        default=True,
        description=(
            "Migrate, ensure a KEK and remove unfinished uploads on start. `ccgate serve --workers N` "
            "does it once before the workers start and turns it off in them, so that a restarted "
            "worker never removes an upload another worker is receiving."
        ),
    )
    crash_test_pause_after_release_seconds: Annotated[float, Field(ge=0, le=120)] = Field(
        default=0.0,
        description="Crash tests only: sleep between a release's commit and its answer (not in production).",
    )
    simulated_site: Path | None = Field(
        default=None,
        description="A `ccgate sim init` site whose simulated roots and RIMs to trust (development only).",
    )

    @property
    def blobs(self) -> Path:
        """Where envelopes live."""
        return self.blob_dir if self.blob_dir is not None else self.data_dir / "blobs"

    @property
    def collateral(self) -> Path:
        """Where the collateral store lives."""
        return self.collateral_dir if self.collateral_dir is not None else self.data_dir / "collateral"

    @property
    def keys(self) -> Path:
        """Where the file key vault keeps the gateway's private keys."""
        return self.data_dir / "keys"

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL to connect to (the SQLite default made absolute)."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'ccgate.db').resolve()}"

    @property
    def token_issuer(self) -> str:
        """The ``iss`` of every token this gateway signs."""
        return self.public_url.rstrip("/")

    def check(self) -> None:
        """Refuse unsafe combinations; warn about insecure conveniences in development.

        Raises:
            ConfigurationError: production mode with the simulated TEE, a placeholder database
                password, or an unparsable database URL.
        """
        # Imported here so that client-side commands, which never check server settings, skip SQLAlchemy.
        from sqlalchemy.engine import make_url  # noqa: PLC0415
        from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

        try:
            url = make_url(self.sqlalchemy_url)
        except ArgumentError as exc:
            raise ConfigurationError("CCGATE_DATABASE_URL is not a database URL") from exc
        if self.mode is Mode.PRODUCTION:
            if self.crash_test_pause_after_release_seconds:
                raise ConfigurationError(
                    "production mode refuses CCGATE_CRASH_TEST_PAUSE_AFTER_RELEASE_SECONDS"
                )
            if self.allow_simulated_tee or self.simulated_site is not None:
                raise ConfigurationError(
                    "production mode refuses the simulated TEE: unset CCGATE_ALLOW_SIMULATED_TEE "
                    "(simulated Evidence proves nothing about real hardware)"
                )
            password = url.password
            if password is not None and str(password).strip().lower() in PLACEHOLDER_SECRETS:
                raise ConfigurationError(
                    "production mode refuses an empty or placeholder database password in CCGATE_DATABASE_URL"
                )
        elif self.allow_simulated_tee:
            # STYLE 8: an insecure convenience says so when it is switched on.
            warnings.warn(
                "the simulated TEE is enabled: simulated Evidence is accepted (development only)",
                stacklevel=2,
            )
