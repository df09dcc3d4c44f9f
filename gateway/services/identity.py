"""Tenants, principals and their API tokens; providers and their KYC status (admin use cases)."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.auth.permissions import Caller
from gateway.auth.tokens import IssuedToken
from gateway.domain import PRINCIPAL_ROLES, KycStatus, Role, TenantKind, new_id
from gateway.errors import (
    AlreadyBootstrappedError,
    AlreadyExistsError,
    NotFoundError,
    RequestInvalidError,
)
from gateway.ledger.records import EventKind
from gateway.services.context import ServiceContext
from gateway.storage.schema import ApiToken, Principal, Tenant

# Which roles a principal may hold in each kind of tenant: the platform operator administers, a
# provider's principals run nodes, and nobody administers from inside a customer or provider.
ROLES_ALLOWED_IN: dict[TenantKind, frozenset[Role]] = {
    TenantKind.PLATFORM: frozenset({Role.ADMIN, Role.SECURITY}),
    TenantKind.CUSTOMER: frozenset({Role.OWNER, Role.SECURITY}),
    TenantKind.PROVIDER: frozenset({Role.PROVIDER, Role.SECURITY, Role.OWNER}),
}


@dataclass(frozen=True)
class PrincipalWithToken:
    """A new principal and its first token."""

    tenant: Tenant
    principal: Principal
    token: IssuedToken


def bootstrap(ctx: ServiceContext, tenant_name: str, admin_name: str) -> PrincipalWithToken:
    """Create the platform tenant and its first admin, and issue the admin's token.

    Raises:
        AlreadyBootstrappedError: a platform tenant exists already.
    """
    with ctx.db.transaction() as session:
        ctx.ledger.lock(session)
        if session.scalar(select(Tenant).where(Tenant.kind == TenantKind.PLATFORM)) is not None:
            raise AlreadyBootstrappedError("this gateway is already bootstrapped; ask an existing admin")
        tenant = _insert_tenant(ctx, session, tenant_name, TenantKind.PLATFORM, "bootstrap")
        principal = _insert_principal(ctx, session, tenant, admin_name, [Role.ADMIN], "bootstrap")
        token = _issue(
            ctx, session, principal, "bootstrap", timedelta(seconds=ctx.settings.api_token_ttl_seconds)
        )
        return PrincipalWithToken(tenant, principal, token)


def create_tenant(ctx: ServiceContext, caller: Caller, name: str, kind: TenantKind) -> Tenant:
    """Create a customer or provider tenant (a provider starts with KYC ``pending``).

    Raises:
        RequestInvalidError: ``kind`` is ``platform`` (there is exactly one, made by bootstrap).
        AlreadyExistsError: the name is taken.
    """
    if kind is TenantKind.PLATFORM:
        raise RequestInvalidError("there is one platform tenant, created by `ccgate admin bootstrap`")
    with ctx.db.transaction() as session:
        return _insert_tenant(ctx, session, name, kind, caller.subject)


def list_tenants(ctx: ServiceContext, kind: TenantKind | None = None) -> list[Tenant]:
    """Every tenant (of ``kind``), by name."""
    with ctx.db.transaction() as session:
        query = select(Tenant).order_by(Tenant.name)
        if kind is not None:
            query = query.where(Tenant.kind == kind)
        return list(session.scalars(query))


def get_tenant(ctx: ServiceContext, tenant_id: str) -> Tenant:
    """One tenant.

    Raises:
        NotFoundError: no such tenant.
    """
    with ctx.db.transaction() as session:
        tenant = session.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFoundError("tenant", tenant_id)
        return tenant


def create_principal(
    ctx: ServiceContext,
    caller: Caller,
    tenant_id: str,
    name: str,
    roles: list[Role],
    *,
    ttl_seconds: int | None = None,
) -> PrincipalWithToken:
    """Create a principal with ``roles`` in a tenant and issue its first token.

    Raises:
        NotFoundError: no such tenant.
        RequestInvalidError: a role is not allowed in that kind of tenant, or no role at all.
        AlreadyExistsError: the name is taken in that tenant.
    """
    with ctx.db.transaction() as session:
        tenant = session.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFoundError("tenant", tenant_id)
        principal = _insert_principal(ctx, session, tenant, name, roles, caller.subject)
        token = _issue(ctx, session, principal, caller.subject, _ttl(ctx, ttl_seconds))
        return PrincipalWithToken(tenant, principal, token)


def issue_token(
    ctx: ServiceContext, caller: Caller, principal_id: str, ttl_seconds: int | None
) -> IssuedToken:
    """Issue another token for an existing principal.

    Raises:
        NotFoundError: no such principal.
    """
    with ctx.db.transaction() as session:
        principal = session.get(Principal, principal_id)
        if principal is None:
            raise NotFoundError("principal", principal_id)
        return _issue(ctx, session, principal, caller.subject, _ttl(ctx, ttl_seconds))


def list_principals(ctx: ServiceContext, tenant_id: str) -> list[Principal]:
    """The principals of a tenant.

    Raises:
        NotFoundError: no such tenant.
    """
    with ctx.db.transaction() as session:
        if session.get(Tenant, tenant_id) is None:
            raise NotFoundError("tenant", tenant_id)
        return list(
            session.scalars(
                select(Principal).where(Principal.tenant_id == tenant_id).order_by(Principal.name)
            )
        )


def revoke_token(ctx: ServiceContext, caller: Caller, jti: str) -> ApiToken:
    """Put a token on the deny-list (idempotent).

    Raises:
        NotFoundError: the gateway never issued a token with this id.
    """
    with ctx.db.transaction() as session:
        row = ctx.tokens.revoke(session, jti)
        if row is None:
            raise NotFoundError("token", jti)
        ctx.ledger.append(session, EventKind.TOKEN_REVOKED, row.tenant_id, {"jti": jti, "by": caller.subject})
        return row


def set_kyc(ctx: ServiceContext, caller: Caller, tenant_id: str, status: KycStatus) -> Tenant:
    """Set a provider's KYC status.

    Raises:
        NotFoundError: no such tenant, or it is not a provider.
    """
    with ctx.db.transaction() as session:
        tenant = session.get(Tenant, tenant_id, with_for_update=True)
        if tenant is None or tenant.kind != TenantKind.PROVIDER:
            raise NotFoundError("provider", tenant_id)
        previous = tenant.kyc_status
        tenant.kyc_status = str(status)
        ctx.ledger.append(
            session,
            EventKind.PROVIDER_KYC_CHANGED,
            tenant.id,
            {"provider": tenant.id, "from": previous, "to": str(status), "by": caller.subject},
        )
        return tenant


def _ttl(ctx: ServiceContext, ttl_seconds: int | None) -> timedelta:
    limit = ctx.settings.api_token_ttl_seconds
    if ttl_seconds is not None and not 60 <= ttl_seconds <= limit:
        raise RequestInvalidError(f"a token lives between 60 and {limit} seconds")
    return timedelta(seconds=ttl_seconds or limit)


def _insert_tenant(ctx: ServiceContext, session: Session, name: str, kind: TenantKind, by: str) -> Tenant:
    tenant = Tenant(
        id=new_id("ten"),
        name=name,
        kind=str(kind),
        kyc_status=str(KycStatus.PENDING) if kind is TenantKind.PROVIDER else None,
        created_at=ctx.clock.now(),
    )
    session.add(tenant)
    try:
        session.flush()
    except IntegrityError as exc:
        raise AlreadyExistsError(f"a tenant named {name!r} exists") from exc
    event = EventKind.PROVIDER_REGISTERED if kind is TenantKind.PROVIDER else EventKind.TENANT_CREATED
    ctx.ledger.append(
        session, event, tenant.id, {"tenant": tenant.id, "name": name, "kind": str(kind), "by": by}
    )
    return tenant


def _insert_principal(  # noqa: PLR0917 - a row's fields, in its order.
    ctx: ServiceContext, session: Session, tenant: Tenant, name: str, roles: list[Role], by: str
) -> Principal:
    wanted = frozenset(roles)
    if not wanted or not wanted <= PRINCIPAL_ROLES:
        raise RequestInvalidError("a principal holds one or more of: owner, provider, security, admin")
    allowed = ROLES_ALLOWED_IN[TenantKind(tenant.kind)]
    if not wanted <= allowed:
        refused = ", ".join(sorted(wanted - allowed))
        raise RequestInvalidError(f"a {tenant.kind} tenant's principals cannot hold: {refused}")
    principal = Principal(
        id=new_id("prn"),
        tenant_id=tenant.id,
        name=name,
        roles=sorted(str(role) for role in wanted),
        created_at=ctx.clock.now(),
    )
    session.add(principal)
    try:
        session.flush()
    except IntegrityError as exc:
        raise AlreadyExistsError(f"tenant {tenant.name} has a principal named {name!r}") from exc
    ctx.ledger.append(
        session,
        EventKind.PRINCIPAL_CREATED,
        tenant.id,
        {"principal": principal.id, "name": name, "roles": list(principal.roles), "by": by},
    )
    return principal


def _issue(
    ctx: ServiceContext, session: Session, principal: Principal, by: str, ttl: timedelta
) -> IssuedToken:
    issued = ctx.tokens.issue(
        session, principal.id, principal.tenant_id, [Role(r) for r in principal.roles], ttl
    )
    ctx.ledger.append(
        session,
        EventKind.TOKEN_ISSUED,
        principal.tenant_id,
        {"jti": issued.jti, "subject": principal.id, "expires_at": issued.expires_at.isoformat(), "by": by},
    )
    return issued
