"""A fake gateway for the runner's lifecycle: the runner routes over ``httpx.MockTransport``.

The runner's real ``GatewayClient`` talks to it, so its digest checks, session token and headers are
exercised; the fake encrypts real envelopes and seals real keys, but verifies no Evidence (that is
the gateway's job, tested there) beyond what the runner controls: the report data must bind the
session's nonce, and a nonce is accepted once. A test can tamper with what it serves (the ciphertext,
the key a release is sealed to, the digests it releases, the bundle's members) and inject faults
into any route: an HTTP status, a transport exception, or a download cut off halfway. Failure reports
are parsed with the gateway's own schema, so a stage or code the gateway would refuse is refused here.
"""

import base64
import hashlib
import io
import json
import os
import re
import tarfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import httpx
import nacl.public
from pydantic import ValidationError

from enclave_runner.client import GatewayClient, RetryPolicy
from enclave_runner.protocol.binding import report_data
from enclave_runner.protocol.bundle_format import MANIFEST_NAME, BundleManifest
from enclave_runner.protocol.envelope import encrypt_stream
from enclave_runner.protocol.messages import (
    AttestationRequest,
    AttestationResponse,
    Challenge,
    CpuEvidenceMessage,
    DeniedArtefact,
    JobManifest,
    ManifestArtefact,
    ReleasedKey,
    Requirements,
)
from enclave_runner.protocol.receipts import SignedReceipt, verify_receipt
from enclave_runner.protocol.sealing import SealContext, seal_data_key
from gateway.schemas.jobs import FailureReport

SESSION_TOKEN = "session-token-1"
CREDENTIAL = "node-credential"
JOB_ID = "job_1"
TarMember = Callable[[tarfile.TarFile], None]
# A fault injected into one request: answer with this HTTP status, raise this transport error, or
# ("cut") serve half a download and then drop the connection.
Fault = int | type[httpx.TransportError] | Literal["cut"]
NO_WAIT = RetryPolicy(first_wait_seconds=0)


class FakeCpuAttester:
    """Returns a report that carries the report data; the fake gateway checks nothing else."""

    def collect(self, report_data: bytes) -> CpuEvidenceMessage:
        """A simulated-type report wrapping ``report_data``."""
        return CpuEvidenceMessage(type="simulated", report=base64.b64encode(report_data).decode())


def file_member(name: str, data: bytes, mode: int = 0o644) -> TarMember:
    """A regular file member."""

    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), mode
        tar.addfile(info, io.BytesIO(data))

    return add


def special_member(name: str, kind: bytes, linkname: str = "", size: int = 0) -> TarMember:
    """A link, device or FIFO member, or a header that declares ``size`` bytes it does not carry."""

    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.size = kind, linkname, size
        tar.addfile(info, io.BytesIO(b"\x00" * min(size, 16)) if size else None)

    return add


def _gnu_number(value: int) -> bytes:
    """A 12-byte GNU tar number: octal when it fits, else base-256 with the high bit set."""
    if value < 8**11:
        return b"%011o\x00" % value
    return b"\x80" + value.to_bytes(11, "big")


def sparse_member(name: str, apparent_size: int) -> TarMember:
    """A GNU sparse member: one data byte in the archive, ``apparent_size`` bytes once unpacked.

    tarfile cannot write sparse members, so the header is laid out by hand (GNU tar's format: the
    sparse map at offset 386, the real size at 483), which is what a hostile bundle would do too.
    """

    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.size = 1
        header = bytearray(info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape"))
        header[156:157] = tarfile.GNUTYPE_SPARSE
        # One sparse region: the single stored byte sits at the very end of the apparent file.
        header[386:398] = _gnu_number(apparent_size - 1)
        header[398:410] = _gnu_number(1)
        header[482:483] = b"\x00"
        header[483:495] = _gnu_number(apparent_size)
        header[148:156] = b" " * 8
        header[148:156] = b"%06o\x00 " % sum(header[:512])
        block = bytes(header[:512]) + b"x" + b"\x00" * 511
        assert tar.fileobj is not None
        tar.fileobj.write(block)
        tar.offset += len(block)

    return add


def bundle_bytes(script: str, *extra: TarMember, manifest: BundleManifest | None = None) -> bytes:
    """A model bundle: the manifest (entrypoint ``run`` = ``python3 job.py``), ``job.py``, ``extra``."""
    manifest = manifest or BundleManifest({"run": ("python3", "job.py")})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        file_member(MANIFEST_NAME, json.dumps(manifest.document()).encode())(tar)
        file_member("job.py", script.encode(), 0o755)(tar)
        for add in extra:
            add(tar)
    return buffer.getvalue()


@dataclass
class StoredArtefact:
    """One input as the fake stores it: its key, and the ciphertext it serves (tamper with it)."""

    artefact_id: str
    kind: str
    key: bytes
    ciphertext: bytes
    digest: str = ""

    def __post_init__(self) -> None:
        self.digest = self.digest or hashlib.sha256(self.ciphertext).hexdigest()

    @classmethod
    def encrypt(cls, artefact_id: str, kind: str, plaintext: bytes) -> "StoredArtefact":
        """Encrypt ``plaintext`` under a fresh key as the owner would."""
        key = os.urandom(32)
        ciphertext = b"".join(encrypt_stream([plaintext], key, artefact_id, plaintext_length=len(plaintext)))
        return cls(artefact_id, kind, key, ciphertext)


@dataclass
class FakeGateway:
    """The runner routes of one job; records what the runner reported and uploaded."""

    dataset: StoredArtefact
    model: StoredArtefact
    max_runtime_seconds: int = 60
    seal_to: bytes | None = None  # seal the released keys to this key instead of the runner's
    recipient: nacl.public.PrivateKey = field(default_factory=nacl.public.PrivateKey.generate)
    released_digests: dict[str, str] = field(default_factory=dict)  # release another digest than pinned
    deny: tuple[str, ...] = ()  # answer 200 with these rule codes denied and nothing released
    faults: dict[str, list[Fault]] = field(default_factory=dict)  # route -> faults, used up in order
    attempts: Counter[str] = field(default_factory=Counter)  # route -> requests received
    failures: list[dict[str, str]] = field(default_factory=list)
    results: list[tuple[bytes, SignedReceipt]] = field(default_factory=list)
    sealed_result_keys: list[bytes] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)
    nonces: dict[str, str] = field(default_factory=dict)  # session id -> the nonce it was issued
    attested: list[str] = field(default_factory=list)  # session ids, in the order they were attested
    runner_ed25519: bytes = b""

    @property
    def manifest(self) -> JobManifest:
        """The job's manifest (the inputs pinned by their digests)."""
        return JobManifest(
            job_id=JOB_ID,
            tenant="ten_1",
            datasets=(ManifestArtefact(artefact_id=self.dataset.artefact_id, version=1, kind="dataset",
                                       ciphertext_digest=self.dataset.digest),),
            model=ManifestArtefact(artefact_id=self.model.artefact_id, version=1, kind="model",
                                   ciphertext_digest=self.model.digest),
            entrypoint="run",
            result_recipient=base64.b64encode(bytes(self.recipient.public_key)).decode(),
            requirements=Requirements(tee_types=("simulated",), gpu_count=0),
            max_runtime_seconds=self.max_runtime_seconds,
        )  # fmt: skip

    def client(self, retry: RetryPolicy = NO_WAIT) -> GatewayClient:
        """The runner's real client, wired to this fake (retrying without waiting, by default)."""
        transport = httpx.MockTransport(self.handle)
        return GatewayClient("http://gateway.test", CREDENTIAL, transport=transport, retry=retry)

    def _artefact(self, artefact_id: str) -> StoredArtefact:
        return self.dataset if artefact_id == self.dataset.artefact_id else self.model

    def _attest(self, request: AttestationRequest) -> AttestationResponse | httpx.Response:
        nonce = self.nonces.get(request.session_id)
        if nonce is None or request.session_id in self.attested:
            return httpx.Response(409, json={"code": "session.nonce_reused"})
        self.attested.append(request.session_id)
        expected = report_data(
            bytes.fromhex(nonce),
            base64.b64decode(request.keys.x25519),
            base64.b64decode(request.keys.ed25519),
            self.manifest.digest(),
        )
        if base64.b64decode(request.evidence.cpu.report) != expected:
            return httpx.Response(422, json={"code": "evidence.report_data_mismatch"})
        self.runner_ed25519 = base64.b64decode(request.keys.ed25519)
        if self.deny:
            denied = (DeniedArtefact(artefact_id=self.dataset.artefact_id, reasons=self.deny),)
            return AttestationResponse(attestation_token="t", releases=(), denied=denied, session_token=None)
        public = self.seal_to or base64.b64decode(request.keys.x25519)
        session_id = request.session_id
        releases = tuple(
            ReleasedKey(
                artefact_id=stored.artefact_id,
                version=1,
                sealed_key=base64.b64encode(
                    seal_data_key(
                        stored.key, public, SealContext.release(stored.artefact_id, JOB_ID, session_id)
                    )
                ).decode(),
                content_url=f"/v1/artefacts/{stored.artefact_id}/content",
                ciphertext_digest=self.released_digests.get(stored.artefact_id, stored.digest),
                ciphertext_size=len(stored.ciphertext),
            )
            for stored in (self.dataset, self.model)
        )
        return AttestationResponse(
            attestation_token="t", releases=releases, denied=(), session_token=SESSION_TOKEN
        )

    @staticmethod
    def _route(path: str) -> str:
        if match := re.fullmatch(r"/v1/artefacts/([^/]+)/content", path):
            return f"download:{match.group(1)}"
        if match := re.fullmatch(rf"/v1/jobs/{JOB_ID}/([a-z]+)", path):
            return match.group(1)
        return path

    def _fault(self, route: str, request: httpx.Request) -> httpx.Response | None:
        """The next fault injected into ``route``, if any is left: an answer, or an exception raised."""
        pending = self.faults.get(route)
        if not pending:
            return None
        fault = pending.pop(0)
        if isinstance(fault, int):
            return httpx.Response(fault, json={"code": "gateway.unavailable"})
        if fault == "cut":
            ciphertext = self._artefact(route.removeprefix("download:")).ciphertext

            def half_then_drop() -> Iterator[bytes]:
                yield ciphertext[: len(ciphertext) // 2]
                raise httpx.ReadError("the connection dropped", request=request)

            return httpx.Response(200, content=half_then_drop())
        raise fault("injected by the fake gateway", request=request)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Route one request."""
        path, authorization = request.url.path, request.headers.get("Authorization", "")
        route = self._route(path)
        self.attempts[route] += 1
        if (faulty := self._fault(route, request)) is not None:
            return faulty
        if route == "claim":
            return httpx.Response(200, json={"manifest": json.loads(self.manifest.canonical())})
        if route == "challenge":
            challenge = Challenge(
                session_id=f"ses_{len(self.nonces) + 1}",
                nonce=os.urandom(32).hex(),
                expires_at=datetime.now(UTC) + timedelta(minutes=5),
                manifest=self.manifest,
            )
            self.nonces[challenge.session_id] = challenge.nonce
            return httpx.Response(201, content=challenge.model_dump_json())
        if route == "attestation":
            answer = self._attest(AttestationRequest.model_validate_json(request.content))
            if isinstance(answer, httpx.Response):
                return answer
            return httpx.Response(200, content=answer.model_dump_json())
        if authorization != f"Bearer {SESSION_TOKEN}" and route != "failure":
            return httpx.Response(401, json={"code": "auth.invalid_token"})
        if route.startswith("download:"):
            artefact_id = route.removeprefix("download:")
            self.downloads.append(artefact_id)
            return httpx.Response(200, content=self._artefact(artefact_id).ciphertext)
        if route == "result":
            receipt = SignedReceipt.model_validate_json(base64.b64decode(request.headers["X-Ccgate-Receipt"]))
            verify_receipt(receipt, self.runner_ed25519)
            self.results.append((request.read(), receipt))
            self.sealed_result_keys.append(base64.b64decode(request.headers["X-Ccgate-Sealed-Key"]))
            return httpx.Response(200, json={"state": "completed"})
        if route == "failure":
            try:
                report = FailureReport.model_validate_json(request.content)
            except ValidationError:
                return httpx.Response(422, json={"code": "request.invalid"})
            self.failures.append(report.model_dump() | {"authorization": authorization})
            return httpx.Response(200, json={"state": "failed"})
        return httpx.Response(404, json={"code": "not_found"})
