"""The data owner's pipeline: encrypt, upload and deposit in one streaming pass; download and decrypt.

``upload_file`` creates the artefact (or a new version of one), generates a fresh data key and writes
it to a 0600 key file, then streams the file through the envelope encryption straight into the
upload request — the ciphertext is never written to disk or held whole in memory — hashing it on the
way. The exact envelope size is known in advance (``ciphertext_size``), so the upload carries an exact
Content-Length. Last, the data key is sealed to the gateway's current KEK and deposited together with
the ciphertext digest the client computed, which the gateway checks against what it stored.
"""

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from enclave_runner.protocol.envelope import ciphertext_size, decrypt_stream, encrypt_stream
from enclave_runner.protocol.sealing import SealContext, seal_data_key
from gateway.client.http import GatewayClient
from gateway.errors import KeyFileExistsError
from gateway.keyfiles import DATA_KEY_SIZE, read_key_file, write_key_file
from gateway.schemas.artefacts import ArtefactCreate, ArtefactOut, KeyDeposit, VersionOut

READ_CHUNK = 1 << 20
Progress = Callable[[int], None]


@dataclass(frozen=True)
class UploadResult:
    """What an upload made: the artefact, the version now ready, and where the data key is."""

    artefact: ArtefactOut
    version: VersionOut
    key_file: Path
    ciphertext_digest: str


def _read(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as source:
        while chunk := source.read(READ_CHUNK):
            yield chunk


def _hashed(chunks: Iterator[bytes], hasher: "hashlib._Hash") -> Iterator[bytes]:
    for chunk in chunks:
        hasher.update(chunk)
        yield chunk


def upload_file(
    client: GatewayClient,
    source: Path,
    key_file: Path,
    *,
    create: ArtefactCreate | None = None,
    artefact_id: str | None = None,
    progress: Progress | None = None,
) -> UploadResult:
    """Encrypt ``source`` and upload it as a new artefact (``create``) or a new version (``artefact_id``).

    Raises:
        KeyFileExistsError: ``key_file`` exists (a data key is never overwritten or reused).
        ApiProblemError: the gateway refused a step (the key file stays, so a retry can reuse it).
        OSError: the source cannot be read.
    """
    if key_file.exists():
        raise KeyFileExistsError(f"{key_file} exists; every version gets a fresh key in a new key file")
    if create is not None:
        artefact = client.create_artefact(create)
    elif artefact_id is not None:
        artefact = client.add_version(artefact_id)
    else:
        raise ValueError("give either create or artefact_id")
    version = artefact.versions[-1].version
    key = os.urandom(DATA_KEY_SIZE)
    write_key_file(key_file, key)
    size = source.stat().st_size
    hasher = hashlib.sha256()
    envelope = encrypt_stream(_read(source), key, artefact.id, plaintext_length=size, progress=progress)
    client.upload_content(artefact.id, version, _hashed(envelope, hasher), ciphertext_size(size))
    digest = hasher.hexdigest()
    kek = client.kek()
    sealed = seal_data_key(key, kek.public_key, SealContext.deposit(artefact.id, kek.kek_id))
    stored = client.deposit_key(
        artefact.id, version, KeyDeposit(kek_id=kek.kek_id, sealed_key=sealed, ciphertext_digest=digest)
    )
    return UploadResult(client.artefact(artefact.id), stored, key_file, digest)


def download_file(
    client: GatewayClient,
    artefact_id: str,
    target: Path,
    *,
    version: int | None = None,
    key_file: Path | None = None,
    progress: Progress | None = None,
) -> int:
    """Download an envelope to ``target`` (decrypted with ``key_file`` when given); return bytes written.

    The output is written to a 0600 temporary file beside ``target`` and renamed only when the whole
    download verified (digest, and every segment when decrypting), so a failure leaves nothing.

    Raises:
        ApiProblemError, ContentDigestError, EnvelopeError, KeyFileError, OSError.
    """
    key = read_key_file(key_file) if key_file is not None else None
    partial = target.with_name(f".{target.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    written = 0
    try:
        with os.fdopen(fd, "wb") as out, client.download(artefact_id, version) as chunks:
            stream = decrypt_stream(chunks, key, artefact_id) if key is not None else chunks
            for piece in stream:
                out.write(piece)
                written += len(piece)
                if progress is not None:
                    progress(len(piece))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return written
