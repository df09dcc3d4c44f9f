"""``ccgate bench transfer``: envelope upload and download through a real gateway on loopback.

A gateway process (``ccgate serve`` under uvicorn) is started with a temporary data directory
(SQLite, blobs in the same directory; the system's temporary directory by default, i.e. a disk, as a
real gateway's blob store would be). The benchmark bootstraps an admin, makes an owner, uploads one
generated envelope with its digest declared, deposits its key, and downloads it while checking the
digest — timing the upload and the download end to end, as a client sees them, ``repeat`` times
(each run a new version of the artefact, over a fresh connection).
"""

import hashlib
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from enclave_runner.protocol.envelope import encrypt_file
from enclave_runner.protocol.sealing import SealContext, seal_data_key
from gateway.client.http import GatewayClient
from gateway.domain import ArtefactKind, Role
from gateway.local_gateway import local_gateway
from gateway.schemas.artefacts import ArtefactCreate, KeyDeposit

GIB: Final = 1 << 30
MIB: Final = 1 << 20
TARGET_MB_PER_SECOND: Final = 500.0


@dataclass
class TransferReport:
    """What ``ccgate bench transfer`` prints."""

    size: int
    directory: str
    http: str
    chunk_size: int
    upload_seconds: list[float] = field(default_factory=list)
    download_seconds: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def rate(self, seconds: list[float], best: bool) -> float:
        """MB/s (10^6 bytes) of the fastest (``best``) or the median run."""
        chosen = min(seconds) if best else statistics.median(seconds)
        return self.size / chosen / 1e6


def _make_envelope(directory: Path, size: int, artefact_id: str) -> tuple[Path, bytes, bytes]:
    """Write ``size`` random bytes, encrypt them; return (envelope path, data key, envelope SHA-256)."""
    plain, envelope = directory / "plain.bin", directory / "envelope.ccge"
    with open(plain, "wb") as out:
        for _ in range(size // MIB):
            out.write(os.urandom(MIB))
        out.write(os.urandom(size % MIB))
    key = os.urandom(32)
    encrypt_file(plain, envelope, key, artefact_id)
    plain.unlink()
    digest = hashlib.sha256()
    with open(envelope, "rb") as source:
        while chunk := source.read(8 * MIB):
            digest.update(chunk)
    return envelope, key, digest.digest()


def _read(path: Path, chunk_size: int) -> Iterator[bytes]:
    with open(path, "rb", buffering=0) as source:
        while chunk := source.read(chunk_size):
            yield chunk


def _one_run(  # noqa: PLR0917 - the run's inputs, all needed.
    owner: GatewayClient,
    artefact_id: str,
    version: int,
    envelope: Path,
    digest: bytes,
    chunk_size: int,
    deposit: KeyDeposit,
) -> tuple[float, float]:
    """One timed upload and one timed download; returns their seconds."""
    length = envelope.stat().st_size
    started = time.perf_counter()
    owner.upload_content(artefact_id, version, _read(envelope, chunk_size), length, digest)
    upload = time.perf_counter() - started
    owner.deposit_key(artefact_id, version, deposit)
    started = time.perf_counter()
    received = 0
    with owner.download(artefact_id, version) as chunks:
        for chunk in chunks:  # The digest is checked as the last chunk arrives.
            received += len(chunk)
    download = time.perf_counter() - started
    if received != length:
        raise RuntimeError(f"downloaded {received} of {length} bytes")
    return upload, download


def run_transfer_bench(
    size: int = GIB,
    *,
    directory: Path | None = None,
    http: str = "httptools",
    chunk_size: int = 4 * MIB,
    repeat: int = 3,
) -> TransferReport:
    """Upload and download one ``size``-byte-plaintext envelope ``repeat`` times through a fresh gateway.

    Each run uploads the envelope as a new version of the artefact, deposits its key and downloads it.

    Raises:
        RuntimeError: the gateway did not start.
        ApiProblemError: a step was refused.
    """
    root = directory or Path(tempfile.gettempdir())
    with tempfile.TemporaryDirectory(prefix="ccgate-bench-transfer-", dir=root) as scratch:
        work = Path(scratch)
        report = TransferReport(size, str(root), http, chunk_size)
        with local_gateway(work / "data", http=http) as gateway:
            with GatewayClient(gateway.url, gateway.admin_token) as admin:
                tenant = admin.create_tenant("bench")
                owner_token = admin.create_principal(tenant.id, "owner", [Role.OWNER]).token.token
            with GatewayClient(gateway.url, owner_token, timeout=600) as owner:
                artefact = owner.create_artefact(ArtefactCreate(kind=ArtefactKind.DATASET, name="bench"))
                envelope, key, digest = _make_envelope(work, size, artefact.id)
                report.size = envelope.stat().st_size
                kek = owner.kek()
                sealed = seal_data_key(key, kek.public_key, SealContext.deposit(artefact.id, kek.kek_id))
                deposit = KeyDeposit(kek_id=kek.kek_id, sealed_key=sealed, ciphertext_digest=digest.hex())
                for run in range(repeat):
                    version = 1 if run == 0 else owner.add_version(artefact.id).versions[-1].version
                    upload, download = _one_run(
                        owner, artefact.id, version, envelope, digest, chunk_size, deposit
                    )
                    report.upload_seconds.append(upload)
                    report.download_seconds.append(download)
        if str(root).startswith("/dev/shm"):
            report.notes.append(
                "blobs on tmpfs: no O_DIRECT there, so every byte stored allocates page-cache memory"
            )
        return report
