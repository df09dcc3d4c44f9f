"""The policy input as a JSON document (for ``ccgate policy explain``, test vectors and embedded tests).

The document's keys are the roots of the claims contract, so a claim has the same path in a policy
and in an input::

    {
      "now": "2026-05-01T12:00:00Z",
      "cpu0": {...},  "gpu0": {...},  "gpu1": {...},      # AttestationResult.submods()
      "result": {"evidence_digest": "...", "verified_at": "...", "verifier_id": "...", "warnings": []},
      "artefact": {"id": "...", "kind": "dataset", "labels": ["pii"]},
      "job": {...}, "node": {...}, "provider": {...}, "tenant": {...}, "release": {...}, "session": {...}
    }

Parsing is strict about *structure* and faithful about *claims*. An unknown key anywhere, or GPU
keys that are not ``gpu0…gpuN`` without gaps, is an input error: a typo must not silently remove a
claim. But a claim that is absent or null is kept absent, and a claim of the wrong JSON type keeps
its raw value, so the policy sees exactly what the document says and fails the rules that read it
(this is how policy authors test that missing and mistyped claims deny). The relying party never
uses this parser: it builds ``PolicyInput`` from verified results.
"""

import dataclasses
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from typing import Any, TypeVar, get_type_hints

from attestation.canonical import JsonValue
from attestation.claims import claim_fields, to_claims
from attestation.result import AttestationResult, CpuClaims, GpuClaims
from policies.contract import ClaimType, classify, unwrap_optional
from policies.errors import PolicyInputError
from policies.operands import parse_timestamp
from policies.request import PolicyInput, ReleaseContext

T = TypeVar("T")
_GPU_KEY = re.compile(r"^gpu(0|[1-9][0-9]{0,2})$")
_RESULT_FIELDS = ("evidence_digest", "verified_at", "verifier_id", "warnings")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _convert(hint: object, value: object, where: str, problems: list[str]) -> object:
    """A JSON value as the claim's type when it has that type; otherwise the raw value (or None)."""
    if value is None:
        return None
    claim_type, enum, record = classify(unwrap_optional(hint)[0])
    if record is not None:
        return _records(claim_type, record, value, where, problems)
    if claim_type is ClaimType.ENUM and enum is not None:
        return _enum_member(enum, value)
    if claim_type is ClaimType.TIMESTAMP:
        return _timestamp_value(value)
    if claim_type is ClaimType.STRING_LIST and isinstance(value, list):
        return tuple(value)
    # Booleans, integers and strings arrive as JSON has them; anything else stays raw (mistyped).
    return value


def _records(claim_type: ClaimType, record: type, value: object, where: str, problems: list[str]) -> object:
    if claim_type is ClaimType.RECORD:
        return _record(record, value, where, problems)
    if isinstance(value, list):
        return tuple(_record(record, item, f"{where}[{index}]", problems) for index, item in enumerate(value))
    return value


def _timestamp_value(value: object) -> object:
    if isinstance(value, str):
        try:
            return parse_timestamp(value)
        except ValueError:
            return value
    return value


def _enum_member(enum: type[StrEnum], value: object) -> object:
    if isinstance(value, str):
        for member in enum:
            if member.value == value:
                return member
    return value


def _record(cls: type, value: object, where: str, problems: list[str]) -> object:
    if not isinstance(value, Mapping):
        return value
    fields = dict(claim_fields(cls))
    for key in value:
        if key not in fields:
            problems.append(f"{where}: unknown claim {key!r}")
    hints = _hints(cls)
    arguments = {
        field.name: _convert(hints[field.name], value.get(name), f"{where}.{name}", problems)
        for name, field in fields.items()
    }
    return _build(cls, arguments)


def _build(factory: Callable[..., T], arguments: Mapping[str, object]) -> T:
    # Dataclasses do not check types at run time; a claim that arrived mistyped stays mistyped and
    # the rules reading it fail (see the module docstring).
    return factory(**arguments)


def parse_input(document: Mapping[str, object]) -> PolicyInput:
    """Build the typed policy input from an input document.

    Raises:
        PolicyInputError: the document is not a mapping, has an unknown key at any depth, or GPU
            keys with a gap (every structural problem is listed).
    """
    if not isinstance(document, Mapping):
        raise PolicyInputError(["the input must be a JSON object"])
    problems: list[str] = []
    context_fields = {field.name: field for field in dataclasses.fields(ReleaseContext)}
    gpu_indexes: list[int] = []
    for key in document:
        match = _GPU_KEY.fullmatch(key)
        if match is not None:
            gpu_indexes.append(int(match.group(1)))
        elif key not in ("now", "cpu0", "result", *context_fields):
            problems.append(f"unknown key {key!r} (expected now, cpu0, gpu0…gpuN, result or a context root)")
    if sorted(gpu_indexes) != list(range(len(gpu_indexes))):
        problems.append(f"GPU keys must be gpu0…gpu{len(gpu_indexes) - 1} without gaps")
    cpu = _record(CpuClaims, document.get("cpu0"), "cpu0", problems)
    gpus = tuple(
        _record(GpuClaims, document.get(f"gpu{i}"), f"gpu{i}", problems) for i in sorted(gpu_indexes)
    )
    result_doc = document.get("result", {})
    result_hints = _hints(AttestationResult)
    result_values: dict[str, object] = dict.fromkeys(_RESULT_FIELDS)
    if not isinstance(result_doc, Mapping):
        problems.append("result must be an object")
    else:
        for key in result_doc:
            if key not in _RESULT_FIELDS:
                problems.append(f"result: unknown field {key!r}")
        for name in _RESULT_FIELDS:
            result_values[name] = _convert(
                result_hints[name], result_doc.get(name), f"result.{name}", problems
            )
    context_hints = _hints(ReleaseContext)
    context = {
        name: _convert(context_hints[name], document.get(name), name, problems) for name in context_fields
    }
    now = _convert(datetime, document.get("now"), "now", problems)
    if problems:
        raise PolicyInputError(problems)
    result = _build(AttestationResult, {"cpu": cpu, "gpus": gpus, **result_values})
    return _build(PolicyInput, {"result": result, "context": _build(ReleaseContext, context), "now": now})


def input_document(request: PolicyInput) -> dict[str, JsonValue]:
    """The input document of a typed input (the inverse of ``parse_input`` for well-typed inputs)."""
    document: dict[str, JsonValue] = {"now": _timestamp(request.now)}
    submods = request.result.submods()
    for key, value in submods.items():
        document[key] = _json(value)
    document["result"] = {
        "evidence_digest": request.result.evidence_digest,
        "verified_at": _timestamp(request.result.verified_at),
        "verifier_id": request.result.verifier_id,
        "warnings": list(request.result.warnings),
    }
    for field in dataclasses.fields(ReleaseContext):
        document[field.name] = _json(to_claims(getattr(request.context, field.name)))
    return document


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(value: object) -> JsonValue:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json(item) for key, item in value.items()}
    raise TypeError(f"{type(value).__name__} is not JSON data")  # pragma: no cover - to_claims outputs JSON.
