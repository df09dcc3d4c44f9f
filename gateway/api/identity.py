"""Routes: tenants, principals, tokens, providers and the KEK (admin), and ``whoami``."""

from typing import Annotated

from fastapi import APIRouter, Path, status

from gateway.api.dependencies import Services, require
from gateway.api.problems import OBJECT_PROBLEMS
from gateway.auth.permissions import Caller, Permission
from gateway.auth.tokens import IssuedToken
from gateway.domain import ID_PATTERN, TenantKind
from gateway.schemas.artefacts import KekOut, KekRotationOut
from gateway.schemas.identity import (
    KycUpdate,
    PrincipalCreate,
    PrincipalOut,
    PrincipalWithTokenOut,
    ProviderCreate,
    RevokedTokenOut,
    TenantCreate,
    TenantOut,
    TokenCreate,
    TokenOut,
    WhoAmI,
)
from gateway.services import identity, keks

router = APIRouter(prefix="/v1", responses=OBJECT_PROBLEMS)
IdPath = Annotated[str, Path(pattern=ID_PATTERN)]


def token_out(issued: IssuedToken) -> TokenOut:
    """The wire form of a fresh token."""
    return TokenOut(token=issued.token, jti=issued.jti, expires_at=issued.expires_at)


@router.get("/whoami", tags=["identity"])
def whoami(caller: Annotated[Caller, require(Permission.AUTHENTICATED)]) -> WhoAmI:
    """The caller as the gateway sees it."""
    return WhoAmI(
        subject=caller.subject,
        tenant_id=caller.tenant_id,
        roles=sorted(caller.roles),
        token_id=caller.token_id,
    )


@router.post("/tenants", status_code=status.HTTP_201_CREATED, tags=["admin"])
def create_tenant(
    body: TenantCreate, services: Services, caller: Annotated[Caller, require(Permission.TENANT_ADMIN)]
) -> TenantOut:
    """Create a customer (or provider) tenant."""
    return TenantOut.model_validate(identity.create_tenant(services, caller, body.name, body.kind))


@router.get("/tenants", tags=["admin"])
def list_tenants(
    services: Services, _: Annotated[Caller, require(Permission.TENANT_ADMIN)]
) -> list[TenantOut]:
    """Every tenant."""
    return [TenantOut.model_validate(tenant) for tenant in identity.list_tenants(services)]


@router.get("/tenants/{tenant_id}", tags=["admin"])
def get_tenant(
    tenant_id: IdPath, services: Services, _: Annotated[Caller, require(Permission.TENANT_ADMIN)]
) -> TenantOut:
    """One tenant."""
    return TenantOut.model_validate(identity.get_tenant(services, tenant_id))


@router.post("/tenants/{tenant_id}/principals", status_code=status.HTTP_201_CREATED, tags=["admin"])
def create_principal(
    tenant_id: IdPath,
    body: PrincipalCreate,
    services: Services,
    caller: Annotated[Caller, require(Permission.TENANT_ADMIN)],
) -> PrincipalWithTokenOut:
    """Create a principal with roles; its first token is in the response (shown once)."""
    made = identity.create_principal(
        services, caller, tenant_id, body.name, body.roles, ttl_seconds=body.token_ttl_seconds
    )
    return PrincipalWithTokenOut(
        principal=PrincipalOut.model_validate(made.principal), token=token_out(made.token)
    )


@router.get("/tenants/{tenant_id}/principals", tags=["admin"])
def list_principals(
    tenant_id: IdPath, services: Services, _: Annotated[Caller, require(Permission.TENANT_ADMIN)]
) -> list[PrincipalOut]:
    """The principals of a tenant."""
    return [PrincipalOut.model_validate(p) for p in identity.list_principals(services, tenant_id)]


@router.post("/principals/{principal_id}/tokens", status_code=status.HTTP_201_CREATED, tags=["admin"])
def issue_token(
    principal_id: IdPath,
    body: TokenCreate,
    services: Services,
    caller: Annotated[Caller, require(Permission.TENANT_ADMIN)],
) -> TokenOut:
    """Issue another token for a principal."""
    return token_out(identity.issue_token(services, caller, principal_id, body.ttl_seconds))


@router.delete("/tokens/{jti}", tags=["admin"])
def revoke_token(
    jti: IdPath, services: Services, caller: Annotated[Caller, require(Permission.TENANT_ADMIN)]
) -> RevokedTokenOut:
    """Put a token on the deny-list."""
    return RevokedTokenOut.model_validate(identity.revoke_token(services, caller, jti))


@router.post("/providers", status_code=status.HTTP_201_CREATED, tags=["admin"])
def create_provider(
    body: ProviderCreate, services: Services, caller: Annotated[Caller, require(Permission.PROVIDER_ADMIN)]
) -> TenantOut:
    """Register a provider organisation (KYC ``pending``)."""
    return TenantOut.model_validate(identity.create_tenant(services, caller, body.name, TenantKind.PROVIDER))


@router.get("/providers", tags=["admin"])
def list_providers(
    services: Services, _: Annotated[Caller, require(Permission.PROVIDER_ADMIN)]
) -> list[TenantOut]:
    """Every provider and its KYC status."""
    return [TenantOut.model_validate(t) for t in identity.list_tenants(services, TenantKind.PROVIDER)]


@router.put("/providers/{tenant_id}/kyc", tags=["admin"])
def set_kyc(
    tenant_id: IdPath,
    body: KycUpdate,
    services: Services,
    caller: Annotated[Caller, require(Permission.PROVIDER_ADMIN)],
) -> TenantOut:
    """Set a provider's KYC status."""
    return TenantOut.model_validate(identity.set_kyc(services, caller, tenant_id, body.status))


@router.get("/kek", tags=["artefacts"])
def get_kek(services: Services, _: Annotated[Caller, require(Permission.KEK_READ)]) -> KekOut:
    """The current key-encryption public key: seal data keys to it before depositing them."""
    kek = keks.get_current_kek(services)
    return KekOut(kek_id=kek.id, public_key=kek.public_key)


@router.post("/kek/rotate", tags=["admin"])
def rotate_kek(
    services: Services, caller: Annotated[Caller, require(Permission.KEK_ROTATE)]
) -> KekRotationOut:
    """Re-seal every stored data key to a new KEK and retire the old one."""
    done = keks.rotate_kek(services, caller)
    return KekRotationOut(old_kek_id=done.old_kek_id, new_kek_id=done.new_kek_id, resealed=done.resealed)
