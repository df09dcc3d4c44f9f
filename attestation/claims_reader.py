"""Reading a claims document back into its frozen claims type: the inverse of ``claims.to_claims``.

A claims document that crossed a boundary (an attestation token's ``submods``, a ledger export) is
parsed here into ``CpuClaims`` / ``GpuClaims`` so no ``dict[str, Any]`` travels past it (STYLE 3). The
reader is strict: every claim of the type must be present (or have a default), no unknown claim is
accepted, and every value must have its declared type exactly (a bool is not an int).
"""

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

from attestation.claims import claim_fields
from attestation.errors import ClaimsDocumentError

ClaimsType = TypeVar("ClaimsType")
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def read_claims(cls: type[ClaimsType], document: object, path: str = "$") -> ClaimsType:
    """Parse ``document`` (JSON data with claim names as keys) into the claims dataclass ``cls``.

    Raises:
        ClaimsDocumentError: the document is not an object, lacks a claim without a default, has an
            unknown claim, or holds a value of the wrong type.
        TypeError: ``cls`` declares a field type the reader does not know (a programming error).
    """
    if not isinstance(document, dict):
        raise ClaimsDocumentError(f"{path}: expected an object of {cls.__name__} claims")
    values: dict[str, object] = {}
    fields = _claim_fields(cls)
    for name, field_name, declared, required in fields:
        if name in document:
            values[field_name] = _read(declared, document[name], f"{path}.{name}")
        elif required:
            raise ClaimsDocumentError(f"{path}: the claim {name!r} is missing")
    known = {name for name, _, _, _ in fields}
    unknown = sorted(set(document) - known)
    if unknown:
        raise ClaimsDocumentError(f"{path}: unknown claims {unknown}")
    return cls(**values)


_FieldSpec = tuple[str, str, Any, bool]
# Resolving type hints is the slow part of reading claims, and a class's hints never change.
_FIELD_SPECS: dict[type, tuple[_FieldSpec, ...]] = {}


def _claim_fields(cls: type) -> tuple[_FieldSpec, ...]:
    """(claim name, field name, declared type, required) per field; resolved once per class."""
    if cls not in _FIELD_SPECS:
        _FIELD_SPECS[cls] = _resolve_fields(cls)
    return _FIELD_SPECS[cls]


def _resolve_fields(cls: type) -> tuple[_FieldSpec, ...]:
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a claims dataclass")
    hints = typing.get_type_hints(cls)
    return tuple(
        (
            name,
            field.name,
            hints[field.name],
            field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING,
        )
        for name, field in claim_fields(cls)
    )


def _read(declared: Any, value: object, path: str) -> object:
    origin = typing.get_origin(declared)
    if origin in (typing.Union, types.UnionType):
        return _read_optional(declared, value, path)
    if origin is tuple:
        return _read_tuple(declared, value, path)
    if isinstance(declared, type):
        if declared in _SCALARS:
            return _SCALARS[declared](value, path)
        if issubclass(declared, Enum):
            return _read_enum(declared, value, path)
        if dataclasses.is_dataclass(declared):
            return read_claims(declared, value, path)
    raise TypeError(f"{path}: claims of type {declared!r} cannot be read")


def _read_optional(declared: Any, value: object, path: str) -> object:
    options = typing.get_args(declared)
    if value is None and type(None) in options:
        return None
    (inner,) = [option for option in options if option is not type(None)]
    return _read(inner, value, path)


def _read_tuple(declared: Any, value: object, path: str) -> tuple[object, ...]:
    item_type, ellipsis = typing.get_args(declared)
    if ellipsis is not Ellipsis:
        raise TypeError(f"{path}: only homogeneous tuples are claims")
    if not isinstance(value, list):
        raise ClaimsDocumentError(f"{path}: expected a list")
    return tuple(_read(item_type, item, f"{path}[{index}]") for index, item in enumerate(value))


def _read_enum(declared: type[Enum], value: object, path: str) -> Enum:
    try:
        return declared(value)
    except ValueError as exc:
        raise ClaimsDocumentError(f"{path}: {value!r} is not a {declared.__name__}") from exc


def _exactly(kind: type, value: object, path: str) -> Any:
    # A bool is an int in Python but not in a claims document.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ClaimsDocumentError(f"{path}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _read_datetime(value: object, path: str) -> datetime:
    text = _exactly(str, value, path)
    try:
        return datetime.strptime(text, _TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise ClaimsDocumentError(f"{path}: {text!r} is not an RFC 3339 UTC timestamp") from exc


_SCALARS: dict[type, Callable[[object, str], object]] = {
    bool: lambda value, path: _exactly(bool, value, path),
    int: lambda value, path: _exactly(int, value, path),
    str: lambda value, path: _exactly(str, value, path),
    datetime: _read_datetime,
}
