"""Checks applied to collateral before it enters the store: pinned roots, vendor signatures, well-formedness.

These are import-time checks (fail early, keep junk out); the verifiers check everything again at
verification time against ``now``.
"""

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree

from attestation.errors import AttestationError
from attestation.pki import verify_issued_by
from attestation.roots import PinnedRoot, pinned_root_name
from attestation.snp.certificates import AMD_PSS, verify_amd_signed
from attestation.tdx.collateral import SignedDocument
from gateway.errors import GatewayError


class CollateralRejectedError(GatewayError):
    """An item offered for import failed validation; nothing of that import was stored."""

    code = "collateral.rejected"


def require_pinned_root(certificate: x509.Certificate, what: str) -> PinnedRoot:
    """Return the pin a self-signed root matches.

    Raises:
        CollateralRejectedError: the root matches no pin.
    """
    pinned = pinned_root_name(certificate)
    if pinned is None:
        raise CollateralRejectedError(
            f"{what}: {certificate.subject.rfc4514_string()} is not a pinned vendor root"
        )
    return pinned


def check_amd_issued(child: x509.Certificate, ark: x509.Certificate, what: str) -> None:
    """An ASK/ASVK must be signed by the pinned ARK with AMD's RSA-PSS parameters.

    Raises:
        CollateralRejectedError: the signature or the issuer name is wrong.
    """
    try:
        verify_amd_signed(child, ark, what)
    except AttestationError as exc:
        raise CollateralRejectedError(str(exc)) from exc


def check_amd_crl(crl: x509.CertificateRevocationList, ark: x509.Certificate, what: str) -> None:
    """An AMD CRL must be signed by the ARK (RSA-PSS, SHA-384, salt 48).

    Raises:
        CollateralRejectedError: the issuer or the signature is wrong.
    """
    key = ark.public_key()
    try:
        if crl.issuer != ark.subject or not isinstance(key, rsa.RSAPublicKey):
            raise InvalidSignature
        key.verify(crl.signature, crl.tbs_certlist_bytes, AMD_PSS, hashes.SHA384())
    except InvalidSignature as exc:
        raise CollateralRejectedError(f"{what} is not signed by {ark.subject.rfc4514_string()}") from exc


def check_issued(child: x509.Certificate, issuer: x509.Certificate, what: str) -> None:
    """A certificate must be issued (name and signature) by ``issuer``.

    Raises:
        CollateralRejectedError: it is not.
    """
    try:
        verify_issued_by(child, issuer, what)
    except AttestationError as exc:
        raise CollateralRejectedError(str(exc)) from exc


def check_crl_signed(crl: x509.CertificateRevocationList, issuer: x509.Certificate, what: str) -> None:
    """A CRL must name ``issuer`` and carry a valid signature by its key.

    Raises:
        CollateralRejectedError: it does not.
    """
    key = issuer.public_key()
    signed = isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey) and crl.is_signature_valid(key)
    if crl.issuer != issuer.subject or not signed:
        raise CollateralRejectedError(f"{what} is not signed by {issuer.subject.rfc4514_string()}")


def check_intel_signed(document: SignedDocument, signer: x509.Certificate, what: str) -> None:
    """A TCB info / QE identity signature (raw r‖s, P-256/SHA-256) over the exact JSON text.

    Raises:
        CollateralRejectedError: the signature does not verify under the TCB Signing certificate.
    """
    key = signer.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or len(document.signature) != 64:
        raise CollateralRejectedError(f"{what}: not an ECDSA P-256 signature by a TCB Signing key")
    r, s = int.from_bytes(document.signature[:32], "big"), int.from_bytes(document.signature[32:], "big")
    try:
        key.verify(encode_dss_signature(r, s), document.text.encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise CollateralRejectedError(
            f"{what}: the signature does not verify under the TCB Signing key"
        ) from exc


def check_rim(data: bytes, what: str) -> str:
    """A RIM must be well-formed XML whose root is a SWID ``SoftwareIdentity``; return its id.

    The id is the ``tagId`` attribute, as NVIDIA's RIM service names RIMs. The RIM's XML signature is
    verified by the NVIDIA verifier when it is used, not here.

    Raises:
        CollateralRejectedError: not XML, not a SoftwareIdentity, or no tagId.
    """
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise CollateralRejectedError(f"{what} is not well-formed XML: {exc}") from exc
    if etree.QName(root).localname != "SoftwareIdentity":
        raise CollateralRejectedError(f"{what} is not a RIM (root element {etree.QName(root).localname})")
    tag_id = root.get("tagId")
    if not tag_id:
        raise CollateralRejectedError(f"{what} has no tagId")
    return tag_id


# NVIDIA RIM service ids, e.g. NV_GPU_DRIVER_GH100_550.90.07 or NV_GPU_VBIOS_1010_0200_882_96009F0001.
_RIM_ID = re.compile(r"^NV_[A-Z0-9]+_[A-Za-z0-9_.\-]+$")


def rim_id_for(path: Path) -> str:
    """The NVIDIA RIM id a RIM file is filed under: its name (``<id>.xml``) or its folder (``<id>/…``).

    A RIM does not carry the id the GPU report names (only a ``tagId`` hash), so the binding from id
    to document is the store's, and it is taken from how the operator or NVIDIA's service named it.

    Raises:
        CollateralRejectedError: neither the file nor its folder is named like an NVIDIA RIM id.
    """
    for candidate in (path.stem, path.parent.name):
        if _RIM_ID.match(candidate):
            return candidate
    raise CollateralRejectedError(
        f"{path}: name a RIM file by the NVIDIA RIM id it serves (e.g. NV_GPU_DRIVER_GH100_550.90.07.xml, "
        "or put several candidates in a folder of that name)"
    )


def rim_key(rim_id: str, data: bytes) -> str:
    """The store key of one RIM candidate: several genuine RIMs may share an id, so the digest is added."""
    return f"{rim_id}@{hashlib.sha256(data).hexdigest()[:16]}"


def json_members(data: bytes) -> dict[str, object] | None:
    """The top-level members of a JSON object, or None when ``data`` is not one."""
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return document if isinstance(document, dict) else None


def next_update_of(crl: x509.CertificateRevocationList) -> datetime | None:
    """A CRL's nextUpdate (aware), if it has one."""
    return crl.next_update_utc
