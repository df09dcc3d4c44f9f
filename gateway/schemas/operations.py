"""Health, readiness and the JWKS on the wire."""

from gateway.schemas.wire_types import ResponseModel


class Health(ResponseModel):
    """The process is up."""

    status: str


class Readiness(ResponseModel):
    """Whether the gateway can serve: each dependency's state."""

    status: str
    checks: dict[str, str]


class Jwk(ResponseModel):
    """An Ed25519 public key (RFC 8037)."""

    kty: str
    crv: str
    alg: str
    use: str
    kid: str
    x: str
    ccgate_purpose: str


class Jwks(ResponseModel):
    """The gateway's public signing keys: API tokens, attestation tokens and the ledger key."""

    keys: list[Jwk]
