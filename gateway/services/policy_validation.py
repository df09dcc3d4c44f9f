"""The seam through which policy and reference-values documents are validated on upload.

``PolicyValidator`` is what the gateway needs from the policy engine (``policies``), which is being
built in parallel: given the uploaded bytes and the expected kind, the canonical form, its digest and
the list of problems. ``InterimPolicyValidator`` is the INTERIM implementation wired until the engine
lands: it checks only the document's envelope (a YAML mapping, ``apiVersion: ccgate/v1``, the kind,
``metadata.name``, size, no aliases, no floats) and nothing of the rules themselves. The lead replaces
it with the engine's validator at merge time; nothing else changes.
"""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol

import yaml

from enclave_runner.protocol.canonical import JsonValue, canonical_json
from enclave_runner.protocol.errors import CanonicalJsonError
from gateway.domain import NAME_PATTERN, DocumentKind
from policies import ReferenceSet

API_VERSION: Final = "ccgate/v1"


@dataclass(frozen=True, slots=True)
class ValidatedDocument:
    """The outcome of validation. When ``problems`` is empty the other fields are set."""

    kind: DocumentKind
    name: str
    canonical: bytes
    digest: str
    problems: tuple[str, ...] = ()


class PolicyValidator(Protocol):
    """Validates one uploaded document of ``kind``."""

    def validate(
        self, document: bytes, kind: DocumentKind, reference_sets: Mapping[str, ReferenceSet] | None = None
    ) -> ValidatedDocument:
        """Return the canonical form and digest, or the problems found (never raises on bad input).

        ``reference_sets`` are the sets a policy may name (the tenant's over the bundled ones).
        """
        ...


class InterimPolicyValidator:
    """INTERIM: structural checks only, until the ``policies`` engine's validator is wired in."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes

    def validate(  # noqa: PLR0911 - one return per way to fail.
        self, document: bytes, kind: DocumentKind, reference_sets: Mapping[str, ReferenceSet] | None = None
    ) -> ValidatedDocument:
        """Check the document's envelope; list every problem found."""
        invalid = ValidatedDocument(kind, "", b"", "")
        if len(document) > self._max_bytes:
            return _with(invalid, f"the document is {len(document)} bytes; the limit is {self._max_bytes}")
        try:
            text = document.decode("utf-8")
        except UnicodeDecodeError:
            return _with(invalid, "the document is not UTF-8")
        try:
            # Aliases let a few bytes of YAML expand into gigabytes ("billion laughs"); refuse them.
            if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader)):
                return _with(invalid, "YAML aliases are not allowed")
            parsed = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            return _with(invalid, f"not YAML: {str(exc).splitlines()[0]}")
        if not isinstance(parsed, dict):
            return _with(invalid, "the document must be a YAML mapping")
        problems: list[str] = []
        if parsed.get("apiVersion") != API_VERSION:
            problems.append(f"apiVersion must be {API_VERSION!r}")
        if parsed.get("kind") != str(kind):
            problems.append(f"kind must be {str(kind)!r}")
        metadata = parsed.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not isinstance(name, str) or not re.fullmatch(NAME_PATTERN, name):
            problems.append(f"metadata.name must match {NAME_PATTERN}")
        if not isinstance(parsed.get("spec"), dict):
            problems.append("spec must be a mapping")
        try:
            canonical = canonical_json(_as_json(parsed))
        except (CanonicalJsonError, TypeError) as exc:
            problems.append(f"the document has no canonical JSON form: {exc}")
            canonical = b""
        if problems:
            return ValidatedDocument(kind, "", b"", "", tuple(problems))
        assert isinstance(name, str)
        return ValidatedDocument(kind, name, canonical, hashlib.sha256(canonical).hexdigest())


def _with(document: ValidatedDocument, problem: str) -> ValidatedDocument:
    return ValidatedDocument(document.kind, "", b"", "", (problem,))


def _as_json(value: object) -> JsonValue:
    """YAML's types as JSON's; dates and other YAML-only types are refused (no canonical form)."""
    if value is None or isinstance(value, bool | int | str | float):
        return value  # type: ignore[return-value]  # floats are refused by canonical_json with a path.
    if isinstance(value, list):
        return [_as_json(item) for item in value]
    if isinstance(value, dict):
        return {
            str(key) if isinstance(key, str) else _bad_key(key): _as_json(item) for key, item in value.items()
        }
    raise TypeError(f"{type(value).__name__} values are not allowed; quote them as strings")


def _bad_key(key: object) -> str:
    raise TypeError(f"mapping keys must be strings, got {type(key).__name__}")
