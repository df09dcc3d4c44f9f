"""Certificates for the SIMULATED vendor PKIs (NOT SECURITY), shaped like NVIDIA's.

The device chain copies the shape of real Hopper chains (PROVENANCE.md, "Device chains"): a
self-signed root, two CA intermediates, a per-GPU "GSP BROM" CA, and the "GSP FMC LF" leaf that
certifies the attestation key, with the SAN otherName ``NVIDIA:GH100:<16 hex>`` and the FWID in
extension 2.23.133.5.4.1. Every organisation name says SIMULATED so no certificate here can be
mistaken for NVIDIA's; the common names the Verifier reads (``GH100 A01 GSP BROM`` as hwmodel) keep
their real form so the real Verifier code runs on them.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID, ObjectIdentifier

SIMULATED_ORGANISATION: Final = "ccgate SIMULATED hardware - NOT NVIDIA - NOT SECURE"
FWID_EXTENSION_OID: Final = ObjectIdentifier("2.23.133.5.4.1")
NVIDIA_SAN_OID: Final = ObjectIdentifier("1.3.6.1.4.1.412.274.1")
FOREVER: Final = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
# Certificates start a day before ``now`` so that a verifier whose clock is a little behind accepts them.
BACKDATE: Final = timedelta(days=1)

# DER building blocks of the Hopper FWID extension value (NVIDIA's Hopper form): SEQUENCE { INTEGER 1,
# SubjectPublicKeyInfo of the issuer (BROM), SEQUENCE { OID sha384, OCTET STRING fwid } }.
_DER_SEQUENCE: Final = 0x30
_DER_OCTET_STRING: Final = 0x04
_DER_INTEGER_ONE: Final = bytes([0x02, 0x01, 0x01])
_DER_OID_SHA384: Final = bytes.fromhex("0609608648016503040202")  # 2.16.840.1.101.3.4.2.2
_DER_UTF8_STRING: Final = 0x0C


def _der(tag: int, content: bytes) -> bytes:
    """One DER TLV (definite length)."""
    if len(content) < 0x80:
        return bytes([tag, len(content)]) + content
    length = len(content).to_bytes((len(content).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def hopper_fwid_extension(issuer_public_key: ec.EllipticCurvePublicKey, fwid: bytes) -> bytes:
    """The value of extension 2.23.133.5.4.1 in a Hopper leaf; its last 48 bytes are the FWID."""
    spki = issuer_public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    digest = _der(_DER_SEQUENCE, _DER_OID_SHA384 + _der(_DER_OCTET_STRING, fwid))
    return _der(_DER_SEQUENCE, _DER_INTEGER_ONE + spki + digest)


def nvidia_device_san(chip: str, device_id: bytes) -> x509.SubjectAlternativeName:
    """The leaf SAN: otherName 1.3.6.1.4.1.412.274.1 = UTF8String ``NVIDIA:<chip>:<16 hex>``."""
    text = f"NVIDIA:{chip}:{device_id.hex().upper()}".encode()
    return x509.SubjectAlternativeName([x509.OtherName(NVIDIA_SAN_OID, _der(_DER_UTF8_STRING, text))])


def name(common_name: str, *, serial_number: str | None = None) -> x509.Name:
    """A subject name in NVIDIA's attribute order, with the SIMULATED organisation."""
    attributes = []
    if serial_number is not None:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number))
    attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, "US"))
    attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, SIMULATED_ORGANISATION))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


@dataclass(frozen=True, slots=True)
class Authority:
    """A certificate and its private key (a CA or a signer of the simulated vendor)."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-384 key (every NVIDIA device and RIM key is P-384)."""
    return ec.generate_private_key(ec.SECP384R1())


def serial_from_key(public_key: ec.EllipticCurvePublicKey, size: int) -> int:
    """A positive serial of ``size`` bytes derived from the key, as NVIDIA derives device serials."""
    spki = public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    value = int.from_bytes(hashlib.sha256(spki).digest()[:size], "big")
    return (value >> 1) | (1 << (size * 8 - 2))  # positive and of full length in DER


def issue(
    *,
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer: Authority | None,
    signing_key: ec.EllipticCurvePrivateKey,
    not_before: datetime,
    not_after: datetime,
    ca: bool | None,
    path_length: int | None = None,
    serial: int | None = None,
    extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
) -> x509.Certificate:
    """Issue one ECDSA-SHA384 certificate; ``issuer=None`` makes it self-signed with ``signing_key``.

    ``ca=None`` leaves BasicConstraints out (as NVIDIA's device leaves do); CA certificates get
    keyCertSign and cRLSign, others digitalSignature only.
    """
    issuer_name = subject if issuer is None else issuer.certificate.subject
    issuer_key = public_key if issuer is None else issuer.certificate.public_key()
    if not isinstance(issuer_key, ec.EllipticCurvePublicKey):
        raise TypeError("the simulated PKIs are ECDSA P-384 throughout")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key), critical=False)
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
    usage = x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=bool(ca),
        crl_sign=bool(ca),
        encipher_only=False,
        decipher_only=False,
    )
    builder = builder.add_extension(usage, critical=True)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signing_key, hashes.SHA384())


def self_signed_root(common_name: str, not_before: datetime, not_after: datetime) -> Authority:
    """A simulated root CA."""
    key = new_key()
    certificate = issue(
        subject=name(common_name),
        public_key=key.public_key(),
        issuer=None,
        signing_key=key,
        not_before=not_before,
        not_after=not_after,
        ca=True,
    )
    return Authority(certificate, key)


def intermediate(
    common_name: str,
    parent: Authority,
    not_before: datetime,
    not_after: datetime,
    path_length: int | None = None,
) -> Authority:
    """A simulated intermediate CA under ``parent``."""
    key = new_key()
    certificate = issue(
        subject=name(common_name),
        public_key=key.public_key(),
        issuer=parent,
        signing_key=parent.private_key,
        not_before=not_before,
        not_after=min(not_after, parent.certificate.not_valid_after_utc),
        ca=True,
        path_length=path_length,
    )
    return Authority(certificate, key)


def chain_pem(certificates: Sequence[x509.Certificate]) -> bytes:
    """Concatenated PEM, in the given order."""
    return b"".join(certificate.public_bytes(Encoding.PEM) for certificate in certificates)


def whole_seconds(moment: datetime) -> datetime:
    """``moment`` in UTC without microseconds (X.509 times have whole seconds)."""
    return moment.astimezone(UTC).replace(microsecond=0)
