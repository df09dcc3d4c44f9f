"""Everything a use case needs, built once by ``create_app`` (the composition root) and passed down."""

from dataclasses import dataclass

from gateway.auth.tokens import TokenService
from gateway.clock import Clock
from gateway.keyvault import KeyVault
from gateway.ledger.store import Ledger
from gateway.services.evidence_verification import EvidenceVerifier
from gateway.services.policy_engine import PolicyLibrary
from gateway.services.policy_validation import PolicyValidator
from gateway.settings import Settings
from gateway.storage.blobs import BlobStore
from gateway.storage.database import Database


@dataclass(frozen=True)
class ServiceContext:
    """The gateway's collaborators. Services take it as their first argument."""

    settings: Settings
    db: Database
    vault: KeyVault
    ledger: Ledger
    blobs: BlobStore
    clock: Clock
    tokens: TokenService
    policy_validator: PolicyValidator
    evidence_verifier: EvidenceVerifier
    policy_library: PolicyLibrary
