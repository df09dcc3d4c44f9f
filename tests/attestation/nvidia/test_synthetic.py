"""Every rejection path of the NVIDIA Verifier, on Evidence signed by a throwaway PKI made in the test."""

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from attestation.errors import AttestationError
from attestation.evidence import GpuArch, GpuEvidence
from attestation.nvidia import (
    NvidiaCollateral,
    SimulatedRootsWarning,
    nvidia_trust_anchors,
    require_measurements_match,
    verify_gpu_evidence,
)
from attestation.nvidia.errors import (
    DeviceCertificateExpiredError,
    DeviceChainError,
    FwidMismatchError,
    GpuArchMismatchError,
    MeasurementMismatchError,
    ReportSignatureError,
    RimChainError,
    RimDigestError,
    RimExpiredError,
    RimMalformedError,
    RimSignatureError,
    RootNotPinnedError,
)
from attestation.result import GpuClaims
from tests.attestation.nvidia import synthetic as s
from tests.attestation.nvidia.spdm_builder import legacy_opaque, opaque_fields

pytestmark = pytest.mark.filterwarnings("ignore::attestation.nvidia.SimulatedRootsWarning")


def _verify(gpu: s.SyntheticGpu, evidence: GpuEvidence | None = None, **changes: object) -> GpuClaims:
    collateral = changes.pop("collateral", None)
    assert isinstance(collateral, NvidiaCollateral | None)
    return verify_gpu_evidence(
        evidence or gpu.evidence(),
        expected_nonce=gpu.parts.nonce,
        collateral=collateral or gpu.collateral(),
        now=s.VERIFY_AT,
    )


@pytest.fixture(scope="module")
def gpu() -> s.SyntheticGpu:
    return s.SyntheticGpu()


def test_synthetic_evidence_verifies_only_as_simulated(gpu: s.SyntheticGpu) -> None:
    claims = _verify(gpu)
    assert claims.simulated is True
    assert claims.measres == "success"
    assert claims.fwid_match is True
    require_measurements_match(claims)


def test_simulated_roots_warn_and_are_refused_unless_allowed(gpu: s.SyntheticGpu) -> None:
    with pytest.raises(RootNotPinnedError):
        nvidia_trust_anchors(gpu.device.root.pem(), gpu.rim_pki.root.pem())
    with pytest.warns(SimulatedRootsWarning):
        nvidia_trust_anchors(gpu.device.root.pem(), gpu.rim_pki.root.pem(), allow_simulated_roots=True)


def test_a_blackwell_leaf_carries_its_fwid_in_dice_tcb_info() -> None:
    gpu = s.SyntheticGpu(device=s.DevicePki(arch=GpuArch.BLACKWELL))
    assert _verify(gpu).fwid_match is True


@pytest.mark.parametrize("arch", [GpuArch.HOPPER, GpuArch.BLACKWELL])
def test_a_report_fwid_other_than_the_leaf_certificates_is_refused(arch: GpuArch) -> None:
    gpu = s.SyntheticGpu(device=s.DevicePki(arch=arch))
    gpu.parts.opaque = legacy_opaque(opaque_fields(fwid=b"\x00" * 48))
    with pytest.raises(FwidMismatchError):
        _verify(gpu)


def _flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


@pytest.mark.parametrize(
    "position",
    [
        pytest.param(-1, id="a bit of the signature"),
        pytest.param(37 + 8 + 4 + 3 + 10, id="a bit of the first measurement"),
        pytest.param(4, id="a bit of the nonce"),
        pytest.param(-97, id="the last bit of the opaque data"),
    ],
)
def test_a_flipped_bit_anywhere_signed_breaks_the_signature(gpu: s.SyntheticGpu, position: int) -> None:
    report = gpu.device.sign(gpu.parts)
    with pytest.raises(ReportSignatureError):
        _verify(gpu, gpu.evidence(report=_flip(report, position % len(report))))


@pytest.mark.parametrize(
    ("order", "what"),
    [
        pytest.param((0, 1, 2, 3), "4 certificates", id="a certificate missing"),
        pytest.param((0, 2, 1, 3, 4), "not issued by", id="two certificates swapped"),
        pytest.param((0, 1, 2, 3, 4, 4), "6 certificates", id="a certificate too many"),
    ],
)
def test_a_device_chain_that_is_not_the_five_in_order_is_refused(
    gpu: s.SyntheticGpu, order: tuple[int, ...], what: str
) -> None:
    with pytest.raises(DeviceChainError, match=what):
        _verify(gpu, gpu.evidence(chain=gpu.device.chain_pem(order)))


def test_the_root_sent_with_the_evidence_is_ignored_for_the_pinned_one(gpu: s.SyntheticGpu) -> None:
    other = s.SyntheticGpu()
    pinned_elsewhere = NvidiaCollateral(
        nvidia_trust_anchors(other.device.root.pem(), gpu.rim_pki.root.pem(), allow_simulated_roots=True),
        gpu.rims(),
    )
    with pytest.raises(DeviceChainError):
        _verify(gpu, collateral=pinned_elsewhere)


def test_an_expired_leaf_is_refused_at_now() -> None:
    gpu = s.SyntheticGpu(device=s.DevicePki(leaf_not_after=s.VERIFY_AT - timedelta(seconds=1)))
    with pytest.raises(DeviceCertificateExpiredError):
        _verify(gpu)


def test_a_leaf_that_is_not_p384_is_refused() -> None:
    gpu = s.SyntheticGpu(device=s.DevicePki(leaf_curve=ec.SECP256R1()))
    with pytest.raises(DeviceChainError, match="P-384"):
        _verify(gpu)


def test_a_brom_certificate_that_is_not_a_ca_cannot_issue_the_leaf() -> None:
    gpu = s.SyntheticGpu(device=s.DevicePki(brom_is_ca=False))
    with pytest.raises(DeviceChainError, match="not a CA"):
        _verify(gpu)


def test_a_hopper_chain_presented_as_blackwell_is_refused(gpu: s.SyntheticGpu) -> None:
    evidence = gpu.evidence()
    with pytest.raises(GpuArchMismatchError):
        _verify(gpu, GpuEvidence(GpuArch.BLACKWELL, evidence.report, evidence.certificate_chain))


def test_mismatched_measurements_are_claims_not_errors(gpu: s.SyntheticGpu) -> None:
    rims = gpu.rims()
    driver_id = next(rim_id for rim_id in rims if "DRIVER" in rim_id)
    golden = {7: (gpu.parts.digests[7],), 21: (b"\x01" * 48, b"\x02" * 48), 40: (b"\x03" * 48,)}
    rims[driver_id] = (s.sign_rim(s.rim_xml("550.90.07", golden), gpu.rim_pki),)
    claims = _verify(gpu, collateral=gpu.collateral(rims=rims))
    assert claims.measres == "fail"
    assert [(m.index, m.runtime_value[:4]) for m in claims.mismatches] == [(21, "1616"), (40, "2929")]
    assert claims.mismatches[0].golden_values == ("01" * 48, "02" * 48)
    with pytest.raises(MeasurementMismatchError) as caught:
        require_measurements_match(claims)
    assert caught.value.code == "attestation.nvidia.measurement_mismatch"
    assert [m["index"] for m in caught.value.claims["x-nvidia-mismatch-measurement-records"]] == [21, 40]  # type: ignore[attr-defined]  # JSON-shaped claims


def test_driver_and_vbios_rims_claiming_the_same_index_fail_the_measurement_result() -> None:
    gpu = s.SyntheticGpu(driver_active=(1, 7), vbios_active=(0, 1))
    claims = _verify(gpu)
    assert claims.vbios_index_no_conflict is False
    assert claims.mismatches == ()
    assert claims.measres == "fail"


def _one_rim(gpu: s.SyntheticGpu, document: bytes, slot: str = "VBIOS") -> NvidiaCollateral:
    rims = gpu.rims()
    rims[next(rim_id for rim_id in rims if slot in rim_id)] = (document,)
    return gpu.collateral(rims=rims)


def _edit(document: bytes, old: bytes, new: bytes) -> bytes:
    assert old in document
    return document.replace(old, new, 1)


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        pytest.param(
            lambda d: _edit(d, b'index="1"', b'index="9"'), RimDigestError, id="content edited after signing"
        ),
        pytest.param(
            lambda d: _edit(d, b"<ds:SignatureValue>", b"<ds:SignatureValue>AAAA"),
            RimSignatureError,
            id="bad signature",
        ),
        pytest.param(
            lambda d: _edit(d, b"<ds:SignatureValue>", b"<ds:SignatureValue>!"),
            RimSignatureError,
            id="not base64",
        ),
        pytest.param(lambda d: b'<!DOCTYPE x [<!ENTITY e "e">]>' + d, RimMalformedError, id="a DOCTYPE"),
        pytest.param(lambda d: _edit(d, b"<Payload", b'<Payload xml:id="p"'), RimMalformedError, id="xml:id"),
        pytest.param(lambda d: d[:-40], RimMalformedError, id="truncated XML"),
        pytest.param(
            lambda d: _edit(
                d,
                b'Algorithm="http://www.w3.org/2006/12/xml-c14n11"',
                b'Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"',
            ),
            RimSignatureError,
            id="exclusive canonicalization",
        ),
        pytest.param(
            lambda d: _edit(d, b"xmldsig-more#ecdsa-sha384", b"xmldsig-more#ecdsa-sha256"),
            RimSignatureError,
            id="SHA-256",
        ),
        pytest.param(lambda d: _edit(d, b'URI=""', b'URI="#x"'), RimSignatureError, id="a partial reference"),
        pytest.param(
            lambda d: _edit(
                d,
                b"</Payload>",
                b"</Payload><ds:Signature xmlns:ds='http://www.w3.org/2000/09/xmldsig#'/>",
            ),
            RimSignatureError,
            id="two signatures",
        ),
    ],
)
def test_a_forged_or_unusual_rim_is_refused(
    gpu: s.SyntheticGpu, mutate: object, error: type[AttestationError]
) -> None:
    assert callable(mutate)
    document = gpu.rims()["NV_GPU_VBIOS_1010_0200_882_96009F0001"][0]
    with pytest.raises(error):
        _verify(gpu, collateral=_one_rim(gpu, mutate(document)))


def test_a_rim_chained_to_another_root_is_refused(gpu: s.SyntheticGpu) -> None:
    stranger = s.RimPki()
    document = s.sign_rim(s.rim_xml("96.00.9F.00.01", {0: (gpu.parts.digests[0],)}), stranger)
    with pytest.raises(RimChainError):
        _verify(gpu, collateral=_one_rim(gpu, document))


def test_a_rim_whose_signer_expired_is_stale_collateral(gpu: s.SyntheticGpu) -> None:
    expired = s.RimPki(l4_not_after=s.later(-1), shared_root=gpu.rim_pki.root)
    document = s.sign_rim(s.rim_xml("96.00.9F.00.01", {0: (gpu.parts.digests[0],)}), expired)
    with pytest.raises(RimExpiredError) as caught:
        _verify(gpu, collateral=_one_rim(gpu, document))
    assert caught.value.retryable


def test_a_rim_chained_to_another_root_is_refused_even_when_also_expired(gpu: s.SyntheticGpu) -> None:
    stranger = s.RimPki(l4_not_after=s.later(-1))
    document = s.sign_rim(s.rim_xml("96.00.9F.00.01", {0: (gpu.parts.digests[0],)}), stranger)
    with pytest.raises(RimChainError):
        _verify(gpu, collateral=_one_rim(gpu, document))
