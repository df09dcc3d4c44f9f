"""``verify_gpu_evidence``: one NVIDIA GPU's Evidence + Endorsements + ``now`` → its GPU claims.

The checks run in NVIDIA's order, and each adds the claims it establishes:

1. parse the SPDM request + response and the opaque data (strict bounds, typed errors);
2. the device chain: 5 certificates to the pinned device root, valid at ``now``;
3. the report signature under the leaf key, then the nonce against the expected GPU nonce;
4. the FWID of the report against the leaf certificate (skipped, claim None, when the report has none);
5. OCSP of the device chain from cached responses (a claim);
6. the driver and VBIOS RIMs: select, verify (digest, signature, chain), compare (claims).

Untrustworthy Evidence or unusable collateral raises, and the error's ``.claims`` hold what had been
established, under NVIDIA's claim names. Measurement and version mismatches are claims
(``measres: fail``): the policy decides; ``require_measurements_match`` turns them into an error for
callers that want one verdict.
"""

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509

from attestation.claims import claim_fields, to_claims
from attestation.errors import AttestationError, NonceMismatchError
from attestation.evidence import GpuEvidence
from attestation.nvidia.cache import NvidiaVerifierCache
from attestation.nvidia.collateral import NvidiaCollateral
from attestation.nvidia.device_chain import check_fwid, verify_device_chain
from attestation.nvidia.errors import (
    MeasurementMismatchError,
    RimChainError,
    RimDigestError,
    RimExpiredError,
    RimMalformedError,
    RimMissingError,
    RimSignatureError,
)
from attestation.nvidia.measurements import RimSelection, index_conflicts, select_rim, skips_nvdec0
from attestation.nvidia.ocsp import (
    CachedOcspResponse,
    ChainRevocation,
    chain_revocation,
    load_ocsp_responses,
)
from attestation.nvidia.opaque import STATUS_DISABLED, STATUS_ENABLED
from attestation.nvidia.opaque import parse_opaque_data as _parse_opaque
from attestation.nvidia.report_signature import verify_report_signature
from attestation.nvidia.rim_ids import rim_ids
from attestation.nvidia.spdm import parse_measurement_report
from attestation.result import CertChainClaims, GpuClaims, RevocationStatus

MEASUREMENTS_MATCH = "success"
MEASUREMENTS_DIFFER = "fail"
_CLAIM_NAMES = {field.name: name for name, field in claim_fields(GpuClaims)}


def _chain_claims(revocation: ChainRevocation, expiration: datetime) -> CertChainClaims:
    revoked = revocation.status is RevocationStatus.CHECKED_REVOKED
    return CertChainClaims(
        status="revoked" if revoked else "valid",
        ocsp_status=revocation.status,
        expiration_date=expiration,
        revocation_reason=revocation.reason,
    )


def _rim_failure_claims(prefix: str, error: AttestationError) -> dict[str, object]:
    """What a failed RIM stage establishes, by which check refused the RIM."""
    if isinstance(error, RimMissingError):
        return {f"{prefix}_rim_fetched": False}
    established: dict[str, object] = {
        f"{prefix}_rim_fetched": True,
        f"{prefix}_rim_schema_validated": not isinstance(error, RimMalformedError),
    }
    if isinstance(error, RimDigestError | RimSignatureError):
        established[f"{prefix}_rim_signature_verified"] = False
    elif isinstance(error, RimChainError | RimExpiredError):
        established[f"{prefix}_rim_signature_verified"] = True
        status = "expired" if isinstance(error, RimExpiredError) else "invalid"
        established[f"{prefix}_rim_cert_chain"] = CertChainClaims(status=status)
    return established


class _Progress:
    """The claims established so far, by GpuClaims field name, for errors raised midway."""

    def __init__(self) -> None:
        self.fields: dict[str, object] = {}

    def add(self, **fields: object) -> None:
        self.fields.update(fields)

    def claims(self) -> dict[str, object]:
        return {_CLAIM_NAMES[name]: to_claims(value) for name, value in self.fields.items()}


def verify_gpu_evidence(
    evidence: GpuEvidence,
    *,
    expected_nonce: bytes,
    collateral: NvidiaCollateral,
    now: datetime,
    cache: NvidiaVerifierCache | None = None,
) -> GpuClaims:
    """Verify one GPU's Evidence at ``now`` and return its claims.

    ``cache`` memoises content-addressed steps across calls (pass the same one for steady-state
    speed); without it every step runs cold.

    Raises:
        ValueError: ``now`` is not timezone-aware.
        SpdmMalformedError: (subclasses) the report or its opaque data does not parse.
        OpaqueVersionUnsupportedError: the opaque data is of an unsupported version.
        DeviceChainError, DeviceCertificateExpiredError, GpuArchMismatchError: the device chain.
        ReportSignatureError: the report signature does not verify.
        NonceMismatchError: the report answers another nonce.
        FwidMismatchError: the report's FWID is not the leaf certificate's.
        RimMissingError: the collateral has no RIM for an id the report needs (retryable).
        RimMalformedError, RimDigestError, RimSignatureError, RimChainError: a RIM is forged, edited
            or badly chained.
        RimExpiredError: the RIM's chain is outside its validity at ``now`` (retryable).
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    progress = _Progress()
    try:
        return _verify(
            evidence,
            expected_nonce=expected_nonce,
            collateral=collateral,
            now=now,
            cache=cache or NvidiaVerifierCache(),
            progress=progress,
        )
    except AttestationError as exc:
        exc.claims.update(progress.claims())
        raise


def _responses_for(
    pairs: Sequence[tuple[x509.Certificate, x509.Certificate]],
    given: tuple[CachedOcspResponse, ...],
    collateral: NvidiaCollateral,
) -> tuple[CachedOcspResponse, ...]:
    """The OCSP responses that may speak for ``pairs``: those given, and those stored for their serials."""
    if collateral.ocsp_by_serial is None:
        return given
    stored = [collateral.ocsp_by_serial.get(certificate.serial_number) for certificate, _issuer in pairs]
    return given + load_ocsp_responses([der for der in stored if der is not None])


def _verify(
    evidence: GpuEvidence,
    *,
    expected_nonce: bytes,
    collateral: NvidiaCollateral,
    now: datetime,
    cache: NvidiaVerifierCache,
    progress: _Progress,
) -> GpuClaims:
    anchors = collateral.anchors
    progress.add(arch=evidence.arch, simulated=anchors.simulated)
    report = parse_measurement_report(evidence.report, records=cache.records)
    opaque_key = hashlib.sha256(report.opaque_data).digest()
    opaque = cache.opaque.get_or_compute(opaque_key, lambda: _parse_opaque(report.opaque_data))
    nvdec0_states = {STATUS_ENABLED: True, STATUS_DISABLED: False}
    nvdec0 = None if opaque.nvdec0_status is None else nvdec0_states.get(opaque.nvdec0_status)
    progress.add(
        report_parsed=True,
        driver_version=opaque.driver_version,
        vbios_version=opaque.vbios_version,
        eat_nonce=report.nonce.hex(),
        nvdec0_enabled=nvdec0,
    )
    identity = verify_device_chain(
        evidence.certificate_chain,
        evidence.arch,
        anchors.device_root,
        now,
        chains=cache.chains,
        links=cache.links,
        root_print=anchors.device_root_print,
    )
    progress.add(arch_check=True, hwmodel=identity.hwmodel, ueid=identity.ueid)
    verify_report_signature(report, identity.leaf)
    progress.add(signature_verified=True)
    if not hmac.compare_digest(report.nonce, expected_nonce):
        progress.add(nonce_match=False)
        raise NonceMismatchError(f"the GPU report answers nonce {report.nonce.hex()}, not the expected one")
    progress.add(nonce_match=True)
    fwid_match = check_fwid(opaque.fwid, identity)
    progress.add(fwid_match=fwid_match)

    given = load_ocsp_responses(collateral.ocsp_responses)
    device_links = (*identity.chain, anchors.device_root)
    # The leaf (index 0) is not OCSP-checked, as NVIDIA does: the GPU generates it at boot.
    device_pairs = [(device_links[i], device_links[i + 1]) for i in range(1, len(device_links) - 1)]
    device_chain = _chain_claims(
        chain_revocation(device_pairs, _responses_for(device_pairs, given, collateral), now, cache.ocsp),
        identity.expiration,
    )
    progress.add(cert_chain=device_chain)

    ids = rim_ids(opaque, evidence.arch)
    skip_nvdec0 = skips_nvdec0(opaque.nvdec0_status)
    selected: dict[str, tuple[RimSelection, CertChainClaims]] = {}
    for prefix, rim_id, version in (
        ("driver", ids.driver, opaque.driver_version),
        ("vbios", ids.vbios, opaque.vbios_version),
    ):
        progress.add(**{f"{prefix}_rim_id": rim_id})
        try:
            selection = select_rim(
                rim_id,
                collateral.rims.get(rim_id, ()),
                version,
                report,
                skip_nvdec0=skip_nvdec0,
                rim_root=anchors.rim_root,
                now=now,
                rims=cache.rims,
                links=cache.links,
                comparisons=cache.comparisons,
                rim_root_print=anchors.rim_root_print,
            )
        except AttestationError as exc:
            progress.add(**_rim_failure_claims(prefix, exc))
            raise
        rim_links = (*selection.rim.chain, anchors.rim_root)
        rim_pairs = [(rim_links[i], rim_links[i + 1]) for i in range(len(rim_links) - 1)]
        rim_chain = _chain_claims(
            chain_revocation(rim_pairs, _responses_for(rim_pairs, given, collateral), now, cache.ocsp),
            selection.expiration,
        )
        progress.add(
            **{
                f"{prefix}_rim_fetched": True,
                f"{prefix}_rim_schema_validated": True,
                f"{prefix}_rim_signature_verified": True,
                f"{prefix}_rim_version_match": selection.version_match,
                f"{prefix}_rim_measurements_available": bool(selection.rim.document.active),
                f"{prefix}_rim_cert_chain": rim_chain,
            }
        )
        selected[prefix] = (selection, rim_chain)

    (driver, driver_chain), (vbios, vbios_chain) = selected["driver"], selected["vbios"]
    no_conflict = not index_conflicts(driver.rim.document, vbios.rim.document)
    mismatches = tuple(
        sorted(
            (*driver.comparison.mismatches, *vbios.comparison.mismatches), key=lambda mismatch: mismatch.index
        )
    )
    matched = no_conflict and not mismatches
    return GpuClaims(
        arch=evidence.arch,
        arch_check=True,
        simulated=anchors.simulated,
        hwmodel=identity.hwmodel,
        ueid=identity.ueid,
        oemid=driver.rim.document.manufacturer_id,
        driver_version=opaque.driver_version,
        vbios_version=opaque.vbios_version,
        secboot=matched,
        dbgstat="disabled" if matched else "unknown",
        measres=MEASUREMENTS_MATCH if matched else MEASUREMENTS_DIFFER,
        mismatches=mismatches,
        eat_nonce=report.nonce.hex(),
        nonce_match=True,
        report_parsed=True,
        signature_verified=True,
        fwid_match=fwid_match,
        cert_chain=device_chain,
        driver_rim_id=ids.driver,
        driver_rim_fetched=True,
        driver_rim_schema_validated=True,
        driver_rim_signature_verified=True,
        driver_rim_version_match=driver.version_match,
        driver_rim_measurements_available=bool(driver.rim.document.active),
        driver_rim_cert_chain=driver_chain,
        vbios_rim_id=ids.vbios,
        vbios_rim_fetched=True,
        vbios_rim_schema_validated=True,
        vbios_rim_signature_verified=True,
        vbios_rim_version_match=vbios.version_match,
        vbios_rim_measurements_available=bool(vbios.rim.document.active),
        vbios_rim_cert_chain=vbios_chain,
        vbios_index_no_conflict=no_conflict,
        nvdec0_enabled=nvdec0,
    )


def require_measurements_match(claims: GpuClaims) -> None:
    """Refuse verified claims whose measurements or RIM versions differ from the report's.

    Raises:
        MeasurementMismatchError: ``measres`` is not success, or a RIM's version is not the report's;
            its ``.claims`` are the full GPU claims (with the mismatched indexes).
    """
    problems = []
    if claims.measres != MEASUREMENTS_MATCH:
        indexes = [mismatch.index for mismatch in claims.mismatches]
        conflict = "" if claims.vbios_index_no_conflict else " and the RIMs claim the same index"
        problems.append(f"{len(indexes)} measurements differ from the RIMs at {indexes}{conflict}")
    if not claims.driver_rim_version_match:
        problems.append(f"the driver RIM is not for driver {claims.driver_version}")
    if not claims.vbios_rim_version_match:
        problems.append(f"the VBIOS RIM is not for VBIOS {claims.vbios_version}")
    if problems:
        document = to_claims(claims)
        raise MeasurementMismatchError(
            "; ".join(problems), claims=document if isinstance(document, dict) else {}
        )
