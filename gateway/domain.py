"""The gateway's domain words (DESIGN §2, §4): ids, roles and the closed sets of states.

Ids are opaque strings with a readable prefix and 128 random bits, never derived from user input,
so they are safe as file names and URL segments. Names chosen by users are validated by
``NAME_PATTERN`` at the API boundary.
"""

import secrets
from enum import StrEnum
from typing import Final, NewType

TenantId = NewType("TenantId", str)
PrincipalId = NewType("PrincipalId", str)
ArtefactId = NewType("ArtefactId", str)
NodeId = NewType("NodeId", str)
TokenId = NewType("TokenId", str)
JobId = NewType("JobId", str)
SessionId = NewType("SessionId", str)

# Lower-case letters, digits, dot, dash and underscore, starting with a letter or digit: no path
# separators, no "..", no quotes, no whitespace. Names go into URLs, ledger entries and file names
# of exports, so one conservative alphabet serves all three.
NAME_PATTERN: Final = r"^[a-z0-9][a-z0-9._-]{0,62}$"
LABEL_PATTERN: Final = r"^[a-z0-9][a-z0-9._-]{0,31}$"
ID_PATTERN: Final = r"^[a-z]{2,4}_[0-9a-f]{32}$"


def new_id(prefix: str) -> str:
    """A fresh id such as ``art_3f…`` (128 random bits)."""
    return f"{prefix}_{secrets.token_hex(16)}"


class Role(StrEnum):
    """What a principal may do (DESIGN §2).

    ``node`` is held only by node credentials; ``session`` only by the short-lived token a runner gets
    with its released keys, which reaches exactly one job's ciphertexts and its one result upload.
    """

    OWNER = "owner"
    PROVIDER = "provider"
    SECURITY = "security"
    ADMIN = "admin"
    NODE = "node"
    SESSION = "session"


PRINCIPAL_ROLES: Final = frozenset({Role.OWNER, Role.PROVIDER, Role.SECURITY, Role.ADMIN})


class TenantKind(StrEnum):
    """A customer organisation, a compute provider, or the platform operator's own tenant."""

    CUSTOMER = "customer"
    PROVIDER = "provider"
    PLATFORM = "platform"


class KycStatus(StrEnum):
    """A provider's know-your-customer status, set by an admin."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ArtefactKind(StrEnum):
    """What an artefact holds."""

    DATASET = "dataset"
    MODEL = "model"


class ArtefactState(StrEnum):
    """An artefact is active until its owner retires it."""

    ACTIVE = "active"
    RETIRED = "retired"


class VersionState(StrEnum):
    """An artefact version is usable only when its envelope and its sealed key are both stored."""

    AWAITING_CONTENT = "awaiting-content"
    AWAITING_KEY = "awaiting-key"
    READY = "ready"


class NodeState(StrEnum):
    """A node's life (DESIGN §4): pending until enrolled, then active, quarantined or revoked."""

    PENDING = "pending"
    ACTIVE = "active"
    QUARANTINED = "quarantined"
    REVOKED = "revoked"


class KekState(StrEnum):
    """A key-encryption key is current until rotated, then retired."""

    CURRENT = "current"
    RETIRED = "retired"


class DocumentKind(StrEnum):
    """The two kinds of document the security team writes (DESIGN §4, §8)."""

    RELEASE_POLICY = "ReleasePolicy"
    REFERENCE_VALUES = "ReferenceValues"


class JobState(StrEnum):
    """A job's life (DESIGN §4); every change goes through ``gateway.services.job_states.transition``."""

    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    ATTESTED = "attested"
    RELEASED = "released"
    RUNNING = "running"
    COMPLETED = "completed"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_JOB_STATES: Final = frozenset(
    {JobState.COMPLETED, JobState.REJECTED, JobState.FAILED, JobState.CANCELLED}
)
