"""The report signature: ECDSA P-384 with SHA-384 by the leaf (attestation) key.

It covers the request and the response up to the signature, exactly the bytes the parser consumed;
the signature travels as raw big-endian r‖s (48 + 48 bytes) and is DER-encoded for ``cryptography``.
"""

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from attestation.nvidia.errors import DeviceChainError, ReportSignatureError
from attestation.nvidia.spdm import SIGNATURE_SIZE, SpdmMeasurementReport

COORDINATE_SIZE = SIGNATURE_SIZE // 2


def raw_ecdsa_to_der(signature: bytes) -> bytes:
    """DER-encode a raw r‖s ECDSA signature of two equal halves."""
    half = len(signature) // 2
    return encode_dss_signature(
        int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
    )


def p384_public_key(certificate: x509.Certificate, what: str) -> ec.EllipticCurvePublicKey:
    """The certificate's public key, which must be an EC P-384 key.

    Raises:
        DeviceChainError: the key is of another type or curve.
    """
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP384R1):
        raise DeviceChainError(f"the {what} key is not an EC P-384 key")
    return key


def verify_report_signature(report: SpdmMeasurementReport, leaf: x509.Certificate) -> None:
    """Verify the report's signature with the leaf certificate's key.

    Raises:
        DeviceChainError: the leaf key is not EC P-384.
        ReportSignatureError: the signature does not verify.
    """
    key = p384_public_key(leaf, "device leaf")
    try:
        key.verify(raw_ecdsa_to_der(report.signature), report.signed_bytes, ec.ECDSA(hashes.SHA384()))
    except InvalidSignature as exc:
        raise ReportSignatureError("the report signature does not verify under the device leaf key") from exc
