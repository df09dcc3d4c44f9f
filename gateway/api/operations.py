"""Routes: liveness, readiness, Prometheus metrics and the JWKS. Public: they reveal no tenant data."""

from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from gateway.api.dependencies import Services, require
from gateway.api.middleware import Metrics
from gateway.api.problems import PUBLIC_PROBLEMS
from gateway.auth.permissions import Permission
from gateway.errors import GatewayError
from gateway.keyvault import LEDGER_KEY_PURPOSE, PublicSigningKey, SigningPurpose
from gateway.schemas.operations import Health, Jwk, Jwks, Readiness
from gateway.services.keks import get_current_kek

router = APIRouter(tags=["operations"], responses=PUBLIC_PROBLEMS)
Public = Annotated[None, require(Permission.PUBLIC)]


@router.get("/healthz")
def healthz(_: Public) -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/readyz", response_model=Readiness, responses={503: {"model": Readiness, "description": "Not ready"}}
)
def readyz(services: Services, _: Public) -> Response:
    """The database answers and the keys are loaded (503 otherwise)."""
    checks: dict[str, str] = {}
    try:
        services.db.ping()
        checks["database"] = "ok"
    except SQLAlchemyError:
        checks["database"] = "unreachable"
    try:
        get_current_kek(services)
        services.vault.ledger_public_key  # noqa: B018 - touching it proves the signing keys are loaded.
        checks["keys"] = "ok"
    except (GatewayError, SQLAlchemyError):
        checks["keys"] = "unavailable"
    ready = all(state == "ok" for state in checks.values())
    body = Readiness(status="ready" if ready else "not-ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(request: Request, _: Public) -> PlainTextResponse:
    """Prometheus metrics of this gateway process."""
    registry = request.app.state.metrics
    assert isinstance(registry, Metrics)
    return PlainTextResponse(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/.well-known/jwks.json")
def jwks(services: Services, _: Public) -> Jwks:
    """The public keys that verify the gateway's API tokens, attestation tokens and ledger tree heads."""
    vault = services.vault
    keys = [
        Jwk.model_validate(key.as_jwk(purpose))
        for purpose in SigningPurpose
        for key in vault.public_signing_keys(purpose)
    ]
    ledger = PublicSigningKey(vault.ledger_key_id, vault.ledger_public_key)
    keys.append(Jwk.model_validate(ledger.as_jwk(LEDGER_KEY_PURPOSE)))
    return Jwks(keys=keys)
