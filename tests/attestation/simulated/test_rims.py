"""Simulated RIMs: NVIDIA's shape, an XML-DSig an independent checker accepts, values the GPU matches."""

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509

from attestation.simulated.firmware import (
    DRIVER_ACTIVE_INDEXES,
    VBIOS_ACTIVE_INDEXES,
    RimComponent,
    SimulatedFirmware,
)
from gateway.simulation import gpu_from_material
from tests.conftest import vector_dir
from tests.simulation import sites
from tests.simulation.xmldsig_check import DS, NS, SHA384, SWID, CheckedRim, RimCheckError, check_rim, parse

FIRMWARE = SimulatedFirmware()
# The real RIMs' chains are valid at this pinned time (PROVENANCE.md).
VECTOR_TIME = datetime(2025, 5, 1, tzinfo=UTC)


def _rims(firmware: SimulatedFirmware = FIRMWARE) -> dict[str, bytes]:
    return sites.vendor().sign_rims([firmware])


def _rim_root() -> x509.Certificate:
    return sites.vendor().rim_root.certificate


def _checked(firmware: SimulatedFirmware = FIRMWARE) -> dict[RimComponent, CheckedRim]:
    rims = _rims(firmware)
    return {
        component: check_rim(rims[firmware.rim_id(component)], _rim_root(), sites.NOW)
        for component in RimComponent
    }


def test_rims_are_keyed_by_the_ids_a_verifier_derives_from_the_report() -> None:
    assert sorted(_rims()) == ["NV_GPU_DRIVER_GH100_550.54.15", "NV_GPU_VBIOS_1010_0200_882_9600CC0001"]


def test_the_independent_checker_accepts_both_rims_and_reads_their_versions() -> None:
    checked = _checked()
    assert checked[RimComponent.DRIVER].colloquial_version == "550.54.15"
    assert checked[RimComponent.VBIOS].colloquial_version == "96.00.CC.00.01"


def test_the_rims_have_nvidia_s_structure() -> None:
    for document in _rims().values():
        root = parse(document)
        assert root.tag == f"{{{SWID}}}SoftwareIdentity"
        assert root.nsmap == {None: SWID, "ns0": SWID, "ns2": SHA384}
        signature = root[-1]
        assert signature.tag == f"{{{DS}}}Signature"
        assert signature.tail is None  # nothing after the Signature, as in NVIDIA's files
        methods = [
            signature.find("ds:SignedInfo/ds:CanonicalizationMethod", NS),
            signature.find("ds:SignedInfo/ds:SignatureMethod", NS),
            signature.find("ds:SignedInfo/ds:Reference/ds:DigestMethod", NS),
        ]
        assert [m.get("Algorithm") for m in methods if m is not None] == [
            "http://www.w3.org/2006/12/xml-c14n11",
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
            "http://www.w3.org/2001/04/xmldsig-more#sha384",
        ]
        resources = root.findall("swid:Payload/swid:Resource", NS)
        assert [int(r.get("index", "-1")) for r in resources] == list(range(64))
        assert all(r.get("type") == "Measurement" and r.get("size") == "48" for r in resources)
        assert all(r.get(f"{{{SHA384}}}Hash0") for r in resources)


def test_the_signature_chain_is_l4_l3_ca_root() -> None:
    vendor = sites.vendor()
    certificates = _checked()[RimComponent.DRIVER].certificates
    assert certificates == [
        vendor.rim_signer.certificate,
        vendor.rim_l3.certificate,
        vendor.rim_ca.certificate,
        vendor.rim_root.certificate,
    ]


def test_active_indexes_follow_hopper_s_split_between_driver_and_vbios() -> None:
    checked = _checked()
    active = {c: {i for i, g in rim.golden.items() if g.active} for c, rim in checked.items()}
    assert active[RimComponent.DRIVER] == set(DRIVER_ACTIVE_INDEXES)
    assert active[RimComponent.VBIOS] == set(VBIOS_ACTIVE_INDEXES)
    assert not active[RimComponent.DRIVER] & active[RimComponent.VBIOS]
    assert len(checked[RimComponent.DRIVER].golden[35].alternatives) == 2
    assert checked[RimComponent.VBIOS].golden[12].alternatives[0] == bytes(48)


def test_the_simulated_gpu_matches_its_rims_with_zero_mismatches() -> None:
    gpu = sites.gpu()
    assert sites.mismatches(gpu.measurements, _checked(), gpu.nvdec0_status) == []


def test_index_35_matches_even_without_the_nvdec0_skip() -> None:
    gpu = sites.gpu()
    assert sites.mismatches(gpu.measurements, _checked(), nvdec0_status=0xAA) == []


def test_a_gpu_issued_with_mismatched_indexes_fails_exactly_there() -> None:
    gpu = gpu_from_material(sites.vendor().issue_gpu(mismatched_indexes=[1, 9, 22]))
    assert sites.mismatches(gpu.measurements, _checked(), gpu.nvdec0_status) == [1, 9, 22]


def test_an_older_driver_gets_its_own_rim_and_measurements() -> None:
    old = SimulatedFirmware(driver_version=sites.OLD_DRIVER)
    checked = _checked(old)
    assert checked[RimComponent.DRIVER].colloquial_version == "535.86.10"
    assert sites.mismatches(old.runtime_measurements(), checked, 0x55) == []
    assert sites.mismatches(old.runtime_measurements(), _checked(), 0x55) == sorted(
        DRIVER_ACTIVE_INDEXES - {28, 35}
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.replace(b'index="7" active="True"', b'index="7" active="False"', 1), "digest"),
        (lambda d: d.replace(b'colloquialVersion="550.54.15"', b'colloquialVersion="555.55.55"'), "digest"),
        (lambda d: d.replace(b"<ds:SignatureValue>", b"<ds:SignatureValue>AAAA", 1), "SignatureValue"),
        (lambda d: d.replace(b"<ds:DigestValue>", b"<ds:DigestValue>AAAA", 1), "digest"),
    ],
    ids=[
        "an index deactivated after signing",
        "the version edited after signing",
        "a damaged SignatureValue",
        "a damaged DigestValue",
    ],
)
def test_edits_after_signing_fail_the_check(edit: object, message: str) -> None:
    document = _rims()["NV_GPU_DRIVER_GH100_550.54.15"]
    assert callable(edit)
    edited = edit(document)
    assert edited != document
    with pytest.raises(RimCheckError, match=message):
        check_rim(edited, _rim_root(), sites.NOW)


def test_another_vendor_s_root_does_not_anchor_the_rim() -> None:
    with pytest.raises(RimCheckError, match="not issued by"):
        check_rim(
            _rims()["NV_GPU_DRIVER_GH100_550.54.15"], sites.other_vendor().rim_root.certificate, sites.NOW
        )


def test_the_rim_chain_expires_with_its_l4_signer() -> None:
    signer_end = sites.vendor().rim_signer.certificate.not_valid_after_utc
    document = _rims()["NV_GPU_DRIVER_GH100_550.54.15"]
    check_rim(document, _rim_root(), signer_end)
    with pytest.raises(RimCheckError, match="not valid"):
        check_rim(document, _rim_root(), signer_end + timedelta(seconds=1))


@pytest.mark.vectors
@pytest.mark.parametrize(
    "name",
    [
        "rims-nvtrust/Driver_RIM_test_no_gpu.swidtag",
        "rims-nvtrust/1010_0200_882_96005E0001_test_no_gpu.swidtag",
    ],
    ids=["the real 545.00 driver RIM", "the real 96.00.5E.00.01 VBIOS RIM"],
)
def test_the_independent_checker_accepts_real_nvidia_rims(name: str) -> None:
    folder = vector_dir("nvidia")
    root = x509.load_pem_x509_certificate((folder / "roots" / "verifier_RIM_root.pem").read_bytes())
    check_rim((folder / name).read_bytes(), root, VECTOR_TIME)


@pytest.mark.vectors
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("rims-nvat/incorrect_signature_driver_rim.xml", "SignatureValue"),
        ("rims-nvat/NV_GPU_DRIVER_GH100_535.86.09_measurement_mismatch.xml", "digest"),
    ],
    ids=["a real RIM with a changed SignatureValue", "a real RIM edited after signing"],
)
def test_the_independent_checker_rejects_real_bad_rims(name: str, message: str) -> None:
    folder = vector_dir("nvidia")
    root = x509.load_pem_x509_certificate((folder / "roots" / "verifier_RIM_root.pem").read_bytes())
    with pytest.raises(RimCheckError, match=message):
        check_rim((folder / name).read_bytes(), root, VECTOR_TIME)
