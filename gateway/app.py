"""``create_app(settings)``: the gateway's single composition root (DESIGN §3, STYLE 11).

Everything the gateway is made of is built here from one ``Settings`` and handed down: the database,
the key vault, the ledger, the blob store, the token service, and the two seams still to be wired to
the other packages (the policy validator and the Evidence verifier). Nothing is built at import time.
On start (the ASGI lifespan) the database is migrated, the first KEK is created if there is none,
unfinished uploads are removed, and the periodic tree-head task starts.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy import select

from gateway.api import artefacts, identity, jobs, ledger, nodes, operations, policies, problems, runner
from gateway.api.dependencies import api_routes, permission_of
from gateway.api.middleware import GatewayMiddleware, Metrics
from gateway.auth.tokens import TokenService
from gateway.clock import Clock, SystemClock
from gateway.errors import ConfigurationError
from gateway.keyvault import FileKeyVault, KeyVault
from gateway.ledger.store import Ledger
from gateway.services import keks, ledger_views
from gateway.services.context import ServiceContext
from gateway.services.evidence_verification import EvidenceVerifier
from gateway.services.policy_engine import EnginePolicyValidator, PolicyLibrary
from gateway.services.policy_validation import PolicyValidator
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.blobs import BlobStore
from gateway.storage.database import Database, make_engine
from gateway.storage.schema import ArtefactVersion
from gateway.wiring import default_evidence_verifier

log = logging.getLogger("ccgate.gateway")

# A blob renamed into place whose row never committed is removed only after this long, so that a
# replica sharing the blob store never deletes another's blob in the instant before its commit.
ORPHAN_GRACE_SECONDS = 600.0


@dataclass(frozen=True)
class Seams:
    """Collaborators the lead wires from the other packages; tests pass fakes."""

    policy_validator: PolicyValidator | None = None
    evidence_verifier: EvidenceVerifier | None = None
    clock: Clock | None = None
    vault: KeyVault | None = None


def build_services(settings: Settings, seams: Seams = Seams()) -> ServiceContext:
    """Build the service context (no I/O beyond opening the key vault and the blob directories).

    Raises:
        ConfigurationError: unsafe settings.
        KeyFileError: a key file or the key directory is readable by others, or malformed.
    """
    settings.check()
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    clock = seams.clock or SystemClock()
    vault = seams.vault or FileKeyVault(settings.keys)
    db = Database(make_engine(settings.sqlalchemy_url))
    return ServiceContext(
        settings=settings,
        db=db,
        vault=vault,
        ledger=Ledger(vault, clock),
        blobs=BlobStore(settings.blobs, fsync=settings.blob_fsync, buffer_size=settings.upload_chunk_bytes),
        clock=clock,
        tokens=TokenService(vault, clock, settings.token_issuer),
        policy_validator=seams.policy_validator or EnginePolicyValidator(settings.max_policy_bytes),
        evidence_verifier=seams.evidence_verifier or default_evidence_verifier(settings),
        policy_library=PolicyLibrary(settings.mode),
    )


def prepare(services: ServiceContext) -> None:
    """What every start does before serving: migrate, ensure a KEK, remove unfinished uploads and orphans."""
    migrate.upgrade(services.db.engine)
    keks.ensure_current_kek(services)
    removed = services.blobs.clean_incoming()
    with services.db.transaction() as session:
        referenced = {name for name in session.scalars(select(ArtefactVersion.blob_name)) if name}
    orphans = services.blobs.remove_orphans(referenced, ORPHAN_GRACE_SECONDS)
    if removed or orphans:
        log.info("removed %d unfinished upload(s) and %d orphan blob(s)", removed, orphans)


async def _tree_heads(services: ServiceContext) -> None:
    """Sign and keep a tree head every interval, when the ledger grew since the last one."""
    interval = services.settings.tree_head_interval_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(_record_if_grown, services)
        except Exception:
            log.exception("periodic tree head failed")


def _record_if_grown(services: ServiceContext) -> None:
    with services.db.transaction() as session:
        if services.ledger.size(session) == services.ledger.latest_recorded_size(session):
            return
    ledger_views.record_tree_head(services)


def create_app(settings: Settings, seams: Seams = Seams()) -> FastAPI:
    """The gateway as an ASGI app.

    Raises:
        ConfigurationError: unsafe settings, or a route that declares no permission.
        KeyFileError: see ``build_services``.
    """
    services = build_services(settings, seams)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.startup_maintenance:
            await asyncio.to_thread(prepare, services)
        task = asyncio.create_task(_tree_heads(services))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            services.db.dispose()

    app = FastAPI(
        title="ccgate gateway",
        version="1",
        summary="Relying Party and key broker: encrypted artefacts, attested nodes, policies, Merkle ledger.",
        lifespan=lifespan,
    )
    app.state.services = services
    metrics = Metrics()
    app.state.metrics = metrics
    # The runner's routes first: the router tries routes in order, and challenge and attestation
    # are the requests every release makes (no two routes of these modules match the same request).
    for module in (runner, operations, identity, artefacts, nodes, policies, ledger, jobs):
        app.include_router(module.router)
    problems.install(app)
    app.add_middleware(GatewayMiddleware, metrics=metrics, max_request_bytes=settings.max_request_bytes)
    undeclared = [
        f"{sorted(route.methods or ())} {route.path}"
        for route in api_routes(app.router.routes)
        if permission_of(route) is None
    ]
    if undeclared:
        raise ConfigurationError(f"routes without a declared permission: {', '.join(undeclared)}")
    return app
