"""The simulated CPU Verifier: claims say simulated, every use warns, every check has a typed rejection."""

import contextlib
import functools
import os
import struct
import warnings
from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attestation.errors import (
    AttestationError,
    CertificateChainError,
    CertificateExpiredError,
    EvidenceMalformedError,
    HardwareIdentityMismatchError,
    ReportDataMismatchError,
    SignatureInvalidError,
    SimulatedEvidenceRefusedError,
    UnsupportedEvidenceError,
)
from attestation.evidence import TeeType
from attestation.result import BindingStatus, CpuClaims, RevocationStatus, TcbStatus
from attestation.simulated.cpu_report import parse_simulated_cpu_report
from attestation.simulated.roots import SimulatedRoots, SimulatedTeeWarning
from attestation.simulated.verifier import verify_simulated_cpu_report
from enclave_runner.protocol.simulated.cpu import SimulatedCpu
from gateway.simulation import cpu_from_material
from tests.simulation import sites

REPORT_DATA = bytes(range(64))
pytestmark = pytest.mark.filterwarnings("ignore::attestation.simulated.roots.SimulatedTeeWarning")


def _cpu(*, debug: bool = False) -> SimulatedCpu:
    return cpu_from_material(sites.vendor().issue_cpu(debug=debug))


def _verify(
    report: bytes,
    certificates: bytes,
    *,
    roots: SimulatedRoots | None = None,
    expected: bytes = REPORT_DATA,
    now_offset: timedelta = timedelta(0),
) -> CpuClaims:
    return verify_simulated_cpu_report(
        report,
        certificates=certificates,
        roots=roots or sites.roots(),
        expected_report_data=expected,
        now=sites.NOW + now_offset,
    )


def test_a_genuine_simulated_report_verifies_with_claims_that_say_simulated() -> None:
    cpu = _cpu()
    report, certificates = cpu.collect(REPORT_DATA)
    claims = verify_simulated_cpu_report(
        report,
        certificates=certificates,
        roots=sites.roots(),
        expected_report_data=REPORT_DATA,
        now=sites.NOW,
    )
    assert claims.tee is TeeType.SIMULATED
    assert claims.simulated is True
    assert claims.debug is False
    assert claims.measurement == cpu.measurement.hex()
    assert claims.hardware_id == cpu.chip_id.hex()
    assert claims.report_data == REPORT_DATA.hex()
    assert claims.report_data_binding is BindingStatus.VERIFIED
    assert claims.tcb_status is TcbStatus.UP_TO_DATE
    assert claims.cert_chain.ocsp_status is RevocationStatus.NOT_CHECKED
    assert claims.sim is not None
    assert (claims.sim.chip_id, claims.sim.measurement) == (claims.hardware_id, claims.measurement)
    assert claims.snp is None
    assert claims.tdx is None


def test_verification_warns_every_time() -> None:
    report, certificates = _cpu().collect(REPORT_DATA)
    roots = sites.roots()
    with pytest.warns(SimulatedTeeWarning, match="proves nothing"):
        verify_simulated_cpu_report(
            report, certificates=certificates, roots=roots, expected_report_data=REPORT_DATA, now=sites.NOW
        )


def test_a_debuggable_guest_is_a_claim_for_policy_not_an_error() -> None:
    report, certificates = _cpu(debug=True).collect(REPORT_DATA)
    assert _verify(report, certificates).debug is True


def test_a_trailing_copy_of_the_root_in_the_chain_is_ignored() -> None:
    report, certificates = _cpu().collect(REPORT_DATA)
    _verify(report, certificates + sites.roots().to_pem()["cpu-root"])


def _flip(position: int) -> Callable[[bytes], bytes]:
    def mutate(report: bytes) -> bytes:
        changed = bytearray(report)
        changed[position] ^= 0x01
        return bytes(changed)

    return mutate


def _set_version(version: int) -> Callable[[bytes], bytes]:
    return lambda report: report[:32] + struct.pack(">H", version) + report[34:]


REPORT_MUTATIONS = [
    (_flip(-1), SignatureInvalidError),
    (_flip(100), SignatureInvalidError),
    (_flip(36), SignatureInvalidError),
    (_flip(0), EvidenceMalformedError),
    (_set_version(2), UnsupportedEvidenceError),
    (_set_version(0), UnsupportedEvidenceError),
    (lambda report: report[:34] + b"\x00\x02" + report[36:], EvidenceMalformedError),
    (lambda report: report + b"\x00", EvidenceMalformedError),
    (lambda report: report[:-1], EvidenceMalformedError),
    (lambda report: report[:20], EvidenceMalformedError),
    (lambda report: b"", EvidenceMalformedError),
]


@pytest.mark.parametrize(
    ("mutate", "error"),
    REPORT_MUTATIONS,
    ids=[
        "a bit flipped in the signature",
        "a bit flipped in the measurement",
        "a bit flipped in the report data",
        "a bit flipped in the label",
        "an unknown version 2",
        "an unknown version 0",
        "an unknown flag bit",
        "a trailing byte",
        "a missing byte",
        "a truncated header",
        "an empty report",
    ],
)
def test_a_mutated_report_is_rejected_with_its_typed_error(
    mutate: Callable[[bytes], bytes], error: type[AttestationError]
) -> None:
    report, certificates = _cpu().collect(REPORT_DATA)
    with pytest.raises(error):
        _verify(mutate(report), certificates)


def test_another_vendor_s_root_does_not_verify_the_chain() -> None:
    report, certificates = _cpu().collect(REPORT_DATA)
    with pytest.raises(CertificateChainError):
        _verify(report, certificates, roots=sites.roots(sites.other_vendor()))


def test_a_chain_from_another_chip_of_the_same_vendor_fails_the_signature() -> None:
    report, _ = _cpu().collect(REPORT_DATA)
    _, other_certificates = _cpu().collect(REPORT_DATA)
    with pytest.raises(SignatureInvalidError):
        _verify(report, other_certificates)


def test_a_report_naming_another_chip_than_its_certificate_is_rejected() -> None:
    material = sites.vendor().issue_cpu()
    impostor = SimulatedCpu(
        signing_key=material.signing_key,
        certificate_chain_pem=material.certificate_chain_pem,
        chip_id=os.urandom(32),
        measurement=material.measurement,
    )
    report, certificates = impostor.collect(REPORT_DATA)
    with pytest.raises(HardwareIdentityMismatchError):
        _verify(report, certificates)


def test_other_report_data_is_rejected_with_the_claims_established_so_far() -> None:
    cpu = _cpu()
    report, certificates = cpu.collect(REPORT_DATA)
    with pytest.raises(ReportDataMismatchError) as caught:
        _verify(report, certificates, expected=bytes(64))
    assert caught.value.claims["hardware_id"] == cpu.chip_id.hex()
    assert caught.value.claims["simulated"] is True
    assert "report_data_binding" not in caught.value.claims


@pytest.mark.parametrize(
    ("offset", "error"),
    [(timedelta(days=-2), CertificateExpiredError), (timedelta(days=11 * 365), CertificateExpiredError)],
    ids=["before the chip certificate was issued", "after it expired"],
)
def test_a_chain_outside_its_validity_at_now_is_rejected(
    offset: timedelta, error: type[AttestationError]
) -> None:
    report, certificates = _cpu().collect(REPORT_DATA)
    with pytest.raises(error):
        _verify(report, certificates, now_offset=offset)


@pytest.mark.parametrize(
    "certificates",
    [b"", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"],
    ids=["none", "garbage"],
)
def test_certificates_that_do_not_parse_are_rejected(certificates: bytes) -> None:
    report, _ = _cpu().collect(REPORT_DATA)
    with pytest.raises(EvidenceMalformedError):
        _verify(report, certificates)


def test_without_explicit_simulated_roots_nothing_is_accepted() -> None:
    report, certificates = _cpu().collect(REPORT_DATA)
    with pytest.raises(SimulatedEvidenceRefusedError):
        verify_simulated_cpu_report(
            report,
            certificates=certificates,
            roots=sites.roots().to_pem(),  # type: ignore[arg-type] # a look-alike, on purpose.
            expected_report_data=REPORT_DATA,
            now=sites.NOW,
        )


@given(st.binary(max_size=400))
def test_arbitrary_bytes_give_only_typed_errors(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SimulatedTeeWarning)
        with contextlib.suppress(AttestationError):
            parse_simulated_cpu_report(data)


@given(st.binary(min_size=276, max_size=276))
def test_arbitrary_reports_of_the_right_size_never_verify(data: bytes) -> None:
    _, certificates = _one_cpu().collect(REPORT_DATA)
    with pytest.raises(AttestationError):
        _verify(data, certificates)


@functools.cache
def _one_cpu() -> SimulatedCpu:
    return _cpu()
