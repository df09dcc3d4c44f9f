"""The simulated CPU: its report layout is the Verifier's twin, and it refuses material it cannot carry."""

import dataclasses
import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from attestation.simulated import cpu_report as verifier_layout
from attestation.simulated.cpu_report import parse_simulated_cpu_report
from enclave_runner.protocol.errors import SimulatedDeviceError
from enclave_runner.protocol.simulated import cpu as attester_layout
from enclave_runner.protocol.simulated.cpu import SimulatedCpu
from gateway.simulation import cpu_from_material
from tests.simulation import sites


def _cpu(debug: bool = False) -> SimulatedCpu:
    return cpu_from_material(sites.vendor().issue_cpu(debug=debug))


def test_the_attester_and_the_verifier_declare_the_same_layout() -> None:
    assert attester_layout.CPU_REPORT_LABEL == verifier_layout.CPU_REPORT_LABEL
    assert attester_layout.CPU_REPORT_BODY.format == verifier_layout.CPU_REPORT_BODY_V1.format
    assert attester_layout.CPU_REPORT_SIZE == verifier_layout.CPU_REPORT_SIZE_V1
    assert attester_layout.CPU_REPORT_VERSION in verifier_layout.SUPPORTED_VERSIONS
    assert attester_layout.FLAG_DEBUG == verifier_layout.FLAG_DEBUG


@pytest.mark.parametrize("debug", [False, True], ids=["production guest", "debuggable guest"])
def test_the_report_carries_what_the_cpu_holds(debug: bool) -> None:
    cpu = _cpu(debug)
    report_data = os.urandom(64)
    report, certificates = cpu.collect(report_data)
    parsed = parse_simulated_cpu_report(report)
    assert report[:30] == b"ccgate/v1/simulated-cpu-report"
    assert (parsed.version, parsed.debug) == (1, debug)
    assert parsed.report_data == report_data
    assert parsed.measurement == cpu.measurement
    assert parsed.chip_id == cpu.chip_id
    assert len(parsed.signature) == 96
    assert certificates == cpu.certificate_chain_pem


@pytest.mark.parametrize(
    "changes",
    [
        {"chip_id": b"\x01" * 31},
        {"measurement": b"\x01" * 32},
        {"signing_key": ec.generate_private_key(ec.SECP384R1())},
        {"signing_key": ec.generate_private_key(ec.SECP256R1())},
        {"certificate_chain_pem": b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"},
    ],
    ids=[
        "a 31-byte chip id",
        "a 32-byte measurement",
        "a key that is not the leaf's",
        "a P-256 key",
        "a bad PEM",
    ],
)
def test_material_the_report_cannot_carry_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(SimulatedDeviceError):
        dataclasses.replace(_cpu(), **changes)  # type: ignore[arg-type] # bad values on purpose.


@pytest.mark.parametrize("size", [0, 32, 65], ids=["empty", "32 bytes", "65 bytes"])
def test_report_data_that_is_not_64_bytes_is_refused(size: int) -> None:
    with pytest.raises(SimulatedDeviceError):
        _cpu().collect(os.urandom(size))
