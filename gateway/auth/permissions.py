"""Every permission a route can require, and the one table of which roles grant it (DESIGN §2).

Each API route declares exactly one ``Permission`` through ``require(...)``; the app refuses to start
if a route declares none, and a test walks every route × every role against this table's intent.
Owners, providers and security teams act inside their own tenant only; admins manage tenants,
principals, providers and the KEK across tenants but never read artefacts or policies.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from gateway.domain import Role, TenantId


class Permission(StrEnum):
    """What a route needs."""

    PUBLIC = "public"
    AUTHENTICATED = "authenticated"
    TENANT_ADMIN = "tenant.admin"
    PROVIDER_ADMIN = "provider.admin"
    KEK_ROTATE = "kek.rotate"
    KEK_READ = "kek.read"
    ARTEFACT_WRITE = "artefact.write"
    ARTEFACT_READ = "artefact.read"
    ARTEFACT_CONTENT_READ = "artefact.content.read"
    NODE_REGISTER = "node.register"
    NODE_READ = "node.read"
    NODE_ENROLL = "node.enroll"
    NODE_STATE_WRITE = "node.state.write"
    POLICY_WRITE = "policy.write"
    REFERENCE_VALUES_WRITE = "reference-values.write"
    POLICY_READ = "policy.read"
    BASELINE_WRITE = "baseline.write"
    LEDGER_READ = "ledger.read"
    JOB_SUBMIT = "job.submit"
    JOB_READ = "job.read"
    JOB_CANCEL = "job.cancel"
    JOB_RESULT_READ = "job.result.read"
    RELEASE_READ = "release.read"
    RUNNER = "runner"
    SESSION = "session"


EVERY_ROLE: Final = frozenset(Role)

ROLES_GRANTING: Final[Mapping[Permission, frozenset[Role]]] = {
    Permission.PUBLIC: EVERY_ROLE,
    Permission.AUTHENTICATED: EVERY_ROLE,
    Permission.TENANT_ADMIN: frozenset({Role.ADMIN}),
    Permission.PROVIDER_ADMIN: frozenset({Role.ADMIN}),
    Permission.KEK_ROTATE: frozenset({Role.ADMIN}),
    Permission.KEK_READ: frozenset({Role.OWNER}),
    Permission.ARTEFACT_WRITE: frozenset({Role.OWNER}),
    Permission.ARTEFACT_READ: frozenset({Role.OWNER, Role.SECURITY}),
    Permission.ARTEFACT_CONTENT_READ: frozenset({Role.OWNER}),
    Permission.NODE_REGISTER: frozenset({Role.PROVIDER}),
    Permission.NODE_READ: frozenset({Role.PROVIDER, Role.SECURITY}),
    Permission.NODE_ENROLL: frozenset({Role.PROVIDER, Role.NODE}),
    Permission.NODE_STATE_WRITE: frozenset({Role.SECURITY}),
    Permission.POLICY_WRITE: frozenset({Role.SECURITY, Role.OWNER}),
    Permission.REFERENCE_VALUES_WRITE: frozenset({Role.SECURITY}),
    Permission.POLICY_READ: frozenset({Role.SECURITY, Role.OWNER}),
    Permission.BASELINE_WRITE: frozenset({Role.SECURITY}),
    Permission.LEDGER_READ: frozenset({Role.OWNER, Role.SECURITY, Role.ADMIN}),
    Permission.JOB_SUBMIT: frozenset({Role.OWNER}),
    Permission.JOB_READ: frozenset({Role.OWNER, Role.SECURITY}),
    Permission.JOB_CANCEL: frozenset({Role.OWNER}),
    Permission.JOB_RESULT_READ: frozenset({Role.OWNER}),
    Permission.RELEASE_READ: frozenset({Role.OWNER, Role.SECURITY}),
    # The runner's routes: a node credential claims, challenges and attests; the session token it
    # receives with the keys reaches that one job's inputs, its result upload and its failure report.
    Permission.RUNNER: frozenset({Role.NODE}),
    Permission.SESSION: frozenset({Role.SESSION}),
}


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: a principal (roles in one tenant) or a node (role ``node``, subject = node id)."""

    subject: str
    tenant_id: TenantId
    roles: frozenset[Role]
    token_id: str

    @property
    def is_node(self) -> bool:
        """Whether this is a node credential rather than a principal's token."""
        return Role.NODE in self.roles

    def has(self, permission: Permission) -> bool:
        """Whether one of the caller's roles grants ``permission``."""
        return bool(self.roles & ROLES_GRANTING[permission])

    def holds(self, role: Role) -> bool:
        """Whether the caller holds ``role``."""
        return role in self.roles
