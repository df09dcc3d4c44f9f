"""OCSP: a cached response counts only for its CertID, from an authorised responder, inside its window."""

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from attestation.nvidia import verify_gpu_evidence
from attestation.nvidia.memo import BoundedMemo
from attestation.nvidia.ocsp import chain_revocation, load_ocsp_responses
from attestation.result import RevocationStatus
from tests.attestation.nvidia import synthetic as s

pytestmark = pytest.mark.filterwarnings("ignore::attestation.nvidia.SimulatedRootsWarning")
NEXT_WEEK = s.later(7)


def respond(
    certificate: s.Issued,
    issuer: s.Issued,
    *,
    signer: s.Issued | None = None,
    status: ocsp.OCSPCertStatus = ocsp.OCSPCertStatus.GOOD,
    this_update: datetime | None = None,
    next_update: datetime | None = NEXT_WEEK,
    include_signer: bool = False,
    by_name: bool = False,
    algorithm: hashes.HashAlgorithm | None = None,
) -> bytes:
    """A DER OCSP response about ``certificate``, signed by ``signer`` (default: the issuer)."""
    signer = signer or issuer
    revoked = status is ocsp.OCSPCertStatus.REVOKED
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=certificate.certificate,
        issuer=issuer.certificate,
        algorithm=algorithm or hashes.SHA384(),
        cert_status=status,
        this_update=this_update or s.later(-1),
        next_update=next_update,
        revocation_time=s.later(-2) if revoked else None,
        revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
    )
    encoding = ocsp.OCSPResponderEncoding.NAME if by_name else ocsp.OCSPResponderEncoding.HASH
    builder = builder.responder_id(encoding, signer.certificate)
    if include_signer:
        builder = builder.certificates([signer.certificate])
    return builder.sign(signer.key, hashes.SHA384()).public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def pki() -> s.DevicePki:
    return s.DevicePki()


def _status(pki: s.DevicePki, responses: list[bytes]) -> tuple[RevocationStatus, str | None]:
    chain = pki.chain
    pairs = [(chain[i].certificate, chain[i + 1].certificate) for i in range(1, 4)]
    revocation = chain_revocation(pairs, load_ocsp_responses(responses), s.VERIFY_AT, BoundedMemo(64))
    return revocation.status, revocation.reason


def _all_good(pki: s.DevicePki, **options: object) -> list[bytes]:
    return [respond(pki.chain[i], pki.chain[i + 1], **options) for i in range(1, 4)]  # type: ignore[arg-type]  # options are respond()'s keywords


def _replace_first(pki: s.DevicePki, response: bytes) -> list[bytes]:
    return [response, *_all_good(pki)[1:]]


def _delegate(issuer: s.Issued, *, eku: bool = True) -> s.Issued:
    return s.issue(
        "Test OCSP responder", issuer, ca=False, extensions=s.ocsp_signing_extensions() if eku else ()
    )


CASES: list[tuple[str, Callable[[s.DevicePki], list[bytes]], RevocationStatus]] = [
    ("no cached response", lambda p: [], RevocationStatus.NOT_CHECKED),
    ("good answers from each issuer", _all_good, RevocationStatus.CHECKED_GOOD),
    (
        "good answers naming the responder by name",
        lambda p: _all_good(p, by_name=True),
        RevocationStatus.CHECKED_GOOD,
    ),
    (
        "good answers with SHA-1 CertIDs",
        lambda p: _all_good(p, algorithm=hashes.SHA1()),
        RevocationStatus.CHECKED_GOOD,
    ),
    (
        "a revoked intermediate",
        lambda p: _replace_first(p, respond(p.chain[1], p.chain[2], status=ocsp.OCSPCertStatus.REVOKED)),
        RevocationStatus.CHECKED_REVOKED,
    ),
    ("only some certificates answered", lambda p: _all_good(p)[:2], RevocationStatus.NOT_CHECKED),
    (
        "a response for another certificate (CertID)",
        lambda p: _replace_first(p, respond(p.chain[0], p.chain[1])),
        RevocationStatus.NOT_CHECKED,
    ),
    (
        "a response signed by a stranger",
        lambda p: _replace_first(
            p, respond(p.chain[1], p.chain[2], signer=s.issue("Stranger"), include_signer=True)
        ),
        RevocationStatus.NOT_CHECKED,
    ),
    (
        "a delegated responder with id-kp-OCSPSigning",
        lambda p: _replace_first(
            p, respond(p.chain[1], p.chain[2], signer=_delegate(p.chain[2]), include_signer=True)
        ),
        RevocationStatus.CHECKED_GOOD,
    ),
    (
        "a delegated responder without id-kp-OCSPSigning",
        lambda p: _replace_first(
            p, respond(p.chain[1], p.chain[2], signer=_delegate(p.chain[2], eku=False), include_signer=True)
        ),
        RevocationStatus.NOT_CHECKED,
    ),
    (
        "a responder delegated by another CA",
        lambda p: _replace_first(
            p, respond(p.chain[1], p.chain[2], signer=_delegate(p.chain[3]), include_signer=True)
        ),
        RevocationStatus.NOT_CHECKED,
    ),
    (
        "a response not yet valid",
        lambda p: _replace_first(p, respond(p.chain[1], p.chain[2], this_update=s.later(1))),
        RevocationStatus.STALE,
    ),
    (
        "a response past its nextUpdate",
        lambda p: _replace_first(
            p, respond(p.chain[1], p.chain[2], this_update=s.later(-9), next_update=s.later(-2))
        ),
        RevocationStatus.STALE,
    ),
    (
        "a response without nextUpdate",
        lambda p: _replace_first(p, respond(p.chain[1], p.chain[2], next_update=None)),
        RevocationStatus.STALE,
    ),
    (
        "a response whose signature was tampered with",
        lambda p: _replace_first(p, respond(p.chain[1], p.chain[2])[:-1] + b"\x00"),
        RevocationStatus.NOT_CHECKED,
    ),
    (
        "garbage bytes",
        lambda p: [b"\x30\x03\x0a\x01\x00", b"junk", *_all_good(p)[1:]],
        RevocationStatus.NOT_CHECKED,
    ),
    (
        "an unsuccessful response",
        lambda p: [
            ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.TRY_LATER).public_bytes(
                serialization.Encoding.DER
            ),
            *_all_good(p)[1:],
        ],
        RevocationStatus.NOT_CHECKED,
    ),
]


@pytest.mark.parametrize(("responses", "expected"), [pytest.param(c[1], c[2], id=c[0]) for c in CASES])
def test_ocsp_responses_are_accepted_only_when_bound_authorised_and_fresh(
    pki: s.DevicePki, responses: Callable[[s.DevicePki], list[bytes]], expected: RevocationStatus
) -> None:
    status, reason = _status(pki, responses(pki))
    assert status is expected
    assert reason == ("keyCompromise" if expected is RevocationStatus.CHECKED_REVOKED else None)


def test_the_verifier_reports_ocsp_claims_for_the_device_and_both_rim_chains() -> None:
    gpu = s.SyntheticGpu()
    rim_chain = gpu.rim_pki.chain
    responses = (
        *_all_good(gpu.device),
        *(respond(rim_chain[i], rim_chain[i + 1]) for i in range(3)),
    )
    claims = verify_gpu_evidence(
        gpu.evidence(),
        expected_nonce=gpu.parts.nonce,
        collateral=gpu.collateral(ocsp=responses),
        now=s.VERIFY_AT,
    )
    for chain in (claims.cert_chain, claims.driver_rim_cert_chain, claims.vbios_rim_cert_chain):
        assert chain.ocsp_status is RevocationStatus.CHECKED_GOOD
    stale = verify_gpu_evidence(
        gpu.evidence(),
        expected_nonce=gpu.parts.nonce,
        collateral=gpu.collateral(ocsp=responses),
        now=s.VERIFY_AT + timedelta(days=30),
    )
    assert stale.cert_chain.ocsp_status is RevocationStatus.STALE
    revoked_l3 = respond(rim_chain[1], rim_chain[2], status=ocsp.OCSPCertStatus.REVOKED)
    revoked = verify_gpu_evidence(
        gpu.evidence(),
        expected_nonce=gpu.parts.nonce,
        collateral=gpu.collateral(ocsp=(*responses, revoked_l3)),
        now=s.VERIFY_AT,
    )
    assert revoked.driver_rim_cert_chain.ocsp_status is RevocationStatus.CHECKED_REVOKED
    assert revoked.driver_rim_cert_chain.status == "revoked"
    assert revoked.cert_chain.ocsp_status is RevocationStatus.CHECKED_GOOD


class _RecordingResponses(dict[int, bytes]):
    """OCSP responses by serial that remember which serials the Verifier asked for."""

    def __init__(self, responses: dict[int, bytes]) -> None:
        super().__init__(responses)
        self.asked: list[int] = []

    def get(self, serial: int, default: object = None) -> Any:
        self.asked.append(serial)
        return super().get(serial, default)


def test_responses_by_serial_are_read_only_for_the_chains_verified() -> None:
    # A store holds one response per GPU of a fleet; a verification reads those of its own chains.
    gpu = s.SyntheticGpu()
    rim_chain = gpu.rim_pki.chain
    pairs = [(gpu.device.chain[i], gpu.device.chain[i + 1]) for i in range(1, 4)]
    pairs += [(rim_chain[i], rim_chain[i + 1]) for i in range(3)]
    ours = {
        certificate.certificate.serial_number: respond(certificate, issuer) for certificate, issuer in pairs
    }
    fleet = dict.fromkeys(range(1, 501), b"not read")
    stored = _RecordingResponses({**fleet, **ours})
    collateral = dataclasses.replace(gpu.collateral(), ocsp_by_serial=stored)
    claims = verify_gpu_evidence(
        gpu.evidence(), expected_nonce=gpu.parts.nonce, collateral=collateral, now=s.VERIFY_AT
    )
    for chain in (claims.cert_chain, claims.driver_rim_cert_chain, claims.vbios_rim_cert_chain):
        assert chain.ocsp_status is RevocationStatus.CHECKED_GOOD
    assert set(stored.asked) == set(ours)
    # The same responses handed over as a list give the same claims.
    listed = verify_gpu_evidence(
        gpu.evidence(),
        expected_nonce=gpu.parts.nonce,
        collateral=gpu.collateral(ocsp=tuple(ours.values())),
        now=s.VERIFY_AT,
    )
    assert listed == claims
    # A revoked certificate found by its serial is reported as revoked.
    revoked_l3 = respond(rim_chain[1], rim_chain[2], status=ocsp.OCSPCertStatus.REVOKED)
    stored[rim_chain[1].certificate.serial_number] = revoked_l3
    revoked = verify_gpu_evidence(
        gpu.evidence(), expected_nonce=gpu.parts.nonce, collateral=collateral, now=s.VERIFY_AT
    )
    assert revoked.driver_rim_cert_chain.ocsp_status is RevocationStatus.CHECKED_REVOKED
