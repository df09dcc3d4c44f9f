"""The Attestation Result's claims document: NVIDIA names where they exist, JSON-ready values."""

from datetime import UTC, datetime

from attestation.claims import claim_fields, to_claims
from attestation.evidence import CpuEvidence, EvidenceBundle, GpuArch, GpuEvidence, TeeType, evidence_digest
from attestation.result import CertChainClaims, GpuClaims, RevocationStatus


def test_claim_names_come_from_metadata_or_the_field_name() -> None:
    names = dict(claim_fields(GpuClaims))
    assert "x-nvidia-gpu-driver-version" in names
    assert "measres" in names
    assert names["x-nvidia-gpu-driver-version"].name == "driver_version"


def test_to_claims_renders_enums_datetimes_and_nesting() -> None:
    chain = CertChainClaims(
        ocsp_status=RevocationStatus.STALE, expiration_date=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    )
    assert to_claims(chain) == {
        "x-nvidia-cert-status": "valid",
        "x-nvidia-cert-ocsp-status": "stale",
        "x-nvidia-cert-expiration-date": "9999-12-31T23:59:59Z",
        "x-nvidia-cert-revocation-reason": None,
    }


def test_evidence_digest_changes_with_any_byte() -> None:
    bundle = EvidenceBundle(
        CpuEvidence(TeeType.SNP, b"report"), (GpuEvidence(GpuArch.HOPPER, b"spdm", b"pem"),)
    )
    other = EvidenceBundle(
        CpuEvidence(TeeType.SNP, b"report"), (GpuEvidence(GpuArch.HOPPER, b"spdn", b"pem"),)
    )
    assert evidence_digest(bundle) != evidence_digest(other)
    assert len(evidence_digest(bundle)) == 64
