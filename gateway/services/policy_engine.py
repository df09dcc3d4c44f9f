"""The gateway's use of the policy engine: validating uploads and loading the policies of a release.

Uploaded documents are validated by ``policies`` against the claims contract and the tenant's
reference-value sets (the tenant's newest version of each set, over the bundled ones of the same
name). For a release, the tenant's baseline (or, when the security team set none, the bundled
baseline of the gateway's mode) and the artefact's pinned policy are compiled once per document and
set digests and cached: evaluation itself is then microseconds.
"""

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from attestation.canonical import canonical_json
from gateway.domain import DocumentKind
from gateway.errors import NotFoundError
from gateway.services.policy_validation import ValidatedDocument
from gateway.settings import Mode
from gateway.storage.release_rows import ArtefactRow
from gateway.storage.schema import PolicyDocument, TenantBaseline, core_table
from policies import (
    CompiledPolicy,
    PolicyError,
    PolicyInvalidError,
    ReferenceSet,
    bundled_reference_sets,
    load_baseline,
    load_policy,
    parse_document,
)
from policies.compiler import load_document
from policies.yaml_source import as_json_value, load_yaml_mapping

_Build = Callable[[Mapping[str, ReferenceSet]], CompiledPolicy]

# Every release reads the tenant's reference-set versions and its baseline: prebuilt Core statements,
# so that neither pays for the ORM's statement compilation and entity loading on the hot path.
_DOCUMENTS = core_table(PolicyDocument)
_BASELINES = core_table(TenantBaseline)
_REFERENCE_VERSIONS = select(
    _DOCUMENTS.c.id, _DOCUMENTS.c.name, _DOCUMENTS.c.version, _DOCUMENTS.c.digest
).where(
    _DOCUMENTS.c.tenant_id == bindparam("tenant"),
    _DOCUMENTS.c.kind == DocumentKind.REFERENCE_VALUES,
)
_BASELINE_CHOICE = select(_BASELINES.c.policy_name, _BASELINES.c.policy_version).where(
    _BASELINES.c.tenant_id == bindparam("tenant")
)


class EnginePolicyValidator:
    """Validates policies and reference values with the real engine (replaces the interim seam)."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes

    def validate(
        self, document: bytes, kind: DocumentKind, reference_sets: Mapping[str, ReferenceSet] | None = None
    ) -> ValidatedDocument:
        """Return the canonical form and digest, or every problem found (never raises on bad input)."""
        invalid = ValidatedDocument(kind, "", b"", "")
        if len(document) > self._max_bytes:
            return _with(invalid, f"the document is {len(document)} bytes; the limit is {self._max_bytes}")
        sets = (
            dict(reference_sets)
            if reference_sets is not None
            else {s.name: s for s in bundled_reference_sets()}
        )
        try:
            loaded = load_document(document, "upload", sets)
            canonical = canonical_json(as_json_value(load_yaml_mapping(document, "upload")))
        except PolicyInvalidError as exc:
            return ValidatedDocument(kind, "", b"", "", tuple(str(problem) for problem in exc.problems))
        except PolicyError as exc:
            return _with(invalid, str(exc))
        is_policy = isinstance(loaded, CompiledPolicy)
        if is_policy != (kind is DocumentKind.RELEASE_POLICY):
            return _with(invalid, f"expected kind: {kind}")
        name = loaded.name
        digest = loaded.digest
        if hashlib.sha256(canonical).hexdigest() != digest:  # pragma: no cover - both hash the same JSON.
            return _with(invalid, "the document's digest is not reproducible")
        return ValidatedDocument(kind, name, canonical, digest)


def _with(document: ValidatedDocument, problem: str) -> ValidatedDocument:
    return ValidatedDocument(document.kind, "", b"", "", (problem,))


@dataclass(frozen=True, slots=True)
class _StoredPolicy:
    """What a release needs of a stored release-policy version."""

    name: str
    version: int
    digest: str
    source: str


class PolicyLibrary:
    """Compiled policies and parsed reference sets, cached by content digest (thread-safe)."""

    def __init__(self, mode: Mode) -> None:
        self._mode = mode
        self._lock = threading.Lock()
        self._sets: dict[str, ReferenceSet] = {}
        self._policies: dict[tuple[str, tuple[str, ...]], CompiledPolicy] = {}
        self._documents: dict[tuple[str, str, int], _StoredPolicy] = {}
        self._bundled = {reference.name: reference for reference in bundled_reference_sets()}

    def reference_sets(self, session: Session, tenant: str) -> dict[str, ReferenceSet]:
        """The tenant's newest version of each reference-value set, over the bundled sets."""
        # Only the names, versions and digests are read on every release (the newest version of
        # each name is picked here: a tenant has a few sets); a document's source is read and
        # parsed once per digest.
        newest: dict[str, tuple[int, str, str]] = {}
        for row in session.connection().execute(_REFERENCE_VERSIONS, {"tenant": tenant}):
            name, version = str(row.name), int(row.version)
            if name not in newest or version > newest[name][0]:
                newest[name] = (version, str(row.id), str(row.digest))
        rows = [(row_id, name, digest) for name, (_version, row_id, digest) in newest.items()]
        sets = dict(self._bundled)
        for row_id, name, digest in rows:
            sets[name] = self._reference_set(session, row_id, digest)
        return sets

    def _reference_set(self, session: Session, row_id: str, digest: str) -> ReferenceSet:
        with self._lock:
            cached = self._sets.get(digest)
        if cached is not None:
            return cached
        row = session.get(PolicyDocument, row_id)
        if row is None:  # pragma: no cover - the row was just listed in the same snapshot.
            raise NotFoundError("reference values", digest)
        parsed = parse_document(row.source.encode("utf-8"), f"{row.name} v{row.version}")
        if not isinstance(parsed, ReferenceSet):  # pragma: no cover - stored documents were validated.
            raise NotFoundError("reference values", row.name)
        with self._lock:
            self._sets[digest] = parsed
        return parsed

    def _compiled(
        self,
        key: str,
        sets: Mapping[str, ReferenceSet],
        build: Callable[[Mapping[str, ReferenceSet]], CompiledPolicy],
    ) -> CompiledPolicy:
        cache_key = (key, tuple(sorted(f"{name}:{s.digest}" for name, s in sets.items())))
        with self._lock:
            cached = self._policies.get(cache_key)
        if cached is not None:
            return cached
        compiled = build(sets)
        with self._lock:
            self._policies[cache_key] = compiled
        return compiled

    def baseline(self, session: Session, tenant: str, sets: Mapping[str, ReferenceSet]) -> CompiledPolicy:
        """The tenant's baseline, or the bundled baseline of the gateway's mode when none is set."""
        chosen = session.connection().execute(_BASELINE_CHOICE, {"tenant": tenant}).one_or_none()
        if chosen is None:
            name = "production" if self._mode is Mode.PRODUCTION else "development"
            return self._compiled(f"bundled:{name}", sets, lambda s: load_baseline(name, tuple(s.values())))
        document = self._policy_document(session, tenant, chosen.policy_name, chosen.policy_version)
        return self._compiled(document.digest, sets, lambda s: _compile(document, s))

    def artefact_policy(
        self, session: Session, artefact: ArtefactRow, sets: Mapping[str, ReferenceSet]
    ) -> CompiledPolicy | None:
        """The release policy the artefact pins (name, version and digest), or None when it has none."""
        if artefact.policy_name is None or artefact.policy_version is None:
            return None
        document = self._policy_document(
            session, artefact.tenant_id, artefact.policy_name, artefact.policy_version
        )
        if document.digest != artefact.policy_digest:
            raise NotFoundError("release policy", f"{artefact.policy_name} with the pinned digest")
        return self._compiled(document.digest, sets, lambda s: _compile(document, s))

    def _policy_document(self, session: Session, tenant: str, name: str, version: int) -> _StoredPolicy:
        # A stored policy version never changes (a new upload is a new version), so once read it is
        # kept: a release reads no policy source from the database.
        key = (tenant, name, version)
        with self._lock:
            cached = self._documents.get(key)
        if cached is not None:
            return cached
        document = session.scalar(
            select(PolicyDocument).where(
                PolicyDocument.tenant_id == tenant,
                PolicyDocument.kind == DocumentKind.RELEASE_POLICY,
                PolicyDocument.name == name,
                PolicyDocument.version == version,
            )
        )
        if document is None:
            raise NotFoundError("release policy", f"{name} v{version}")
        stored = _StoredPolicy(document.name, document.version, document.digest, document.source)
        with self._lock:
            self._documents[key] = stored
        return stored


def _compile(document: _StoredPolicy, sets: Mapping[str, ReferenceSet]) -> CompiledPolicy:
    return load_policy(document.source.encode("utf-8"), f"{document.name} v{document.version}", sets)


__all__ = ["EnginePolicyValidator", "PolicyLibrary"]
