"""The private workspace where plaintext lives for the duration of one job, and nowhere else.

It is a fresh directory, mode 0700, on tmpfs (``/dev/shm``) when available so plaintext never reaches
a disk, and it is removed on every exit path: normal return, exception, and SIGTERM/SIGINT (turned
into ``SystemExit`` so ``finally`` blocks run). Removal is ``rmtree``; on tmpfs that returns the
pages to the kernel, which is the strongest wipe a user-space process can make there.
"""

import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from enclave_runner.errors import WorkspaceError

# A tmpfs keeps plaintext off disk; the workspace itself is a fresh 0700 mkdtemp inside it.
TMPFS_CANDIDATES = (Path("/dev/shm"),)  # noqa: S108


@dataclass(frozen=True)
class Workspace:
    """The directories of one job: inputs (decrypted datasets), model (unpacked bundle), output, tmp."""

    root: Path

    @property
    def inputs(self) -> Path:
        """Decrypted datasets, one file per artefact id."""
        return self.root / "inputs"

    @property
    def model(self) -> Path:
        """The unpacked model bundle; the job's working directory."""
        return self.root / "model"

    @property
    def output(self) -> Path:
        """Where the job writes its results; the only directory collected."""
        return self.root / "output"

    @property
    def tmp(self) -> Path:
        """The job's TMPDIR."""
        return self.root / "tmp"


def _base_directory(preferred: Path | None) -> Path:
    if preferred is not None:
        return preferred
    for candidate in TMPFS_CANDIDATES:
        if candidate.is_dir() and os.access(candidate, os.W_OK):
            return candidate
    return Path(tempfile.gettempdir())


def _raise_system_exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def terminate_cleanly() -> Iterator[None]:
    """Turn SIGTERM into ``SystemExit`` for the duration, so cleanup in ``finally`` runs."""
    previous = signal.signal(signal.SIGTERM, _raise_system_exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def private_workspace(base: Path | None = None) -> Iterator[Workspace]:
    """Create a 0700 workspace (tmpfs when available) and remove it however the block exits.

    Raises:
        WorkspaceError: the workspace cannot be created under the base directory.
    """
    try:
        root = Path(tempfile.mkdtemp(prefix="ccgate-job-", dir=_base_directory(base)))
    except OSError as exc:
        raise WorkspaceError(f"cannot create a workspace under {_base_directory(base)}: {exc}") from exc
    try:
        os.chmod(root, 0o700)
        workspace = Workspace(root)
        for directory in (workspace.inputs, workspace.model, workspace.output, workspace.tmp):
            directory.mkdir(mode=0o700)
        yield workspace
    finally:
        wipe(root)


def _force_remove(path: str) -> None:
    # A job may leave read-only files or directories behind; make them writable and try again.
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)


def wipe(root: Path) -> None:
    """Remove ``root`` and everything in it, including entries the job made read-only."""
    if not root.exists():
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(root, onexc=lambda _function, path, _exc: _force_remove(path))
    else:
        shutil.rmtree(root, onerror=lambda _function, path, _exc: _force_remove(path))
    if root.exists():
        shutil.rmtree(root, ignore_errors=True)
