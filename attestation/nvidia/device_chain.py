"""The GPU's device certificate chain: 5 certificates, leaf first, to the pinned device root.

Leaf (``GHxxx/GBxxx A01 GSP FMC LF``, the attestation key) → BROM (per device) → Provisioner ICA →
chip Identity CA → NVIDIA Device Identity CA. The root sent with the Evidence is ignored: the chain
is verified up to the pinned root the caller passes. The leaf carries the firmware id (FWID) that the
report's opaque data must repeat: Hopper puts it in the last 48 bytes of extension 2.23.133.5.4.1,
Blackwell in ``fwids[0]`` of a DICE TcbInfo in extension 2.23.133.5.4.1.1 (its ``fwids[1]`` is zero).
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID, ObjectIdentifier

from attestation.errors import EvidenceMalformedError
from attestation.evidence import GpuArch
from attestation.nvidia.errors import (
    DeviceCertificateExpiredError,
    DeviceChainError,
    FwidMismatchError,
    GpuArchMismatchError,
)
from attestation.nvidia.links import fingerprint, verify_links
from attestation.nvidia.memo import BoundedMemo
from attestation.nvidia.tcbinfo import tcb_info_fwids
from attestation.pki import load_pem_chain

DEVICE_CHAIN_LENGTH = 5
HOPPER_FWID_EXTENSION = ObjectIdentifier("2.23.133.5.4.1")
BLACKWELL_TCB_INFO_EXTENSION = ObjectIdentifier("2.23.133.5.4.1.1")
FWID_SIZE = 48
# The chip names that start the device certificates' common names, per architecture.
ARCH_CHIP_PREFIXES: dict[GpuArch, tuple[str, ...]] = {
    GpuArch.HOPPER: ("GH",),
    GpuArch.BLACKWELL: ("GB",),
}


@dataclass(frozen=True, slots=True)
class ParsedChain:
    """A device chain as parsed (not yet verified): the certificates and the leaf's identity."""

    certificates: tuple[x509.Certificate, ...]
    hwmodel: str
    ueid: str
    cert_fwid: bytes | None
    prints: tuple[bytes, ...]  # The certificates' SHA-256 fingerprints, hashed once per parse.


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """A verified device chain: the leaf key to check the report with, and the identity claims."""

    leaf: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    hwmodel: str
    ueid: str
    cert_fwid: bytes | None
    expiration: datetime


def _common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        raise DeviceChainError("a device certificate must have exactly one common name")
    value = names[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _extension_bytes(leaf: x509.Certificate, oid: ObjectIdentifier) -> bytes | None:
    try:
        value = leaf.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None
    if not isinstance(value, x509.UnrecognizedExtension):
        raise EvidenceMalformedError(f"extension {oid.dotted_string} has an unexpected type")
    return value.value


def certificate_fwid(leaf: x509.Certificate, arch: GpuArch) -> bytes | None:
    """The FWID in the leaf certificate, in the architecture's encoding; None when it has none.

    Raises:
        EvidenceMalformedError: the extension is present but too short or does not parse.
    """
    if arch is GpuArch.HOPPER:
        raw = _extension_bytes(leaf, HOPPER_FWID_EXTENSION)
        if raw is None:
            return None
        if len(raw) < FWID_SIZE:
            raise EvidenceMalformedError(f"the FWID extension is {len(raw)} bytes, shorter than an FWID")
        return raw[-FWID_SIZE:]
    raw = _extension_bytes(leaf, BLACKWELL_TCB_INFO_EXTENSION)
    return None if raw is None else tcb_info_fwids(raw)[0]


def parse_device_chain(chain_pem: bytes, arch: GpuArch) -> ParsedChain:
    """Parse the device chain and read the leaf's identity, without verifying anything yet.

    Raises:
        EvidenceMalformedError: a certificate or the FWID extension does not parse.
        DeviceChainError: the chain is not exactly 5 certificates.
    """
    certificates = load_pem_chain(chain_pem)
    if len(certificates) != DEVICE_CHAIN_LENGTH:
        raise DeviceChainError(
            f"the device chain has {len(certificates)} certificates, expected {DEVICE_CHAIN_LENGTH}"
        )
    leaf = certificates[0]
    return ParsedChain(
        certificates,
        _common_name(certificates[1]),
        str(leaf.serial_number),
        certificate_fwid(leaf, arch),
        tuple(fingerprint(certificate) for certificate in certificates),
    )


def verify_device_chain(
    chain_pem: bytes,
    arch: GpuArch,
    device_root: x509.Certificate,
    now: datetime,
    *,
    chains: BoundedMemo[bytes, ParsedChain],
    links: BoundedMemo[tuple[bytes, bytes], bool],
    root_print: bytes | None = None,
) -> DeviceIdentity:
    """Verify the device chain to the pinned ``device_root`` at ``now``.

    ``root_print`` is the root's SHA-256 fingerprint when the caller holds it (the trust anchors do).

    Raises:
        EvidenceMalformedError: a certificate does not parse.
        DeviceChainError: not 5 certificates, a broken link, or an issuer that is not a CA.
        DeviceCertificateExpiredError: a certificate or the root is not valid at ``now``.
        GpuArchMismatchError: the certificates name a chip of another architecture.
    """
    key = hashlib.sha256(arch.value.encode() + b"\x00" + chain_pem).digest()
    parsed = chains.get_or_compute(key, lambda: parse_device_chain(chain_pem, arch))
    # The fifth certificate is the root as the device sent it; the pinned root replaces it.
    below_root = parsed.certificates[: DEVICE_CHAIN_LENGTH - 1]
    prints = (*parsed.prints[: DEVICE_CHAIN_LENGTH - 1], root_print or fingerprint(device_root))
    expiration = verify_links(
        (*below_root, device_root),
        now,
        "device",
        links,
        chain_error=DeviceChainError,
        expired_error=DeviceCertificateExpiredError,
        require_ca=True,
        prints=prints,
    )
    # Checked once the chain verified, so that a reordered chain is reported as a broken chain.
    if not parsed.hwmodel.startswith(ARCH_CHIP_PREFIXES[arch]):
        raise GpuArchMismatchError(f"the device certificate names {parsed.hwmodel!r}, not a {arch} chip")
    return DeviceIdentity(
        below_root[0], below_root, parsed.hwmodel, parsed.ueid, parsed.cert_fwid, expiration
    )


def check_fwid(report_fwid: bytes | None, identity: DeviceIdentity) -> bool | None:
    """Compare the report's FWID with the leaf certificate's: True, or None when the report has none.

    Raises:
        FwidMismatchError: the report carries an FWID and the certificate has another (or none).
    """
    if report_fwid is None:
        return None
    if identity.cert_fwid is None:
        raise FwidMismatchError("the report carries an FWID but the leaf certificate has none")
    if report_fwid != identity.cert_fwid:
        raise FwidMismatchError(
            f"the report's FWID {report_fwid.hex()[:16]}… differs from the leaf certificate's "
            f"{identity.cert_fwid.hex()[:16]}…"
        )
    return True
