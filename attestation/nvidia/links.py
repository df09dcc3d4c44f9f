"""Link-by-link certificate chain verification with a memo of links already verified.

A link (child, issuer) whose signature verified once stays verified: it depends on the two DER
encodings only. Validity periods depend on ``now`` and are checked on every call.
"""

import itertools
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from attestation.errors import AttestationError, CertificateChainError, CertificateExpiredError
from attestation.nvidia.memo import BoundedMemo
from attestation.pki import check_valid_at, verify_issued_by


def fingerprint(certificate: x509.Certificate) -> bytes:
    """The SHA-256 of the certificate's DER encoding."""
    return certificate.fingerprint(hashes.SHA256())


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return constraints.ca


def verify_links(
    links: Sequence[x509.Certificate],
    now: datetime,
    what: str,
    memo: BoundedMemo[tuple[bytes, bytes], bool],
    *,
    chain_error: type[AttestationError],
    expired_error: type[AttestationError],
    require_ca: bool,
    prints: Sequence[bytes] | None = None,
) -> datetime:
    """Verify ``links`` (leaf first, the pinned root last) at ``now``; return the earliest notAfter.

    Links are checked before validity periods, so that a chain to another root is reported as
    broken (final) even when it has also expired (which alone would be retryable).

    With ``require_ca`` every issuer must carry BasicConstraints CA:TRUE, so that a leaf key cannot
    vouch for another certificate. ``prints`` are the links' fingerprints when the caller already
    holds them (a parsed chain it memoised, a pinned root); they are computed otherwise.

    Raises:
        AttestationError: ``expired_error`` when a certificate is not valid at ``now``;
            ``chain_error`` when a link's names or signature do not verify, or an issuer is not a CA.
    """
    # Each certificate is hashed once, although it is the child of one link and the issuer of the next.
    if prints is None:
        prints = [fingerprint(certificate) for certificate in links]
    elif len(prints) != len(links):
        raise ValueError("one fingerprint per link is needed")
    for position, (child, issuer) in enumerate(itertools.pairwise(links)):
        key = (prints[position], prints[position + 1])
        if memo.get(key):
            continue
        if require_ca and not _is_ca(issuer):
            raise chain_error(
                f"{what} certificate {position + 1} is not a CA but issues certificate {position}"
            )
        try:
            verify_issued_by(child, issuer, f"{what} certificate {position}")
        except CertificateChainError as exc:
            raise chain_error(str(exc)) from exc
        memo.put(key, True)
    for position, certificate in enumerate(links):
        try:
            check_valid_at(certificate, now, f"{what} certificate {position}")
        except CertificateExpiredError as exc:
            raise expired_error(str(exc)) from exc
    return min(certificate.not_valid_after_utc for certificate in links)
