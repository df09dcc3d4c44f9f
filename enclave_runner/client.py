"""The runner's side of the release protocol over HTTP (DESIGN §5).

The runner is an untrusted client of the gateway: it gets problem codes, never internals. Retries
(tenacity) are used only where repeating is safe: downloads (each attempt restarts the file and its
digest), and an upload that never reached the server (a failed connect). A nonce is never retried:
a challenge, an attestation or a claim is sent once, and a failure ends that attempt. Once retries
are exhausted, or a request cannot be sent at all, the caller gets ``GatewayUnreachableError``.
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

from enclave_runner.errors import GatewayRefusedError, GatewayUnreachableError, InputDigestError
from enclave_runner.protocol.messages import (
    AttestationRequest,
    AttestationResponse,
    Challenge,
    EvidenceMessage,
    FailureStage,
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


@dataclass(frozen=True)
class RetryPolicy:
    """How the requests that are safe to repeat are retried: at most ``attempts`` tries, waiting
    ``first_wait_seconds`` after the first failure and twice as long after each next one, capped."""

    attempts: int = 4
    first_wait_seconds: float = 0.2
    max_wait_seconds: float = 3.0

    def __post_init__(self) -> None:
        if not 1 <= self.attempts <= 10 or self.first_wait_seconds < 0 or self.max_wait_seconds < 0:
            raise ValueError("a retry policy makes 1 to 10 attempts and waits a non-negative time")

    def retrying(self, *retry_on: type[BaseException]) -> tenacity.Retrying:
        """A tenacity controller retrying only on ``retry_on``, re-raising the last failure."""
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(retry_on),
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=tenacity.wait_exponential(multiplier=self.first_wait_seconds, max=self.max_wait_seconds),
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

    def report_failure(self, job_id: str, token: str | None, code: str, stage: FailureStage) -> None:
        """Report a failure after release, by code and the stage it happened in."""
        ...


@dataclass
class OfferedJob:
    """A job the gateway offers to this node."""

    job_id: str
    state: str


class GatewayClient:
    """HTTP client for the runner routes, authenticated with the node credential."""

    def __init__(
        self,
        base_url: str,
        credential: str,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {credential}"},
            timeout=httpx.Timeout(60.0, connect=10.0),
            transport=transport,
        )
        self._retry = retry or RetryPolicy()

    def _send(
        self,
        method: str,
        url: str,
        *,
        content: str | None = None,
        json: object = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request, once; a transport failure becomes ``GatewayUnreachableError``.

        Raises:
            GatewayUnreachableError: the request did not complete (it may or may not have arrived).
            GatewayRefusedError: the gateway answered with a problem.
        """
        try:
            response = self._http.request(method, url, content=content, json=json, headers=headers)
        except httpx.TransportError as exc:
            raise GatewayUnreachableError(f"{method} {url} did not complete: {exc!r}") from exc
        _raise_for_problem(response)
        return response

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def offered_jobs(self) -> list[OfferedJob]:
        """Jobs assigned or open to this node."""
        response = self._send("GET", "/v1/runner/jobs")
        return [OfferedJob(str(item["job_id"]), str(item["state"])) for item in response.json()["jobs"]]

    def claim(self, job_id: str) -> JobManifest:
        """Claim a job for this node; returns its manifest."""
        response = self._send("POST", f"/v1/jobs/{job_id}/claim")
        return JobManifest.model_validate(response.json()["manifest"])

    def challenge(self, job_id: str) -> Challenge:
        """Get a fresh single-use nonce for one attestation attempt."""
        response = self._send("POST", f"/v1/jobs/{job_id}/challenge")
        return Challenge.model_validate_json(response.content)

    def attest(self, job_id: str, request: AttestationRequest) -> AttestationResponse:
        """Post the Evidence, once: the nonce in it is single-use, so a failure is never retried.

        Raises:
            GatewayRefusedError: the gateway denied (policy, Evidence, replay...), with its code.
            GatewayUnreachableError: the request did not complete.
        """
        response = self._send(
            "POST",
            f"/v1/jobs/{job_id}/attestation",
            content=request.model_dump_json(),
            headers={"Content-Type": "application/json"},
        )
        return AttestationResponse.model_validate_json(response.content)

    def download(self, url: str, session_token: str, target: Path, expected_digest: str) -> None:
        """Stream a ciphertext to ``target`` and check its SHA-256 before anything decrypts it.

        A dropped connection or a 502/503/504 is retried (each attempt rewrites the file and restarts
        the digest); a digest mismatch or a refusal is not.

        Raises:
            InputDigestError: the digest does not match (the file is removed).
            GatewayRefusedError: the gateway refused the download.
            GatewayUnreachableError: every attempt failed in transit.
        """
        retrying = self._retry.retrying(_TransientError, httpx.TransportError)
        try:
            digest = retrying(self._download_once, url, session_token, target)
        except (_TransientError, httpx.TransportError) as exc:
            target.unlink(missing_ok=True)
            raise GatewayUnreachableError(
                f"the download of {url} failed {self._retry.attempts} times: {exc!r}"
            ) from exc
        if digest != expected_digest:
            target.unlink(missing_ok=True)
            raise InputDigestError(f"the ciphertext of {url} does not match its digest; it was not decrypted")

    def _download_once(self, url: str, session_token: str, target: Path) -> str:
        """One attempt: the file rewritten from its first byte; returns the SHA-256 of what arrived."""
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
        return digest.hexdigest()

    def upload_result(
        self, job_id: str, session_token: str, envelope: Path, sealed_key: bytes, receipt: SignedReceipt
    ) -> None:
        """Upload the result envelope with its sealed key and signed receipt.

        Only a failed connect is retried: then nothing reached the gateway. Any later failure may
        have stored the result already, so it is not repeated.

        Raises:
            GatewayRefusedError: the gateway refused the result.
            GatewayUnreachableError: the upload did not complete.
        """
        retrying = self._retry.retrying(httpx.ConnectError)
        try:
            retrying(self._upload_once, job_id, session_token, envelope, sealed_key, receipt)
        except httpx.TransportError as exc:
            raise GatewayUnreachableError(f"the result upload of {job_id} did not complete: {exc!r}") from exc

    def _upload_once(
        self, job_id: str, session_token: str, envelope: Path, sealed_key: bytes, receipt: SignedReceipt
    ) -> None:
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
        document = self._send("POST", f"/v1/nodes/{node_id}/enrollment-challenge").json()
        return base64.b64decode(document["nonce"]), datetime.fromisoformat(document["expires_at"])

    def enroll(self, node_id: str, nonce: bytes, evidence: EvidenceMessage) -> str:
        """Post enrolment Evidence; returns the node's new state."""
        body = {"nonce": b64encode(nonce), "evidence": evidence.model_dump(mode="json")}
        return str(self._send("POST", f"/v1/nodes/{node_id}/enrollment", json=body).json()["state"])

    def report_failure(self, job_id: str, token: str | None, code: str, stage: FailureStage) -> None:
        """Tell the gateway this job failed, with a code and a stage only (details stay in the TEE).

        Raises:
            GatewayRefusedError: the gateway refused the report.
            GatewayUnreachableError: the report did not reach the gateway.
        """
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = {"code": code, "stage": FailureStage(stage).value}
        self._send("POST", f"/v1/jobs/{job_id}/failure", json=body, headers=headers)
