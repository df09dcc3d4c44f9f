"""The owner's view of releases: who received an artefact's key, when, on which hardware, under what."""

from sqlalchemy import select

from gateway.auth.permissions import Caller
from gateway.services.context import ServiceContext
from gateway.storage.lookups import get_owned
from gateway.storage.schema import Artefact, Release


def releases_of(ctx: ServiceContext, caller: Caller, artefact_id: str) -> list[Release]:
    """Every release decision about one of the caller's artefacts, newest first.

    Raises:
        NotFoundError: no such artefact in the caller's tenant.
    """
    with ctx.db.transaction() as session:
        get_owned(session, Artefact, artefact_id, caller.tenant_id, "artefact")
        query = select(Release).where(Release.artefact_id == artefact_id).order_by(Release.decided_at.desc())
        return list(session.scalars(query))
