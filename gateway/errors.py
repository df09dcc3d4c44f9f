"""The gateway's error root. Every error has a stable dotted ``code``; HTTP mapping lives in one table."""

from typing import ClassVar


class GatewayError(Exception):
    """Base of every error the gateway, its CLI and its client raise on purpose."""

    code: ClassVar[str] = "gateway.error"


class KeyFileError(GatewayError):
    """A key file is unusable."""

    code = "keyfile.invalid"


class KeyFilePermissionsError(KeyFileError):
    """A private key file is readable or writable by group or others."""

    code = "keyfile.permissions"


class KeyFileLengthError(KeyFileError):
    """A key file does not hold exactly one key of the expected size."""

    code = "keyfile.length"


class KeyFileExistsError(KeyFileError):
    """Refusing to overwrite an existing key file."""

    code = "keyfile.exists"


class SimulationDirectoryError(GatewayError):
    """Refusing to write a simulated site into a directory that already holds something."""

    code = "sim.directory_not_empty"
