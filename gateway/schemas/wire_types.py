"""Types every wire model uses: strict base64, hex digests, names, aware datetimes, the problem body."""

import base64
import binascii
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from enclave_runner.protocol.messages import DeniedArtefact
from gateway.domain import ID_PATTERN, LABEL_PATTERN, NAME_PATTERN


def _decode_b64(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not valid base64") from exc


def _encode_b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a time zone is required (e.g. 2026-12-31T00:00:00Z)")
    return value


Base64 = Annotated[
    bytes,
    BeforeValidator(_decode_b64),
    PlainSerializer(_encode_b64, return_type=str),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]
HexDigest = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="lowercase hex SHA-256")]
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Label = Annotated[str, Field(pattern=LABEL_PATTERN)]
Identifier = Annotated[str, Field(pattern=ID_PATTERN)]
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class RequestModel(BaseModel):
    """A request body: unknown fields are refused, values are immutable once parsed."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ResponseModel(BaseModel):
    """A response body, built from service results (ORM rows or dataclasses)."""

    model_config = ConfigDict(from_attributes=True, frozen=True)


class Problem(BaseModel):
    """RFC 9457 problem details, with ccgate's stable ``code``."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str
    request_id: str | None = None
    problems: list[str] | None = None
    # A refused release (DESIGN §5 step 5): every denied input with the codes of its failed rules,
    # so a runner learns which input was refused and why, as codes; the owner reads the full reasons.
    denied: list[DeniedArtefact] | None = None
