"""AMD certificates: VCEK/VLEK extensions, the RSA-PSS chain ARK → ASK/ASVK → VCEK/VLEK, and AMD CRLs.

AMD signs every certificate and CRL with RSASSA-PSS, SHA-384, MGF1-SHA-384 and a 48-byte salt; each
link is verified with exactly those parameters (not with whatever the certificate declares), so a
certificate re-signed with other PSS parameters is refused.
"""

import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning

from attestation.errors import (
    CertificateChainError,
    CertificateRevokedError,
    CollateralStaleError,
    EvidenceMalformedError,
)
from attestation.pki import check_valid_at
from attestation.snp.errors import SnpProductMismatchError
from attestation.snp.tcb import SnpProduct

_AMD_ARC: Final = "1.3.6.1.4.1.3704.1"
OID_STRUCT_VERSION: Final = x509.ObjectIdentifier(f"{_AMD_ARC}.1")
OID_PRODUCT_NAME: Final = x509.ObjectIdentifier(f"{_AMD_ARC}.2")
OID_BL_SPL: Final = x509.ObjectIdentifier(f"{_AMD_ARC}.3.1")
OID_TEE_SPL: Final = x509.ObjectIdentifier(f"{_AMD_ARC}.3.2")
OID_SNP_SPL: Final = x509.ObjectIdentifier(f"{_AMD_ARC}.3.3")
OID_UCODE_SPL: Final = x509.ObjectIdentifier(f"{_AMD_ARC}.3.8")
OID_FMC_SPL: Final = x509.ObjectIdentifier(f"{_AMD_ARC}.3.9")
OID_HW_ID: Final = x509.ObjectIdentifier(f"{_AMD_ARC}.4")

_DER_INTEGER: Final = 0x02
_DER_OCTET_STRING: Final = 0x04
_DER_IA5_STRING: Final = 0x16

AMD_PSS: Final = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)


def load_amd_certificate(data: bytes) -> x509.Certificate:
    """Load a VCEK/VLEK/ASK/ARK from PEM or DER, accepting AMD's serial number 0 deliberately.

    AMD's KDS issues every VCEK and VLEK with serial number 0, which RFC 5280 forbids; recent
    ``cryptography`` warns (``CryptographyDeprecationWarning``) when it parses one, on load and on
    ``serial_number``. The key is identified by its hwID/TCB extensions, not the serial, so the
    warning is silenced here, for these loads only; a release that turns it into an error makes the
    certificate fail to load, which is reported as malformed Evidence rather than crashing.

    Raises:
        EvidenceMalformedError: the bytes are not an X.509 certificate.
    """
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", category=CryptographyDeprecationWarning, message=".*serial number"
            )
            if data.lstrip().startswith(b"-----BEGIN"):
                certificate = x509.load_pem_x509_certificate(data)
            else:
                certificate = x509.load_der_x509_certificate(data)
            # Touch the serial inside the filter: cryptography also warns lazily on first access.
            _ = certificate.serial_number
    except ValueError as exc:
        raise EvidenceMalformedError(f"not an X.509 certificate: {exc}") from exc
    return certificate


def _der_value(data: bytes, tag: int, what: str) -> bytes:
    """The content of one DER TLV of type ``tag`` that spans all of ``data``.

    Raises:
        EvidenceMalformedError: another tag, a bad length, or trailing bytes.
    """
    if len(data) < 2 or data[0] != tag:
        raise EvidenceMalformedError(f"{what}: expected DER tag {tag:#04x}")
    length, header = data[1], 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 2 or len(data) < 2 + count:
            raise EvidenceMalformedError(f"{what}: unsupported DER length")
        length, header = int.from_bytes(data[2 : 2 + count], "big"), 2 + count
    if header + length != len(data):
        raise EvidenceMalformedError(f"{what}: DER length {length} does not match the extension")
    return data[header:]


def _extension_bytes(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> bytes | None:
    try:
        extension = certificate.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return None
    value = extension.value
    if not isinstance(value, x509.UnrecognizedExtension):
        raise EvidenceMalformedError(f"extension {oid.dotted_string} is not an AMD extension")
    return value.value


def _spl(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> int | None:
    raw = _extension_bytes(certificate, oid)
    if raw is None:
        return None
    content = _der_value(raw, _DER_INTEGER, f"extension {oid.dotted_string}")
    if not content or content[0] & 0x80:
        raise EvidenceMalformedError(f"extension {oid.dotted_string} is not a non-negative INTEGER")
    return int.from_bytes(content, "big")


@dataclass(frozen=True, slots=True)
class AmdKeyExtensions:
    """The AMD extensions of a VCEK or VLEK: product, TCB SPLs and (VCEK only) the hardware id."""

    product_name: str
    boot_loader: int
    tee: int
    snp: int
    microcode: int
    fmc: int | None
    hw_id: bytes | None


def read_key_extensions(certificate: x509.Certificate) -> AmdKeyExtensions:
    """Read the AMD extensions of a VCEK/VLEK.

    hwID comes in two encodings: the raw 64 (Turin: 8) bytes that the KDS serves, or those bytes
    wrapped in a DER OCTET STRING; both are accepted.

    Raises:
        EvidenceMalformedError: a TCB SPL or the product name is missing or badly encoded.
    """
    name_raw = _extension_bytes(certificate, OID_PRODUCT_NAME)
    if name_raw is None:
        raise EvidenceMalformedError("the VCEK/VLEK has no productName extension")
    product_name = _der_value(name_raw, _DER_IA5_STRING, "productName").decode("ascii", "replace")
    spls = {oid: _spl(certificate, oid) for oid in (OID_BL_SPL, OID_TEE_SPL, OID_SNP_SPL, OID_UCODE_SPL)}
    missing = [oid.dotted_string for oid, value in spls.items() if value is None]
    if missing:
        raise EvidenceMalformedError(f"the VCEK/VLEK lacks TCB extensions {', '.join(missing)}")
    hw_id = _extension_bytes(certificate, OID_HW_ID)
    if hw_id is not None and hw_id[:1] == bytes([_DER_OCTET_STRING]) and len(hw_id) not in (8, 64):
        hw_id = _der_value(hw_id, _DER_OCTET_STRING, "hwID")
    return AmdKeyExtensions(
        product_name=product_name,
        boot_loader=spls[OID_BL_SPL] or 0,
        tee=spls[OID_TEE_SPL] or 0,
        snp=spls[OID_SNP_SPL] or 0,
        microcode=spls[OID_UCODE_SPL] or 0,
        fmc=_spl(certificate, OID_FMC_SPL),
        hw_id=hw_id,
    )


def product_of(name: str) -> SnpProduct:
    """The product a KDS product name (``Milan-B0``, ``Genoa``, ``SEV-VLEK-Turin``...) names.

    Raises:
        SnpProductMismatchError: the name contains none of the supported products.
    """
    for product in SnpProduct:
        if product.value.lower() in name.lower():
            return product
    raise SnpProductMismatchError(f"{name!r} names no supported SEV-SNP product (Milan, Genoa, Turin)")


def common_name(certificate: x509.Certificate) -> str:
    """The subject CN, or the empty string."""
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def verify_amd_signed(child: x509.Certificate, parent: x509.Certificate, what: str) -> None:
    """Check that ``parent`` (an RSA ARK/ASK/ASVK) signed ``child`` with AMD's RSA-PSS parameters.

    Raises:
        CertificateChainError: issuer name differs, the parent key is not RSA, or the signature fails.
    """
    if child.issuer != parent.subject:
        raise CertificateChainError(
            f"{what} is issued by {child.issuer.rfc4514_string()}, not {parent.subject.rfc4514_string()}"
        )
    key = parent.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise CertificateChainError(f"the issuer of {what} has no RSA key")
    try:
        key.verify(child.signature, child.tbs_certificate_bytes, AMD_PSS, hashes.SHA384())
    except InvalidSignature as exc:
        raise CertificateChainError(f"the RSA-PSS signature on {what} does not verify") from exc


def report_signing_key(certificate: x509.Certificate) -> ec.EllipticCurvePublicKey:
    """The VCEK/VLEK public key, which must be EC P-384.

    Raises:
        CertificateChainError: another key type or curve.
    """
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP384R1):
        raise CertificateChainError("the VCEK/VLEK key is not EC P-384")
    return key


def check_crl(
    crl: x509.CertificateRevocationList,
    ark: x509.Certificate,
    intermediate: x509.Certificate,
    now: datetime,
) -> None:
    """Check an AMD CRL: signed by the ARK (RSA-PSS), current at ``now``, not listing ``intermediate``.

    A CRL issued after ``now`` is accepted: revocation is permanent, so a later list that omits the
    certificate proves it was not revoked at ``now`` either.

    Raises:
        CertificateChainError: the CRL is not issued or signed by the ARK.
        CollateralStaleError: its nextUpdate is missing or before ``now``.
        CertificateRevokedError: it lists the ASK/ASVK.
    """
    if crl.issuer != ark.subject:
        raise CertificateChainError(f"the CRL is issued by {crl.issuer.rfc4514_string()}, not the ARK")
    key = ark.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise CertificateChainError("the ARK has no RSA key")
    try:
        key.verify(crl.signature, crl.tbs_certlist_bytes, AMD_PSS, hashes.SHA384())
    except InvalidSignature as exc:
        raise CertificateChainError("the RSA-PSS signature on the AMD CRL does not verify") from exc
    next_update = crl.next_update_utc
    if next_update is None or next_update < now:
        raise CollateralStaleError(
            f"the AMD CRL's nextUpdate {next_update} is before {now:%Y-%m-%dT%H:%M:%SZ}"
        )
    if crl.get_revoked_certificate_by_serial_number(intermediate.serial_number) is not None:
        raise CertificateRevokedError(
            f"{common_name(intermediate)} (serial {intermediate.serial_number:#x}) is revoked"
        )


def check_times(certificates: dict[str, x509.Certificate], now: datetime) -> datetime:
    """Check each named certificate is valid at ``now``; return the earliest notAfter.

    Raises:
        CertificateExpiredError: one is outside its validity period.
    """
    for name, certificate in certificates.items():
        check_valid_at(certificate, now, name)
    return min(certificate.not_valid_after_utc for certificate in certificates.values())
