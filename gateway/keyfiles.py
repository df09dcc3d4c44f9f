"""Private key files on the owner's machine: raw key bytes, mode 0600, checked on every read.

A key file readable by anyone but its owner is refused rather than used, like ssh does, because a
data key that leaked through a lax mode is worse than a failed command.
"""

import os
import stat
from pathlib import Path
from typing import Final

from gateway.errors import KeyFileExistsError, KeyFileLengthError, KeyFilePermissionsError

DATA_KEY_SIZE: Final = 32


def write_key_file(path: Path, key: bytes) -> None:
    """Create ``path`` with mode 0600 holding ``key``; never overwrite.

    Raises:
        KeyFileExistsError: the file already exists.
        OSError: the file cannot be created.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise KeyFileExistsError(f"{path} already exists; refusing to overwrite a key") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)


def read_key_file(path: Path, size: int = DATA_KEY_SIZE) -> bytes:
    """Read a key of ``size`` bytes from ``path``, refusing lax permissions.

    Raises:
        KeyFilePermissionsError: the group or others have any access to the file.
        KeyFileLengthError: the file does not hold exactly ``size`` bytes.
        OSError: the file cannot be read.
    """
    with open(path, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if stat.S_IMODE(mode) & 0o077:
            raise KeyFilePermissionsError(
                f"{path} has mode {stat.S_IMODE(mode):04o}; a key file must be 0600 (chmod 600 {path})"
            )
        key = handle.read(size + 1)
    if len(key) != size:
        raise KeyFileLengthError(f"{path} holds {len(key)} bytes; a key file holds exactly {size}")
    return key


def load_or_create_data_key(path: Path) -> tuple[bytes, bool]:
    """Read the data key at ``path``, or create a fresh random one there. Returns (key, created).

    Raises:
        The errors of ``read_key_file`` and ``write_key_file``.
    """
    if path.exists():
        return read_key_file(path), False
    key = os.urandom(DATA_KEY_SIZE)
    write_key_file(path, key)
    return key, True
