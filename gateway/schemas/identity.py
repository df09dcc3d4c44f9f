"""Tenants, principals, tokens and providers on the wire."""

from datetime import datetime

from pydantic import Field

from gateway.domain import KycStatus, Role, TenantKind
from gateway.schemas.wire_types import Name, RequestModel, ResponseModel


class TenantCreate(RequestModel):
    """Create a customer or provider tenant."""

    name: Name
    kind: TenantKind = TenantKind.CUSTOMER


class ProviderCreate(RequestModel):
    """Register a provider organisation (its KYC status starts ``pending``)."""

    name: Name


class TenantOut(ResponseModel):
    """A tenant."""

    id: str
    name: str
    kind: TenantKind
    kyc_status: KycStatus | None
    created_at: datetime


class PrincipalCreate(RequestModel):
    """Create a principal with roles in a tenant; its first token comes back with it."""

    name: Name
    roles: list[Role] = Field(min_length=1, max_length=4)
    token_ttl_seconds: int | None = Field(default=None, ge=60)


class PrincipalOut(ResponseModel):
    """A principal."""

    id: str
    tenant_id: str
    name: str
    roles: list[Role]
    created_at: datetime


class TokenCreate(RequestModel):
    """Issue a token for a principal."""

    ttl_seconds: int | None = Field(default=None, ge=60)


class TokenOut(ResponseModel):
    """A bearer token: shown once, never stored by the gateway (only its ``jti``)."""

    token: str
    jti: str
    expires_at: datetime


class PrincipalWithTokenOut(ResponseModel):
    """A new principal and its first token."""

    principal: PrincipalOut
    token: TokenOut


class RevokedTokenOut(ResponseModel):
    """A token on the deny-list."""

    jti: str
    subject: str
    revoked_at: datetime | None


class KycUpdate(RequestModel):
    """Set a provider's KYC status."""

    status: KycStatus


class WhoAmI(ResponseModel):
    """The caller as the gateway sees it."""

    subject: str
    tenant_id: str
    roles: list[Role]
    token_id: str
