"""The runner's side of the release protocol over HTTP (DESIGN §5).

The runner is an untrusted client of the gateway: it gets problem codes, never internals. Retries
(tenacity) are used only where repeating is safe: downloads, and an upload that never reached the
server. A nonce is never retried: a failed attestation starts over with a new challenge.
"""

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Protocol

import httpx
import tenacity

from enclave_runner.errors import GatewayRefusedError, GatewayUnreachableError, InputError
from enclave_runner.protocol.messages import (
    AttestationRequest,
    AttestationResponse,
    Challenge,
    EvidenceMessage,
    JobManifest,
    b64encode,
)
from enclave_runner.protocol.receipts import SignedReceipt

SEALED_KEY_HEADER: Final = "X-Ccgate-Sealed-Key"
RECEIPT_HEADER: Final = "X-Ccgate-Receipt"
CHUNK: Final = 1 << 20
_RETRYABLE_STATUS: Final = {502, 503, 504}


class _TransientError(Exception):
    """A transient failure worth another try."""


def _raise_for_problem(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        document = response.json()
        code = str(document.get("code") or document.get("type") or "gateway.error")
        detail = str(document.get("detail") or document.get("title") or "")
    except (ValueError, AttributeError):
        code, detail = "gateway.error", response.text[:200]
    raise GatewayRefusedError(code, response.status_code, detail)


_retry_transient = tenacity.retry(
    retry=tenacity.retry_if_exception_type((_TransientError, httpx.TransportError)),
    stop=tenacity.stop_after_attempt(4),
    wait=tenacity.wait_exponential(multiplier=0.2, max=3),
    reraise=True,
)


class RunnerGateway(Protocol):
    """What the lifecycle needs from the gateway (``GatewayClient``; tests pass a fake gateway)."""

    def claim(self, job_id: str) -> JobManifest:
        """Claim a job for this node; returns its manifest."""
        ...

    def challenge(self, job_id: str) -> Challenge:
        """Get a fresh single-use nonce."""
        ...

    def attest(self, job_id: str, request: AttestationRequest) -> AttestationResponse:
        """Post the Evidence; returns the sealed keys, or raises with the gateway's code."""
        ...

    def download(self, url: str, session_token: str, target: Path, expected_digest: str) -> None:
        """Stream a ciphertext to ``target``, checking its digest."""
        ...

    def upload_result(
        self, job_id: str, session_token: str, envelope: Path, sealed_key: bytes, receipt: SignedReceipt
    ) -> None:
        """Upload the result with its sealed key and receipt."""
        ...

    def report_failure(self, job_id: str, token: str | None, code: str, stage: str) -> None:
        """Report a failure after release, by code."""
        ...


@dataclass
class OfferedJob:
    """A job the gateway offers to this node."""

    job_id: str
    state: str


class GatewayClient:
    """HTTP client for the runner routes, authenticated with the node credential."""

    def __init__(self, base_url: str, credential: str, transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {credential}"},
            timeout=httpx.Timeout(60.0, connect=10.0),
            transport=transport,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def offered_jobs(self) -> list[OfferedJob]:
        """Jobs assigned or open to this node."""
        response = self._http.get("/v1/runner/jobs")
        _raise_for_problem(response)
        return [OfferedJob(str(item["job_id"]), str(item["state"])) for item in response.json()["jobs"]]

    def claim(self, job_id: str) -> JobManifest:
        """Claim a job for this node; returns its manifest."""
        response = self._http.post(f"/v1/jobs/{job_id}/claim")
        _raise_for_problem(response)
        return JobManifest.model_validate(response.json()["manifest"])

    def challenge(self, job_id: str) -> Challenge:
        """Get a fresh single-use nonce for one attestation attempt."""
        response = self._http.post(f"/v1/jobs/{job_id}/challenge")
        _raise_for_problem(response)
        return Challenge.model_validate_json(response.content)

    def attest(self, job_id: str, request: AttestationRequest) -> AttestationResponse:
        """Post the Evidence; returns the sealed keys, or raises with the gateway's code."""
        response = self._http.post(
            f"/v1/jobs/{job_id}/attestation",
            content=request.model_dump_json(),
            headers={"Content-Type": "application/json"},
        )
        _raise_for_problem(response)
        return AttestationResponse.model_validate_json(response.content)

    @_retry_transient
    def download(self, url: str, session_token: str, target: Path, expected_digest: str) -> None:
        """Stream a ciphertext to ``target`` and check its SHA-256 before anything decrypts it.

        Raises:
            InputError: the digest does not match (the file is removed).
            GatewayRefusedError: the gateway refused the download.
        """
        digest = hashlib.sha256()
        with self._http.stream("GET", url, headers={"Authorization": f"Bearer {session_token}"}) as response:
            if response.status_code in _RETRYABLE_STATUS:
                raise _TransientError(f"HTTP {response.status_code}")
            if not response.is_success:
                response.read()
                _raise_for_problem(response)
            with open(target, "wb") as handle:
                for chunk in response.iter_bytes(CHUNK):
                    digest.update(chunk)
                    handle.write(chunk)
        if digest.hexdigest() != expected_digest:
            target.unlink(missing_ok=True)
            raise InputError(f"the ciphertext of {url} does not match its digest; nothing was decrypted")

    @tenacity.retry(
        retry=tenacity.retry_if_exception_type(httpx.ConnectError),
        stop=tenacity.stop_after_attempt(4),
        wait=tenacity.wait_exponential(multiplier=0.2, max=3),
        reraise=True,
    )
    def upload_result(
        self, job_id: str, session_token: str, envelope: Path, sealed_key: bytes, receipt: SignedReceipt
    ) -> None:
        """Upload the result envelope with its sealed key and signed receipt (retried only if never sent)."""

        def body() -> Iterator[bytes]:
            with open(envelope, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    yield chunk

        headers = {
            "Authorization": f"Bearer {session_token}",
            "Content-Type": "application/octet-stream",
            "Content-Length": str(envelope.stat().st_size),
            SEALED_KEY_HEADER: b64encode(sealed_key),
            RECEIPT_HEADER: b64encode(receipt.model_dump_json().encode()),
        }
        response = self._http.put(f"/v1/jobs/{job_id}/result", content=body(), headers=headers)
        _raise_for_problem(response)

    def enrollment_challenge(self, node_id: str) -> tuple[bytes, datetime]:
        """A fresh enrolment nonce for this (pending) node; returns (nonce, expiry)."""
        response = self._http.post(f"/v1/nodes/{node_id}/enrollment-challenge")
        _raise_for_problem(response)
        document = response.json()
        return base64.b64decode(document["nonce"]), datetime.fromisoformat(document["expires_at"])

    def enroll(self, node_id: str, nonce: bytes, evidence: EvidenceMessage) -> str:
        """Post enrolment Evidence; returns the node's new state."""
        body = {"nonce": b64encode(nonce), "evidence": evidence.model_dump(mode="json")}
        response = self._http.post(f"/v1/nodes/{node_id}/enrollment", json=body)
        _raise_for_problem(response)
        return str(response.json()["state"])

    def report_failure(self, job_id: str, token: str | None, code: str, stage: str) -> None:
        """Tell the gateway this job failed, with a code only (details stay in the TEE)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = self._http.post(
                f"/v1/jobs/{job_id}/failure", json={"code": code, "stage": stage}, headers=headers
            )
        except httpx.TransportError as exc:
            raise GatewayUnreachableError(f"the failure report did not reach the gateway: {exc}") from exc
        _raise_for_problem(response)
