"""``GatewayClient``: one method per API operation, typed with the API's own wire models.

Only idempotent requests (GET) are retried, with ``tenacity``, on connection failures and 502/503/504;
a POST or PUT is sent once, because repeating a create or a deposit is the caller's decision. Uploads
stream from an iterator of chunks and downloads stream to a callback, so neither is held in memory.
"""

import base64
import hashlib
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Final, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from gateway.client.errors import ApiProblemError, ContentDigestError, GatewayUnreachableError
from gateway.domain import DocumentKind, KycStatus, NodeState, Role, TenantKind
from gateway.schemas import artefacts as a
from gateway.schemas import identity as i
from gateway.schemas import jobs as j
from gateway.schemas import ledger as lg
from gateway.schemas import nodes as n
from gateway.schemas import policies as p

_M = TypeVar("_M", bound=BaseModel)
_RETRY_STATUSES: Final = frozenset({502, 503, 504})
_DIGEST: Final = re.compile(r"sha-256=:([A-Za-z0-9+/=]+):")
DOWNLOAD_CHUNK: Final = 1 << 20


class _RetryableError(Exception):
    """An idempotent request that may succeed if sent again."""


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, _RetryableError | httpx.TransportError)


class GatewayClient:
    """A synchronous client for one gateway and one caller."""

    def __init__(
        self, url: str, token: str | None = None, *, http: httpx.Client | None = None, timeout: float = 60.0
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = http or httpx.Client(base_url=url, timeout=timeout)
        self._headers = headers

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> "GatewayClient":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self._headers, **kwargs.pop("headers", {})}
        if method == "GET":
            return self._get_with_retries(path, headers=headers, **kwargs)
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise GatewayUnreachableError(f"the gateway did not answer: {exc}") from exc
        return self._checked(response)

    @retry(
        retry=retry_if_exception(_retryable),
        stop=stop_after_attempt(4),
        wait=wait_exponential(multiplier=0.2, max=3),
        reraise=True,
    )
    def _get_once(self, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.get(path, **kwargs)
        if response.status_code in _RETRY_STATUSES:
            raise _RetryableError(response.status_code)
        return response

    def _get_with_retries(self, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._checked(self._get_once(path, **kwargs))
        except _RetryableError as exc:
            raise ApiProblemError(int(str(exc)), f"http.{exc}", "the gateway stayed unavailable") from exc
        except httpx.TransportError as exc:
            raise GatewayUnreachableError(f"the gateway did not answer: {exc}") from exc

    @staticmethod
    def _checked(response: httpx.Response) -> httpx.Response:
        if response.is_success:
            return response
        try:
            body = response.json()
        except ValueError:
            body = None
        raise ApiProblemError.from_body(response.status_code, body)

    def _model(self, model: type[_M], method: str, path: str, **kwargs: Any) -> _M:
        return model.model_validate_json(self._request(method, path, **kwargs).content)

    def _models(self, model: type[_M], path: str, **kwargs: Any) -> list[_M]:
        return TypeAdapter(list[model]).validate_json(self._request("GET", path, **kwargs).content)  # type: ignore[valid-type]  # a runtime-chosen model, validated by pydantic.

    # ------------------------------------------------------------ identity and admin

    def whoami(self) -> i.WhoAmI:
        """The caller."""
        return self._model(i.WhoAmI, "GET", "/v1/whoami")

    def create_tenant(self, name: str, kind: TenantKind = TenantKind.CUSTOMER) -> i.TenantOut:
        """Create a tenant (admin)."""
        return self._model(i.TenantOut, "POST", "/v1/tenants", json={"name": name, "kind": str(kind)})

    def list_tenants(self) -> list[i.TenantOut]:
        """Every tenant (admin)."""
        return self._models(i.TenantOut, "/v1/tenants")

    def create_principal(
        self, tenant_id: str, name: str, roles: list[Role], ttl_seconds: int | None = None
    ) -> i.PrincipalWithTokenOut:
        """Create a principal and its first token (admin)."""
        body = {"name": name, "roles": [str(r) for r in roles], "token_ttl_seconds": ttl_seconds}
        return self._model(i.PrincipalWithTokenOut, "POST", f"/v1/tenants/{tenant_id}/principals", json=body)

    def issue_token(self, principal_id: str, ttl_seconds: int | None = None) -> i.TokenOut:
        """Another token for a principal (admin)."""
        return self._model(
            i.TokenOut, "POST", f"/v1/principals/{principal_id}/tokens", json={"ttl_seconds": ttl_seconds}
        )

    def revoke_token(self, jti: str) -> i.RevokedTokenOut:
        """Put a token on the deny-list (admin)."""
        return self._model(i.RevokedTokenOut, "DELETE", f"/v1/tokens/{jti}")

    def create_provider(self, name: str) -> i.TenantOut:
        """Register a provider organisation (admin)."""
        return self._model(i.TenantOut, "POST", "/v1/providers", json={"name": name})

    def list_providers(self) -> list[i.TenantOut]:
        """Every provider (admin)."""
        return self._models(i.TenantOut, "/v1/providers")

    def set_kyc(self, tenant_id: str, status: KycStatus) -> i.TenantOut:
        """Set a provider's KYC status (admin)."""
        return self._model(i.TenantOut, "PUT", f"/v1/providers/{tenant_id}/kyc", json={"status": str(status)})

    def rotate_kek(self) -> a.KekRotationOut:
        """Re-seal every stored data key to a new KEK (admin)."""
        return self._model(a.KekRotationOut, "POST", "/v1/kek/rotate")

    def kek(self) -> a.KekOut:
        """The current key-encryption public key (owner)."""
        return self._model(a.KekOut, "GET", "/v1/kek")

    # ------------------------------------------------------------ artefacts

    def create_artefact(self, body: a.ArtefactCreate) -> a.ArtefactOut:
        """Create an artefact (owner)."""
        return self._model(a.ArtefactOut, "POST", "/v1/artefacts", json=body.model_dump(mode="json"))

    def list_artefacts(self) -> list[a.ArtefactOut]:
        """The tenant's artefacts."""
        return self._models(a.ArtefactOut, "/v1/artefacts")

    def artefact(self, artefact_id: str) -> a.ArtefactOut:
        """One artefact with its versions."""
        return self._model(a.ArtefactOut, "GET", f"/v1/artefacts/{artefact_id}")

    def add_version(self, artefact_id: str) -> a.ArtefactOut:
        """Open a new version of an artefact (owner)."""
        return self._model(a.ArtefactOut, "POST", f"/v1/artefacts/{artefact_id}/versions")

    def upload_content(
        self,
        artefact_id: str,
        version: int,
        chunks: Iterable[bytes],
        length: int,
        digest: bytes | None = None,
    ) -> a.VersionOut:
        """Stream an envelope of exactly ``length`` bytes (``digest``: its SHA-256, when known up front)."""
        headers = {"Content-Length": str(length), "Content-Type": "application/octet-stream"}
        if digest is not None:
            headers["Content-Digest"] = f"sha-256=:{base64.b64encode(digest).decode('ascii')}:"
        path = f"/v1/artefacts/{artefact_id}/versions/{version}/content"
        return self._model(a.VersionOut, "PUT", path, content=chunks, headers=headers)

    def deposit_key(self, artefact_id: str, version: int, body: a.KeyDeposit) -> a.VersionOut:
        """Deposit a data key sealed to the current KEK (owner)."""
        path = f"/v1/artefacts/{artefact_id}/versions/{version}/key"
        return self._model(a.VersionOut, "PUT", path, json=body.model_dump(mode="json"))

    @contextmanager
    def download(self, artefact_id: str, version: int | None = None) -> Iterator[Iterator[bytes]]:
        """Stream an envelope; the iterator raises ``ContentDigestError`` at the end if the bytes do not
        hash to the gateway's ``Content-Digest``."""
        path = (
            f"/v1/artefacts/{artefact_id}/content"
            if version is None
            else (f"/v1/artefacts/{artefact_id}/versions/{version}/content")
        )
        try:
            with self._http.stream("GET", path, headers=self._headers) as response:
                if not response.is_success:
                    response.read()
                    self._checked(response)
                yield _verified(response.iter_raw(DOWNLOAD_CHUNK), response.headers.get("content-digest", ""))
        except httpx.TransportError as exc:
            raise GatewayUnreachableError(f"the download failed: {exc}") from exc

    def set_artefact_policy(self, artefact_id: str, name: str, version: int) -> a.ArtefactOut:
        """Point an artefact at a release-policy version (owner)."""
        body = {"policy": {"name": name, "version": version}}
        return self._model(a.ArtefactOut, "PUT", f"/v1/artefacts/{artefact_id}/policy", json=body)

    def retire(self, artefact_id: str) -> a.ArtefactOut:
        """Retire an artefact (owner)."""
        return self._model(a.ArtefactOut, "POST", f"/v1/artefacts/{artefact_id}/retire")

    # ------------------------------------------------------------ nodes

    def register_node(self, body: n.NodeCreate) -> n.NodeRegisteredOut:
        """Register a node (provider)."""
        return self._model(n.NodeRegisteredOut, "POST", "/v1/nodes", json=body.model_dump(mode="json"))

    def list_nodes(self) -> list[n.NodeOut]:
        """The tenant's nodes."""
        return self._models(n.NodeOut, "/v1/nodes")

    def node(self, node_id: str) -> n.NodeOut:
        """One node."""
        return self._model(n.NodeOut, "GET", f"/v1/nodes/{node_id}")

    def enrollment_challenge(self, node_id: str) -> n.ChallengeOut:
        """A fresh enrolment nonce (provider or the node)."""
        return self._model(n.ChallengeOut, "POST", f"/v1/nodes/{node_id}/enrollment-challenge")

    def enroll(self, node_id: str, body: n.EnrollmentIn) -> n.NodeOut:
        """Submit enrolment Evidence (provider or the node)."""
        return self._model(
            n.NodeOut, "POST", f"/v1/nodes/{node_id}/enrollment", json=body.model_dump(mode="json")
        )

    def set_node_state(self, node_id: str, state: NodeState, reason: str) -> n.NodeOut:
        """Quarantine, reinstate or revoke a node (security)."""
        body = {"state": str(state), "reason": reason}
        return self._model(n.NodeOut, "PUT", f"/v1/nodes/{node_id}/state", json=body)

    # ------------------------------------------------------------ policies

    @staticmethod
    def _collection(kind: DocumentKind) -> str:
        return "policies" if kind is DocumentKind.RELEASE_POLICY else "reference-values"

    def upload_document(self, kind: DocumentKind, document: str) -> p.DocumentOut:
        """Upload a policy or reference-values document."""
        return self._model(
            p.DocumentOut, "POST", f"/v1/{self._collection(kind)}", json={"document": document}
        )

    def upload_document_text(self, document: str) -> int:
        """Upload a release policy; return its version (the next one, or the existing identical one)."""
        return self.upload_document(DocumentKind.RELEASE_POLICY, document).version

    def list_documents(self, kind: DocumentKind, name: str | None = None) -> list[p.DocumentOut]:
        """Document versions of the tenant."""
        params = {"name": name} if name else {}
        return self._models(p.DocumentOut, f"/v1/{self._collection(kind)}", params=params)

    def document(self, kind: DocumentKind, name: str, version: int | None = None) -> p.DocumentDetail:
        """One document version (default: the newest)."""
        params = {"version": version} if version else {}
        return self._model(p.DocumentDetail, "GET", f"/v1/{self._collection(kind)}/{name}", params=params)

    def diff_documents(self, kind: DocumentKind, name: str, old: int, new: int) -> p.DiffOut:
        """A unified diff between two versions."""
        params = {"from": old, "to": new}
        return self._model(p.DiffOut, "GET", f"/v1/{self._collection(kind)}/{name}/diff", params=params)

    def set_baseline(self, name: str, version: int) -> p.BaselineOut:
        """Make a policy version the tenant's baseline (security)."""
        return self._model(p.BaselineOut, "PUT", "/v1/baseline", json={"name": name, "version": version})

    def baseline(self) -> p.BaselineOut:
        """The tenant's baseline."""
        return self._model(p.BaselineOut, "GET", "/v1/baseline")

    # ------------------------------------------------------------ ledger

    def tree_head(self) -> lg.TreeHeadOut:
        """A tree head signed now."""
        return self._model(lg.TreeHeadOut, "GET", "/v1/ledger/tree-head")

    def record_tree_head(self) -> lg.TreeHeadOut:
        """Sign and keep a tree head now."""
        return self._model(lg.TreeHeadOut, "POST", "/v1/ledger/tree-heads")

    def inclusion(self, index: int, size: int | None = None) -> lg.InclusionOut:
        """An inclusion proof."""
        params = {"size": size} if size else {}
        return self._model(lg.InclusionOut, "GET", f"/v1/ledger/entries/{index}/inclusion", params=params)

    def consistency(self, old: int, new: int | None = None) -> lg.ConsistencyOut:
        """A consistency proof."""
        params = {"old": old, **({"new": new} if new else {})}
        return self._model(lg.ConsistencyOut, "GET", "/v1/ledger/consistency", params=params)

    def export_ledger(self) -> dict[str, Any]:
        """The ledger export the caller may have, as a JSON document."""
        document = self._request("GET", "/v1/ledger/export").json()
        assert isinstance(document, dict)
        return document

    # ------------------------------------------------------------ jobs

    def submit_job(self, body: j.JobCreate) -> j.JobOut:
        """Submit a job."""
        return self._model(j.JobOut, "POST", "/v1/jobs", json=body.model_dump(mode="json"))

    def list_jobs(self) -> list[j.JobOut]:
        """The tenant's jobs, newest first."""
        return self._model(j.JobList, "GET", "/v1/jobs").jobs

    def job(self, job_id: str) -> j.JobOut:
        """One job."""
        return self._model(j.JobOut, "GET", f"/v1/jobs/{job_id}")

    def cancel_job(self, job_id: str) -> j.JobOut:
        """Cancel a job."""
        return self._model(j.JobOut, "POST", f"/v1/jobs/{job_id}/cancel")

    def result_key(self, job_id: str) -> j.ResultKey:
        """The result's sealed data key."""
        return self._model(j.ResultKey, "GET", f"/v1/jobs/{job_id}/result-key")

    @contextmanager
    def download_result(self, job_id: str) -> Iterator[Iterator[bytes]]:
        """Stream a job's encrypted result, checked against the gateway's ``Content-Digest``."""
        try:
            with self._http.stream("GET", f"/v1/jobs/{job_id}/result", headers=self._headers) as response:
                if not response.is_success:
                    response.read()
                    self._checked(response)
                yield _verified(response.iter_raw(DOWNLOAD_CHUNK), response.headers.get("content-digest", ""))
        except httpx.TransportError as exc:
            raise GatewayUnreachableError(f"the download failed: {exc}") from exc

    def job_proof(self, job_id: str) -> dict[str, Any]:
        """The proof bundle of a completed job (for ``ccgate job verify``)."""
        document = self._request("GET", f"/v1/jobs/{job_id}/proof").json()
        assert isinstance(document, dict)
        return document

    def releases(self, artefact_id: str) -> list[j.ReleaseOut]:
        """Every release decision about an artefact."""
        return self._model(j.ReleaseList, "GET", f"/v1/artefacts/{artefact_id}/releases").releases


def _verified(chunks: Iterator[bytes], declared: str) -> Iterator[bytes]:
    match = _DIGEST.search(declared)
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(chunk)
        yield chunk
    if match is None or base64.b64decode(match.group(1)) != hasher.digest():
        raise ContentDigestError("the download does not hash to the digest the gateway declared")
