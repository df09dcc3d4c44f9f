"""X.509 helpers shared by the verifiers: loading, validity at ``now``, and link-by-link chains.

Chains are checked link by link (issuer name and signature, each certificate valid at ``now``)
rather than with a path builder, because vendor CA certificates (NVIDIA's RIM CAs, AMD's ASK) do not
all satisfy RFC 5280 profile checks that a WebPKI path builder enforces, while each link is sound.
"""

import itertools
import re
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

from attestation.errors import (
    CertificateChainError,
    CertificateExpiredError,
    EvidenceMalformedError,
)

_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def load_certificate(data: bytes) -> x509.Certificate:
    """Load one certificate from PEM or DER.

    Raises:
        EvidenceMalformedError: the bytes are not a certificate.
    """
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise EvidenceMalformedError(f"not an X.509 certificate: {exc}") from exc


def load_pem_chain(data: bytes) -> tuple[x509.Certificate, ...]:
    """Load every PEM certificate in ``data``, in order.

    Raises:
        EvidenceMalformedError: no certificate, or a block that does not parse.
    """
    blocks = _PEM_BLOCK.findall(data)
    if not blocks:
        raise EvidenceMalformedError("no PEM certificate found")
    return tuple(load_certificate(block) for block in blocks)


def check_valid_at(certificate: x509.Certificate, now: datetime, what: str) -> None:
    """Refuse a certificate outside its validity period at ``now`` (an aware datetime).

    Raises:
        CertificateExpiredError: ``now`` is before notBefore or after notAfter.
    """
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise CertificateExpiredError(
            f"{what} is valid {certificate.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ} .. "
            f"{certificate.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}, not at {now:%Y-%m-%dT%H:%M:%SZ}"
        )


def verify_issued_by(certificate: x509.Certificate, issuer: x509.Certificate, what: str) -> None:
    """Check that ``issuer`` issued ``certificate``: names chain and the signature verifies.

    Raises:
        CertificateChainError: the issuer name differs or the signature does not verify.
    """
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm) as exc:
        raise CertificateChainError(
            f"{what} is not issued by {issuer.subject.rfc4514_string()}: {exc}"
        ) from exc


def verify_chain(
    chain: Sequence[x509.Certificate], root: x509.Certificate, now: datetime, what: str
) -> datetime:
    """Verify ``chain`` (leaf first, without the root) up to the pinned ``root``, link by link, at ``now``.

    Returns the earliest notAfter of the chain and the root: when the chain stops being valid.

    Raises:
        CertificateChainError: an empty chain, a broken link or a signature that does not verify.
        CertificateExpiredError: a certificate (or the root) is not valid at ``now``.
    """
    if not chain:
        raise CertificateChainError(f"{what}: empty certificate chain")
    links = [*chain, root]
    for position, certificate in enumerate(links):
        check_valid_at(certificate, now, f"{what} certificate {position}")
    for position, (child, parent) in enumerate(itertools.pairwise(links)):
        verify_issued_by(child, parent, f"{what} certificate {position}")
    return min(certificate.not_valid_after_utc for certificate in links)
