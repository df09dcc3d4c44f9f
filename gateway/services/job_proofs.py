"""The evidence an owner keeps about a completed job, to verify offline (DESIGN §6.4).

A proof bundle holds the manifest, the signed receipt, the attestation token and the keys that sign
attestation tokens, the ledger entry that recorded the result with its inclusion proof and a tree
head signed by the ledger key. ``gateway.job_verification`` checks it without contacting anyone.
"""

import base64
import json
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from attestation.token_keys import TokenVerificationKey, jwks
from gateway.auth.permissions import Caller
from gateway.errors import NotFoundError
from gateway.keyvault import SigningPurpose
from gateway.services.context import ServiceContext
from gateway.storage.lookups import get_owned
from gateway.storage.schema import AttestationSession, Job, LedgerEntry

PROOF_FORMAT: Final = "ccgate-job-proof/v1"


def proof_bundle(ctx: ServiceContext, caller: Caller, job_id: str) -> dict[str, object]:
    """Everything needed to verify a completed job's receipt offline.

    Raises:
        NotFoundError: no such job in the caller's tenant, or it has no result yet.
    """
    with ctx.db.transaction() as session:
        job = get_owned(session, Job, job_id, caller.tenant_id, "job")
        if job.receipt is None or job.result_ledger_index is None:
            raise NotFoundError("job result", job_id)
        released = session.scalar(
            select(AttestationSession)
            .where(AttestationSession.job_id == job.id, AttestationSession.outcome == "released")
            .order_by(AttestationSession.issued_at.desc())
        )
        if released is None or released.attestation_token is None:
            raise NotFoundError("attestation token", job_id)
        entry = session.get(LedgerEntry, job.result_ledger_index)
        if entry is None:
            raise NotFoundError("ledger entry", str(job.result_ledger_index))
        proof = ctx.ledger.inclusion(session, job.result_ledger_index)
    keys = [
        TokenVerificationKey(kid=key.kid, public_key=Ed25519PublicKey.from_public_bytes(key.public))
        for key in ctx.vault.public_signing_keys(SigningPurpose.ATTESTATION_TOKEN)
    ]
    return {
        "format": PROOF_FORMAT,
        "job": job.id,
        "issuer": ctx.settings.token_issuer,
        "manifest": job.manifest,
        "receipt": json.loads(job.receipt),
        "result": {"digest": job.result_digest, "size": job.result_size},
        "attestation_token": released.attestation_token,
        "attestation_keys": jwks(keys),
        "ledger": {
            "index": proof.index,
            "entry": json.loads(entry.entry),
            "path": [step.hex() for step in proof.path],
            "tree_head": proof.tree_head.as_json(),
            "key_id": ctx.vault.ledger_key_id,
            "public_key": base64.b64encode(ctx.vault.ledger_public_key).decode("ascii"),
        },
    }
