"""The key-encryption key: the one owners seal data keys to (DESIGN §6.2), and its rotation.

Which KEK is current is a database fact (one row in state ``current``), so every replica agrees; the
private halves live in the key vault. Rotation re-seals every stored data key from the old KEK to a
new one inside one transaction — open with the old, check the deposit context, seal to the new —
then retires the old KEK and destroys its private half only after that transaction committed.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from enclave_runner.protocol.sealing import SealContext
from gateway.auth.permissions import Caller
from gateway.domain import KekState
from gateway.errors import ConflictError
from gateway.ledger.records import EventKind
from gateway.services.context import ServiceContext
from gateway.storage.schema import ArtefactVersion, Kek


@dataclass(frozen=True, slots=True)
class KekRotation:
    """What a rotation did."""

    old_kek_id: str
    new_kek_id: str
    resealed: int


def ensure_current_kek(ctx: ServiceContext) -> Kek:
    """Return the current KEK, creating the first one on a fresh gateway (run at start)."""
    with ctx.db.transaction() as session:
        ctx.ledger.lock(session)
        current = session.scalar(select(Kek).where(Kek.state == KekState.CURRENT))
        if current is not None:
            return current
        kek_id = ctx.vault.create_kek()
        kek = _insert(ctx, session, kek_id)
        ctx.ledger.append(session, EventKind.KEK_CREATED, None, {"kek_id": kek_id})
        return kek


def current_kek(session: Session, *, lock: bool = False) -> Kek:
    """The current KEK row (locked when asked, to hold off a concurrent rotation).

    Raises:
        ConflictError: there is none (the gateway has not finished starting).
    """
    query = select(Kek).where(Kek.state == KekState.CURRENT)
    current = session.scalar(query.with_for_update() if lock else query)
    if current is None:
        raise ConflictError("the gateway has no key-encryption key yet")
    return current


def get_current_kek(ctx: ServiceContext) -> Kek:
    """The current KEK (id and public key), for clients about to seal a data key."""
    with ctx.db.transaction() as session:
        return current_kek(session)


def rotate_kek(ctx: ServiceContext, caller: Caller) -> KekRotation:
    """Re-seal every stored data key to a new KEK and retire the old one.

    Raises:
        ConflictError: there is no current KEK.
        SealingError / SealedContextMismatchError: a stored key does not open as its deposit
            (the whole rotation is rolled back and the old KEK stays current).
    """
    new_id = ctx.vault.create_kek()
    try:
        with ctx.db.transaction() as session:
            ctx.ledger.lock(session)
            old = current_kek(session, lock=True)
            old.state = str(KekState.RETIRED)
            old.retired_at = ctx.clock.now()
            session.flush()
            _insert(ctx, session, new_id)
            new_public = ctx.vault.kek_public(new_id)
            versions = session.scalars(
                select(ArtefactVersion).where(ArtefactVersion.kek_id == old.id).with_for_update()
            ).all()
            for version in versions:
                assert version.sealed_key is not None
                version.sealed_key = ctx.vault.reseal(
                    old.id,
                    version.sealed_key,
                    SealContext.deposit(version.artefact_id, old.id),
                    new_public,
                    SealContext.deposit(version.artefact_id, new_id),
                )
                version.kek_id = new_id
            ctx.ledger.append(
                session,
                EventKind.KEK_ROTATED,
                None,
                {"from": old.id, "to": new_id, "resealed": len(versions), "by": caller.subject},
            )
            old_id = old.id
    except BaseException:
        ctx.vault.destroy_kek(new_id)  # It never became current; nothing is sealed to it.
        raise
    ctx.vault.destroy_kek(old_id)
    return KekRotation(old_id, new_id, len(versions))


def _insert(ctx: ServiceContext, session: Session, kek_id: str) -> Kek:
    kek = Kek(
        id=kek_id,
        public_key=ctx.vault.kek_public(kek_id),
        state=str(KekState.CURRENT),
        created_at=ctx.clock.now(),
    )
    session.add(kek)
    session.flush()
    return kek
