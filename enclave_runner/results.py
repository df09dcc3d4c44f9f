"""Package the job's outputs into an envelope only the result recipient can open.

The output directory and the captured stdout/stderr go into a tar; the tar is encrypted as an
envelope under a fresh data key, which is sealed to the job's result recipient (the owner's X25519
key) in a ``result`` context naming the job. Links and special files in the output are refused: a
job must not be able to smuggle a host file into its result through a symlink.
"""

import hashlib
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from enclave_runner.errors import JobOutputError
from enclave_runner.protocol.envelope import encrypt_file
from enclave_runner.protocol.sealing import SealContext, seal_data_key
from enclave_runner.workspace import Workspace

MAX_LOG_BYTES: Final = 16 << 20


@dataclass(frozen=True)
class PackagedResult:
    """The encrypted result, ready to upload."""

    envelope: Path
    sealed_key: bytes
    output_digest: str
    size: int


def result_artefact_id(job_id: str) -> str:
    """The artefact id bound into a result envelope."""
    return f"result-{job_id}"


def _add_logs(tar: tarfile.TarFile, path: Path, name: str) -> None:
    size = min(path.stat().st_size, MAX_LOG_BYTES) if path.exists() else 0
    info = tarfile.TarInfo(f"logs/{name}")
    info.size = size
    info.mode = 0o600
    with open(path, "rb") if path.exists() else open(os.devnull, "rb") as handle:
        tar.addfile(info, handle)


def package_results(
    workspace: Workspace, job_id: str, recipient: bytes, stdout_path: Path, stderr_path: Path
) -> PackagedResult:
    """Tar the output directory and the logs, encrypt, and seal the key to ``recipient``.

    Raises:
        JobOutputError: the output holds a link or a special file.
    """
    archive = workspace.tmp / "result.tar"
    with tarfile.open(archive, "w") as tar:
        for path in sorted(workspace.output.rglob("*")):
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                raise JobOutputError(f"the output holds {path.name!r}, which is a link or a special file")
            tar.add(path, arcname=f"output/{path.relative_to(workspace.output)}", recursive=False)
        _add_logs(tar, stdout_path, "stdout.txt")
        _add_logs(tar, stderr_path, "stderr.txt")
    key = os.urandom(32)
    envelope = workspace.tmp / "result.ccge"
    encrypt_file(archive, envelope, key, result_artefact_id(job_id))
    archive.unlink()
    digest = hashlib.sha256()
    with open(envelope, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    sealed = seal_data_key(key, recipient, SealContext.result(job_id))
    return PackagedResult(envelope, sealed, digest.hexdigest(), envelope.stat().st_size)
