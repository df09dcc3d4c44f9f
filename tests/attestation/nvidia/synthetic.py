"""A throwaway NVIDIA-shaped PKI made in the test: device chain, signed SPDM report, signed RIMs.

Nothing here is NVIDIA's: the roots are generated per test session, so Evidence built here verifies
only with ``allow_simulated_roots=True``. It lets every rejection path be exercised with a valid
signature over exactly the defect under test.
"""

import base64
import copy
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from lxml import etree

from attestation.evidence import GpuArch, GpuEvidence
from attestation.nvidia import NvidiaCollateral, nvidia_trust_anchors
from tests.attestation.nvidia.spdm_builder import ReportParts, legacy_opaque, opaque_fields

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
VERIFY_AT = datetime(2025, 1, 1, tzinfo=UTC)
FOREVER = datetime(2099, 1, 1, tzinfo=UTC)
SWID = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
TCG = "https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-model/"
SHA384_NS = "http://www.w3.org/2001/04/xmlenc#sha384"
DS = "http://www.w3.org/2000/09/xmldsig#"


def raw_signature(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """ECDSA-SHA384 over ``data`` as raw r‖s of 48 bytes each."""
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA384())))
    return r.to_bytes(48, "big") + s.to_bytes(48, "big")


@dataclass
class Issued:
    """A certificate and its private key."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def issue(
    name: str,
    issuer: "Issued | None" = None,
    *,
    ca: bool = True,
    not_before: datetime = EPOCH,
    not_after: datetime = FOREVER,
    extensions: tuple[x509.ExtensionType, ...] = (),
    curve: ec.EllipticCurve | None = None,
    serial: int | None = None,
) -> Issued:
    """A certificate named ``name`` signed by ``issuer`` (self-signed when None)."""
    key = ec.generate_private_key(curve or ec.SECP384R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return Issued(builder.sign(issuer.key if issuer else key, hashes.SHA384()), key)


def hopper_fwid_extension(fwid: bytes) -> x509.UnrecognizedExtension:
    """An extension 2.23.133.5.4.1 whose last 48 bytes are ``fwid`` (the Hopper form)."""
    return x509.UnrecognizedExtension(
        ObjectIdentifier("2.23.133.5.4.1"), b"\x30\x35\x02\x01\x01\x04\x30" + fwid
    )


def blackwell_tcb_info_extension(fwid: bytes) -> x509.UnrecognizedExtension:
    """A DICE TcbInfo (2.23.133.5.4.1.1) with fwids = [fwid, zeros] (the Blackwell form)."""
    sha384 = bytes.fromhex("0609608648016503040202")
    fwids = b"".join(b"\x30\x3d" + sha384 + b"\x04\x30" + digest for digest in (fwid, bytes(48)))
    body = b"\x80\x06NVIDIA" + b"\xa6\x7e" + fwids
    return x509.UnrecognizedExtension(
        ObjectIdentifier("2.23.133.5.4.1.1"), b"\x30\x81" + bytes([len(body)]) + body
    )


@dataclass
class DevicePki:
    """Root → Identity → Provisioner ICA → BROM → leaf, named like NVIDIA's."""

    arch: GpuArch = GpuArch.HOPPER
    fwid: bytes = b"\x5a" * 48
    leaf_not_after: datetime = FOREVER
    leaf_curve: ec.EllipticCurve | None = None
    brom_is_ca: bool = True
    root: Issued = field(init=False)
    chain: list[Issued] = field(init=False)

    def __post_init__(self) -> None:
        chip = "GH100" if self.arch is GpuArch.HOPPER else "GB100"
        extension = (hopper_fwid_extension if self.arch is GpuArch.HOPPER else blackwell_tcb_info_extension)(
            self.fwid
        )
        self.root = issue("Test Device Identity CA")
        identity = issue(f"Test {chip} Identity", self.root)
        ica = issue(f"Test {chip} Provisioner ICA", identity)
        brom = issue(f"{chip} A01 GSP BROM", ica, ca=self.brom_is_ca)
        leaf = issue(
            f"{chip} A01 GSP FMC LF",
            brom,
            ca=False,
            not_after=self.leaf_not_after,
            extensions=(extension,),
            curve=self.leaf_curve,
        )
        self.chain = [leaf, brom, ica, identity, self.root]

    def chain_pem(self, order: tuple[int, ...] = (0, 1, 2, 3, 4)) -> bytes:
        return b"".join(self.chain[i].pem() for i in order)

    def sign(self, parts: ReportParts) -> bytes:
        """``parts`` with a valid signature by the leaf key."""
        parts.signature = raw_signature(self.chain[0].key, parts.unsigned())
        return parts.build()


@dataclass
class RimPki:
    """Root → CA → L3 → L4 signer, like NVIDIA's RIM signing chain."""

    l4_not_after: datetime = FOREVER
    shared_root: Issued | None = None
    root: Issued = field(init=False)
    chain: list[Issued] = field(init=False)

    def __post_init__(self) -> None:
        self.root = self.shared_root or issue("Test CoRIM signing Root CA")
        ca = issue("Test Reference Value CA", self.root)
        l3 = issue("Test Reference Value L3", ca)
        l4 = issue("Test RIM L4 Signer", l3, ca=False, not_after=self.l4_not_after)
        self.chain = [l4, l3, ca, self.root]


def rim_xml(
    version: str, golden: Mapping[int, tuple[bytes, ...]], *, inactive: tuple[int, ...] = ()
) -> bytes:
    """An unsigned SWID RIM with the given active golden values per index (and some inactive ones)."""
    root = etree.Element(
        f"{{{SWID}}}SoftwareIdentity",
        nsmap={None: SWID, "ns0": SWID, "ns2": SHA384_NS},  # type: ignore[dict-item]  # lxml-stubs omit the default namespace key None.
    )
    root.set("tagId", "00" * 48)
    root.set("name", "GH100")
    meta = etree.SubElement(root, f"{{{SWID}}}Meta", nsmap={"ns1": TCG})
    meta.set("colloquialVersion", version)
    meta.set("product", "GH100")
    meta.set(f"{{{TCG}}}FirmwareManufacturerId", "5703")
    payload = etree.SubElement(root, f"{{{SWID}}}Payload")
    for index in sorted({*golden, *inactive}):
        values = golden.get(index, (bytes(48),))
        resource = etree.SubElement(payload, f"{{{SWID}}}Resource")
        resource.set("type", "Measurement")
        resource.set("index", str(index))
        resource.set("active", "True" if index in golden else "False")
        resource.set("alternatives", str(len(values)))
        resource.set("size", "48")
        for number, value in enumerate(values):
            resource.set(f"{{{SHA384_NS}}}Hash{number}", value.hex())
    return etree.tostring(root)


def sign_rim(
    document: bytes, pki: RimPki, *, canonicalization: str = "http://www.w3.org/2006/12/xml-c14n11"
) -> bytes:
    """``document`` with an enveloped XML-DSig signature by the L4 key, carrying the 4 certificates."""
    root = etree.fromstring(document)
    digest = base64.b64encode(hashlib.sha384(etree.tostring(copy.deepcopy(root), method="c14n")).digest())
    signature = etree.SubElement(root, f"{{{DS}}}Signature", nsmap={"ds": DS})
    signed_info = etree.SubElement(signature, f"{{{DS}}}SignedInfo")
    etree.SubElement(signed_info, f"{{{DS}}}CanonicalizationMethod").set("Algorithm", canonicalization)
    etree.SubElement(signed_info, f"{{{DS}}}SignatureMethod").set(
        "Algorithm", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
    )
    reference = etree.SubElement(signed_info, f"{{{DS}}}Reference")
    reference.set("URI", "")
    transforms = etree.SubElement(reference, f"{{{DS}}}Transforms")
    for algorithm in ("http://www.w3.org/2000/09/xmldsig#enveloped-signature", canonicalization):
        etree.SubElement(transforms, f"{{{DS}}}Transform").set("Algorithm", algorithm)
    etree.SubElement(reference, f"{{{DS}}}DigestMethod").set(
        "Algorithm", "http://www.w3.org/2001/04/xmldsig-more#sha384"
    )
    etree.SubElement(reference, f"{{{DS}}}DigestValue").text = digest.decode()
    canonical = etree.tostring(signed_info, method="c14n")
    etree.SubElement(signature, f"{{{DS}}}SignatureValue").text = base64.b64encode(
        raw_signature(pki.chain[0].key, canonical)
    ).decode()
    x509_data = etree.SubElement(etree.SubElement(signature, f"{{{DS}}}KeyInfo"), f"{{{DS}}}X509Data")
    for issued in pki.chain:
        der = issued.certificate.public_bytes(serialization.Encoding.DER)
        etree.SubElement(x509_data, f"{{{DS}}}X509Certificate").text = base64.b64encode(der).decode()
    return etree.tostring(root)


@dataclass
class SyntheticGpu:
    """A GPU whose report, chain and matching RIMs all come from throwaway PKIs."""

    device: DevicePki = field(default_factory=DevicePki)
    rim_pki: RimPki = field(default_factory=RimPki)
    parts: ReportParts = field(default_factory=ReportParts)
    driver_active: tuple[int, ...] = (7, 21, 22)
    vbios_active: tuple[int, ...] = (0, 1, 2)

    def __post_init__(self) -> None:
        if self.parts.opaque == ReportParts().opaque:
            self.parts.opaque = legacy_opaque(opaque_fields(fwid=self.device.fwid))

    def evidence(self, *, report: bytes | None = None, chain: bytes | None = None) -> GpuEvidence:
        return GpuEvidence(
            self.device.arch,
            report if report is not None else self.device.sign(self.parts),
            chain if chain is not None else self.device.chain_pem(),
        )

    def rim(self, indexes: tuple[int, ...], version: str) -> bytes:
        golden = {index: (self.parts.digests[index],) for index in indexes}
        return sign_rim(rim_xml(version, golden, inactive=(63,)), self.rim_pki)

    def rims(self) -> dict[str, tuple[bytes, ...]]:
        driver_prefix = (
            "NV_GPU_DRIVER_GH100" if self.device.arch is GpuArch.HOPPER else "NV_GPU_CC_DRIVER_GB100"
        )
        return {
            f"{driver_prefix}_550.90.07": (self.rim(self.driver_active, "550.90.07"),),
            "NV_GPU_VBIOS_1010_0200_882_96009F0001": (self.rim(self.vbios_active, "96.00.9F.00.01"),),
        }

    def collateral(
        self, *, rims: dict[str, tuple[bytes, ...]] | None = None, ocsp: tuple[bytes, ...] = ()
    ) -> NvidiaCollateral:
        anchors = nvidia_trust_anchors(
            self.device.root.pem(), self.rim_pki.root.pem(), allow_simulated_roots=True
        )
        return NvidiaCollateral(anchors, self.rims() if rims is None else rims, ocsp)


def ocsp_signing_extensions() -> tuple[x509.ExtensionType, ...]:
    """Extensions of a delegated OCSP responder certificate."""
    return (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]),)


def later(days: int) -> datetime:
    """``VERIFY_AT`` plus ``days``."""
    return VERIFY_AT + timedelta(days=days)
