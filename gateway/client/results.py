"""The owner's side of a job's result: download, open the sealed key with the result key, decrypt.

The result key pair comes from ``ccgate keygen``; its public half was the job's result recipient, so
only its private half opens the sealed result key. Nothing is written where the caller asked until
the whole result downloaded, hashed to the receipt's digest and decrypted segment by segment.
"""

import base64
import os
import tarfile
import tempfile
from pathlib import Path

from enclave_runner.protocol.envelope import decrypt_stream
from enclave_runner.protocol.sealing import SealContext, open_data_key
from gateway.client.http import GatewayClient
from gateway.keyfiles import read_key_file


def fetch_result(client: GatewayClient, job_id: str, private_key_file: Path, target: Path) -> int:
    """Download, decrypt and unpack a job's result into the directory ``target``; return its bytes.

    Raises:
        ApiProblemError, ContentDigestError, SealingError, EnvelopeError, KeyFileError, OSError,
        tarfile.TarError.
    """
    private = read_key_file(private_key_file)
    sealed = base64.b64decode(client.result_key(job_id).sealed_key)
    key = open_data_key(sealed, private, SealContext.result(job_id))
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target, prefix=".result-", suffix=".tar")
    archive = Path(name)
    written = 0
    try:
        with os.fdopen(fd, "wb") as handle, client.download_result(job_id) as chunks:
            for piece in decrypt_stream(chunks, key, f"result-{job_id}"):
                handle.write(piece)
                written += len(piece)
        with tarfile.open(archive, mode="r:") as tar:
            tar.extractall(target, filter="data")
    finally:
        archive.unlink(missing_ok=True)
    for path in target.rglob("*"):
        if path.is_file():
            os.chmod(path, 0o600)
    return written
