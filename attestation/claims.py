"""How claim names are attached to result fields, and how a result becomes a claims document.

Each field of a claims dataclass is one claim. Its claim name is the field name, unless the field's
metadata names another (NVIDIA's v3 claim names contain hyphens, which Python names cannot). The
policies package builds its claims contract from exactly these types, so there is one list of claims.
"""

import dataclasses
import functools
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import Enum
from typing import Any


def claim(name: str, **kwargs: Any) -> Any:
    """A dataclass field whose claim name is ``name`` (use for names that are not Python identifiers)."""
    metadata = dict(kwargs.pop("metadata", {}) or {})
    metadata["claim"] = name
    return dataclasses.field(metadata=metadata, **kwargs)


def claim_name(field: dataclasses.Field[Any]) -> str:
    """The claim name of a dataclass field."""
    name = field.metadata.get("claim", field.name)
    return str(name)


def claim_fields(cls: type) -> Iterator[tuple[str, dataclasses.Field[Any]]]:
    """Yield (claim name, field) for every field of a claims dataclass."""
    yield from _claim_fields(cls)


@functools.cache
def _claim_fields(cls: type) -> tuple[tuple[str, dataclasses.Field[Any]], ...]:
    # A class's fields never change; every Attestation Result walks the same few classes.
    return tuple((claim_name(field), field) for field in dataclasses.fields(cls))


def to_claims(value: object) -> object:
    """Turn a claims dataclass (or a value inside one) into JSON-ready data with claim names as keys.

    Datetimes become RFC 3339 strings in UTC, enums their values, tuples lists.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: to_claims(getattr(value, field.name)) for name, field in _claim_fields(type(value))}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, tuple | list):
        return [to_claims(item) for item in value]
    if isinstance(value, bytes):
        return value.hex()
    return value
