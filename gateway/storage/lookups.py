"""Tenant-scoped lookups shared by every repository: another tenant's object is simply not found."""

from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from gateway.errors import NotFoundError


class TenantOwned(Protocol):
    """A row that belongs to one tenant."""

    tenant_id: str


_Row = TypeVar("_Row", bound=TenantOwned)


def get_owned(
    session: Session, model: type[_Row], ident: object, tenant: str | None, kind: str, *, lock: bool = False
) -> _Row:
    """The row ``ident`` of ``model`` if it belongs to ``tenant`` (None: any tenant, for admins).

    Raises:
        NotFoundError: no such row, or it belongs to another tenant — deliberately the same error,
            so a caller cannot learn that another tenant's object exists (404, never 403).
    """
    row = session.get(model, ident, with_for_update=lock)
    if row is None or (tenant is not None and row.tenant_id != tenant):
        raise NotFoundError(kind, str(ident))
    return row
