"""Canonical JSON: the one serialisation used for every digest and signature in ccgate.

Sorted keys, UTF-8, no insignificant whitespace. Only the JSON types whose encoding is unambiguous
are accepted: ``None``, ``bool``, ``int``, ``str``, lists/tuples and ``str``-keyed mappings. Floats are
refused because two correct encoders can print the same float differently, which would make a
digest depend on the library that computed it.

``attestation.canonical`` holds a byte-for-byte twin of this module, because the runner imports only
itself and the verifier imports no other ccgate package; a test holds the two to the same output.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import TypeAlias

from enclave_runner.protocol.errors import CanonicalJsonError

JsonValue: TypeAlias = bool | int | str | Sequence["JsonValue"] | Mapping[str, "JsonValue"] | None


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
    """Encode ``value`` as canonical JSON bytes.

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
