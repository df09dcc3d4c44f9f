"""The simulated vendor's device PKI has the shape of NVIDIA's, and its roots are fenced."""

import itertools
import re
import warnings
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID, ObjectIdentifier
from cryptography.x509.verification import PolicyBuilder, Store

from attestation.errors import SimulatedEvidenceRefusedError
from attestation.roots import pinned_root_name
from attestation.simulated.firmware import SimulatedFirmware
from attestation.simulated.roots import SimulatedRoots, SimulatedTeeWarning
from tests.conftest import vector_dir
from tests.simulation import sites
from tests.simulation.spdm_reader import chain_certificates

FWID_OID = ObjectIdentifier("2.23.133.5.4.1")
SAN_OID = ObjectIdentifier("1.3.6.1.4.1.412.274.1")


def _chain() -> list[x509.Certificate]:
    return chain_certificates(sites.gpu().certificate_chain_pem)


def _common_name(certificate: x509.Certificate) -> str:
    return str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_the_device_chain_has_five_certificates_leaf_first_ending_with_the_root() -> None:
    chain = _chain()
    assert len(chain) == 5
    assert [_common_name(c) for c in chain[:2]] == ["GH100 A01 GSP FMC LF", "GH100 A01 GSP BROM"]
    assert chain[-1] == sites.vendor().device_root.certificate
    for child, parent in itertools.pairwise(chain):
        child.verify_directly_issued_by(parent)
    chain[-1].verify_directly_issued_by(chain[-1])


def test_every_certificate_says_simulated_and_none_is_pinned() -> None:
    for certificate in _chain():
        organisation = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
        assert "SIMULATED" in str(organisation)
        assert pinned_root_name(certificate) is None


def test_the_leaf_carries_the_hopper_fwid_extension_and_the_nvidia_san() -> None:
    material = sites.vendor().issue_gpu()
    leaf = chain_certificates(material.certificate_chain_pem)[0]
    extension = leaf.extensions.get_extension_for_oid(FWID_OID).value
    assert isinstance(extension, x509.UnrecognizedExtension)
    assert len(extension.value) == 189  # as in real Hopper leaves
    assert extension.value[-48:] == material.fwid == SimulatedFirmware().fwid
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    (other,) = san.get_values_for_type(x509.OtherName)
    assert other.type_id == SAN_OID
    assert re.fullmatch(rb"\x0c\x1dNVIDIA:GH100:[0-9A-F]{16}", other.value)


def test_the_ueid_is_the_leaf_serial_in_decimal() -> None:
    material = sites.vendor().issue_gpu()
    leaf = chain_certificates(material.certificate_chain_pem)[0]
    assert material.ueid == str(leaf.serial_number)


def test_device_serials_are_named_in_the_subject_as_nvidia_does() -> None:
    for certificate in _chain()[:2]:
        serial_attribute = certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value
        assert int(str(serial_attribute), 16) == certificate.serial_number


def test_cryptography_path_building_accepts_the_device_chain_as_it_does_real_ones() -> None:
    chain = _chain()
    verifier = PolicyBuilder().store(Store([chain[-1]])).time(sites.NOW).build_client_verifier()
    verified = verifier.verify(chain[0], chain[1:4])
    assert len(verified.chain) == 5


def test_device_certificates_never_expire_and_start_before_now() -> None:
    for certificate in _chain():
        assert certificate.not_valid_before_utc <= sites.NOW - timedelta(hours=23)
        assert certificate.not_valid_after_utc.year == 9999


@pytest.mark.vectors
def test_the_san_has_the_same_der_structure_as_a_real_leaf() -> None:
    real = chain_certificates(
        (vector_dir("nvidia") / "hopper-550-nvtrust-sample" / "hopperCertChain.txt").read_bytes()
    )
    ours = _chain()

    def san_der(certificate: x509.Certificate) -> bytes:
        return certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value.public_bytes()

    assert san_der(real[0])[:-16] == san_der(ours[0])[:-16]


def test_building_the_roots_warns() -> None:
    with pytest.warns(SimulatedTeeWarning):
        assert sites.vendor().roots.device_root == sites.vendor().device_root.certificate


@pytest.mark.vectors
@pytest.mark.filterwarnings("ignore::attestation.simulated.roots.SimulatedTeeWarning")
def test_a_pinned_vendor_root_is_refused_as_a_simulated_root() -> None:
    real_root = (vector_dir("nvidia") / "roots" / "verifier_device_root.pem").read_bytes()
    pem = sites.roots().to_pem()
    with pytest.raises(SimulatedEvidenceRefusedError, match="pinned"):
        SimulatedRoots.from_pem(real_root, pem["rim-root"], pem["cpu-root"])


@pytest.mark.filterwarnings("ignore::attestation.simulated.roots.SimulatedTeeWarning")
def test_a_certificate_that_is_not_a_root_is_refused_as_a_simulated_root() -> None:
    intermediate = sites.vendor().rim_ca.certificate.public_bytes(Encoding.PEM)
    pem = sites.roots().to_pem()
    with pytest.raises(SimulatedEvidenceRefusedError, match="self-issued"):
        SimulatedRoots.from_pem(pem["device-root"], intermediate, pem["cpu-root"])


def test_the_roots_round_trip_through_pem() -> None:
    roots = sites.roots()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SimulatedTeeWarning)
        again = SimulatedRoots.from_pem(*roots.to_pem().values())
    assert again == roots


@pytest.mark.parametrize("index", [-1, 64], ids=["below 0", "past 63"])
def test_a_mismatched_index_outside_the_rim_is_refused(index: int) -> None:
    with pytest.raises(ValueError, match="RIM indexes"):
        sites.vendor().issue_gpu(mismatched_indexes=[index])


@pytest.mark.parametrize(
    "changes",
    [{"driver_version": "latest"}, {"vbios_version": "96.00.cc.00.01"}, {"project": "10 10"}],
    ids=["a driver version that is not numeric", "a lower-case VBIOS version", "a project id with a space"],
)
def test_firmware_a_report_could_not_carry_is_refused(changes: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        SimulatedFirmware(**changes)
