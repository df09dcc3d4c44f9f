"""Canonical JSON for digests and signatures made by the Verifier.

A twin of ``enclave_runner.protocol.canonical``: the Verifier may import no other ccgate package and
the runner imports only itself, so each keeps its own copy of these few lines; a test holds the two
to byte-identical output.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import TypeAlias

JsonValue: TypeAlias = bool | int | str | Sequence["JsonValue"] | Mapping[str, "JsonValue"] | None


class CanonicalJsonError(ValueError):
    """A value cannot be written as canonical JSON (a float, a non-string key, NaN...)."""

    code = "attestation.canonical_json"


def _check(value: object, path: str) -> None:
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        raise CanonicalJsonError(f"{path}: floats have no canonical encoding; use an integer or a string")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJsonError(f"{path}: object keys must be strings, got {type(key).__name__}")
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise CanonicalJsonError(f"{path}: {type(value).__name__} is not a JSON value")


def canonical_json(value: JsonValue) -> bytes:
    """Encode ``value`` as canonical JSON bytes (sorted keys, UTF-8, no whitespace).

    Raises:
        CanonicalJsonError: the value holds a float, a non-string key or a non-JSON type.
    """
    _check(value, "$")
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def canonical_digest(value: JsonValue) -> str:
    """Return the lowercase hex SHA-256 of ``canonical_json(value)``.

    Raises:
        CanonicalJsonError: as ``canonical_json``.
    """
    return hashlib.sha256(canonical_json(value)).hexdigest()
