"""The rows the release protocol reads and writes, as SQLAlchemy Core statements on plain rows.

A release is the gateway's hottest path: a challenge, then an attestation that reads the node, the
job, its inputs, their artefacts, versions and release counts, and writes the session, the decisions,
the counts and the job's state. Through the ORM each of those reads cost an identity-map lookup, a
compiled-statement cache key and an instance to populate, and the unit of work replayed every
change at commit — together more CPU than verifying nine ECDSA signatures. Here each read is one
prebuilt statement that returns a frozen dataclass, and each write one statement; the statements run
on the caller's transaction (``session.connection()``), so every rule about transactions, locks and
rollbacks in ``gateway.services`` holds unchanged.

Only the columns a release needs are read. A dataclass lists them; the select is built from its
fields, so the two cannot drift apart.
"""

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Final, TypeVar

from sqlalchemy import Connection, Row, Select, Table, Update, bindparam, func, insert, select, update

from gateway.storage.schema import (
    Artefact,
    ArtefactVersion,
    AttestationSession,
    Job,
    JobInput,
    Node,
    Release,
    ReleaseCount,
    Tenant,
    core_table,
)

T = TypeVar("T")


def _columns(table: Table, row_type: type[Any]) -> Select[Any]:
    return select(*(table.c[field.name] for field in fields(row_type)))


def _as(row_type: Callable[..., T], row: Row[Any]) -> T:
    # The select was built from the dataclass's fields, in order.
    return row_type(*row)


@dataclass(frozen=True, slots=True)
class NodeRow:
    """A node as a release sees it: state, region and the hardware identity it registered."""

    id: str
    tenant_id: str
    state: str
    region: str
    tee_type: str
    cpu_id: str
    gpu_serials: list[str]
    gpu_count: int


@dataclass(frozen=True, slots=True)
class ProviderRow:
    """A node's provider: its id and KYC status."""

    id: str
    kyc_status: str | None


@dataclass(slots=True)
class JobRow:
    """A job as a release sees it. Mutable: ``job_states.transition`` changes its state, and
    ``save_job_state`` writes the change back in the same transaction."""

    id: str
    tenant_id: str
    state: str
    purpose: str
    manifest: str
    manifest_digest: str
    node_id: str | None
    failure_code: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SessionRow:
    """An attestation session: its nonce, lifetime and whether it was consumed."""

    id: str
    job_id: str
    node_id: str
    nonce: str
    issued_at: datetime
    expires_at: datetime
    consumed_at: datetime | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class InputRow:
    """One input of a job: the artefact version it pins and the digest of that ciphertext."""

    artefact_id: str
    version: int
    kind: str
    ciphertext_digest: str


@dataclass(frozen=True, slots=True)
class ArtefactRow:
    """What a release decision needs of an artefact: labels, pinned policy, limits and count."""

    id: str
    tenant_id: str
    kind: str
    labels: list[str]
    state: str
    expires_at: datetime | None
    max_releases: int | None
    release_count: int
    policy_name: str | None
    policy_version: int | None
    policy_digest: str | None


@dataclass(frozen=True, slots=True)
class VersionRow:
    """The stored envelope of an input: its size and digest, and the data key sealed under a KEK."""

    artefact_id: str
    version: int
    size: int | None
    ciphertext_digest: str | None
    sealed_key: bytes | None
    kek_id: str | None


_NODES: Final = core_table(Node)
_TENANTS: Final = core_table(Tenant)
_JOBS: Final = core_table(Job)
_SESSIONS: Final = core_table(AttestationSession)
_INPUTS: Final = core_table(JobInput)
_ARTEFACTS: Final = core_table(Artefact)
_VERSIONS: Final = core_table(ArtefactVersion)
_RELEASES: Final = core_table(Release)
_COUNTS: Final = core_table(ReleaseCount)

_NODE: Final = _columns(_NODES, NodeRow).where(_NODES.c.id == bindparam("id"))
_PROVIDER: Final = _columns(_TENANTS, ProviderRow).where(_TENANTS.c.id == bindparam("id"))
_JOB: Final = _columns(_JOBS, JobRow).where(_JOBS.c.id == bindparam("id"))
_SESSION: Final = _columns(_SESSIONS, SessionRow).where(_SESSIONS.c.id == bindparam("id"))
_INPUTS_OF: Final = (
    _columns(_INPUTS, InputRow).where(_INPUTS.c.job_id == bindparam("job")).order_by(_INPUTS.c.artefact_id)
)
_ARTEFACTS_IN: Final = (
    _columns(_ARTEFACTS, ArtefactRow)
    .where(_ARTEFACTS.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_ARTEFACTS.c.id)
)
_VERSIONS_OF: Final = (
    _columns(_VERSIONS, VersionRow)
    .select_from(
        _VERSIONS.join(
            _INPUTS,
            (_INPUTS.c.artefact_id == _VERSIONS.c.artefact_id) & (_INPUTS.c.version == _VERSIONS.c.version),
        )
    )
    .where(_INPUTS.c.job_id == bindparam("job"))
)
_COUNTED: Final = select(_COUNTS.c.artefact_id).where(_COUNTS.c.job_id == bindparam("job"))
_OTHER_JOBS: Final = (
    select(_COUNTS.c.artefact_id, func.count())
    .where(_COUNTS.c.artefact_id.in_(bindparam("ids", expanding=True)), _COUNTS.c.job_id != bindparam("job"))
    .group_by(_COUNTS.c.artefact_id)
)
_SAVE_JOB: Final = (
    update(_JOBS)
    .where(_JOBS.c.id == bindparam("job"))
    .values(
        state=bindparam("state"), updated_at=bindparam("updated_at"), failure_code=bindparam("failure_code")
    )
)
_INSERT_SESSION: Final = insert(_SESSIONS)
_INSERT_RELEASE: Final = insert(_RELEASES)
_INSERT_COUNT: Final = insert(_COUNTS)
_INCREMENT: Final = (
    update(_ARTEFACTS)
    .where(_ARTEFACTS.c.id.in_(bindparam("artefacts", expanding=True)))
    .values(release_count=_ARTEFACTS.c.release_count + 1)
)


def node(connection: Connection, node_id: str) -> NodeRow | None:
    """The node ``node_id``, or None."""
    row = connection.execute(_NODE, {"id": node_id}).one_or_none()
    return None if row is None else _as(NodeRow, row)


def provider(connection: Connection, tenant_id: str) -> ProviderRow | None:
    """The tenant ``tenant_id`` as a provider, or None."""
    row = connection.execute(_PROVIDER, {"id": tenant_id}).one_or_none()
    return None if row is None else _as(ProviderRow, row)


def job(connection: Connection, job_id: str, *, lock: bool = False) -> JobRow | None:
    """The job ``job_id``, or None; ``lock`` takes its row lock (PostgreSQL) for the transaction."""
    statement = _JOB.with_for_update() if lock else _JOB
    row = connection.execute(statement, {"id": job_id}).one_or_none()
    return None if row is None else _as(JobRow, row)


def attestation_session(connection: Connection, session_id: str, *, lock: bool = False) -> SessionRow | None:
    """The attestation session ``session_id``, or None; ``lock`` takes its row lock (PostgreSQL)."""
    statement = _SESSION.with_for_update() if lock else _SESSION
    row = connection.execute(statement, {"id": session_id}).one_or_none()
    return None if row is None else _as(SessionRow, row)


def job_inputs(connection: Connection, job_id: str) -> list[InputRow]:
    """The inputs of ``job_id``, by artefact id."""
    return [_as(InputRow, row) for row in connection.execute(_INPUTS_OF, {"job": job_id})]


def artefacts(connection: Connection, ids: Sequence[str], *, lock: bool = False) -> dict[str, ArtefactRow]:
    """The artefacts ``ids`` by id. ``lock`` takes their row locks in id order, the one order every
    release takes them in, so two releases over the same artefacts cannot deadlock on PostgreSQL."""
    statement = _ARTEFACTS_IN.with_for_update() if lock else _ARTEFACTS_IN
    return {row.id: _as(ArtefactRow, row) for row in connection.execute(statement, {"ids": list(ids)})}


def input_versions(connection: Connection, job_id: str) -> dict[str, VersionRow]:
    """The stored version of each input of ``job_id``, by artefact id."""
    return {
        row.artefact_id: _as(VersionRow, row) for row in connection.execute(_VERSIONS_OF, {"job": job_id})
    }


def counted_artefacts(connection: Connection, job_id: str) -> set[str]:
    """The artefacts whose release was already counted for ``job_id`` (a runner attesting again)."""
    return set(connection.execute(_COUNTED, {"job": job_id}).scalars())


def releases_to_other_jobs(connection: Connection, ids: Sequence[str], job_id: str) -> dict[str, int]:
    """How many other jobs each artefact of ``ids`` was released to."""
    counts: dict[str, int] = dict(connection.execute(_OTHER_JOBS, {"ids": list(ids), "job": job_id}).all())
    return counts


def save_job_state(connection: Connection, job_row: JobRow) -> None:
    """Write a job's state, update time and failure code, as ``transition`` left them."""
    connection.execute(
        _SAVE_JOB,
        {
            "job": job_row.id,
            "state": job_row.state,
            "updated_at": job_row.updated_at,
            "failure_code": job_row.failure_code,
        },
    )


def insert_session(connection: Connection, values: Mapping[str, object]) -> None:
    """Record a new attestation session."""
    connection.execute(_INSERT_SESSION, dict(values))


@functools.cache
def _session_update(columns: tuple[str, ...]) -> Update:
    # One prebuilt statement per set of columns a caller changes (there are three): a statement
    # built per call with its values inline costs more to coerce and key than to execute.
    return (
        update(_SESSIONS)
        .where(_SESSIONS.c.id == bindparam("session_id"))
        .values({column: bindparam(f"new_{column}") for column in columns})
    )


def update_session(connection: Connection, session_id: str, values: Mapping[str, object]) -> None:
    """Change columns of the attestation session ``session_id``."""
    columns = tuple(sorted(values))
    parameters = {f"new_{column}": value for column, value in values.items()}
    connection.execute(_session_update(columns), {"session_id": session_id, **parameters})


def insert_releases(connection: Connection, rows: Iterable[Mapping[str, object]]) -> None:
    """Record release decisions (one row per input)."""
    batch = [dict(row) for row in rows]
    if batch:
        connection.execute(_INSERT_RELEASE, batch)


def count_releases(connection: Connection, artefact_ids: Sequence[str], job_id: str, now: datetime) -> None:
    """Count one release of each of ``artefact_ids`` to ``job_id`` against the artefacts' maximums."""
    if not artefact_ids:
        return
    counts = [{"artefact_id": artefact, "job_id": job_id, "counted_at": now} for artefact in artefact_ids]
    connection.execute(_INSERT_COUNT, counts)
    connection.execute(_INCREMENT, {"artefacts": list(artefact_ids)})
