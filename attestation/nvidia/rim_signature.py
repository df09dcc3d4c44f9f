"""XML-DSig verification of a RIM and of its signing chain to the pinned RIM root.

NVIDIA signs RIMs with one enveloped signature, the last child of the root element:

* Reference ``URI=""`` with transforms enveloped-signature then C14N 1.1, digest SHA-384: the whole
  document, signature removed, canonicalised inclusively without comments, hashed;
* SignedInfo canonicalised with C14N 1.1 IN DOCUMENT CONTEXT (it inherits the root's namespace
  declarations; exclusive canonicalisation would break valid signatures), signed ECDSA-SHA384 with
  a raw r‖s SignatureValue, by the key of the first ``X509Certificate``;
* ``X509Data`` lists the signer (L4), L3, the CA and NVIDIA's root; ccgate chains the first three to
  the pinned root it was given and ignores the embedded root.

Only this profile is accepted (anything else is refused, not interpreted). lxml implements C14N 1.0;
it equals 1.1 for documents without ``xml:*`` attributes, which ``rim.parse_rim_xml`` refuses.
Checking the digest as well as the SignatureValue matters: an edited RIM keeps a valid signature
over its old SignedInfo, and only the reference digest catches the edit.
"""

import base64
import binascii
import copy
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from attestation.errors import CertificateExpiredError, EvidenceMalformedError
from attestation.nvidia.errors import (
    DeviceChainError,
    RimChainError,
    RimDigestError,
    RimExpiredError,
    RimSignatureError,
)
from attestation.nvidia.links import fingerprint, verify_links
from attestation.nvidia.memo import BoundedMemo
from attestation.nvidia.report_signature import p384_public_key, raw_ecdsa_to_der
from attestation.nvidia.rim import RimDocument, parse_rim_xml, read_rim
from attestation.pki import check_valid_at, load_certificate

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
C14N_11 = "http://www.w3.org/2006/12/xml-c14n11"
C14N_10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
ENVELOPED_SIGNATURE = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
DIGEST_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
ECDSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
INCLUSIVE_C14N = frozenset({C14N_11, C14N_10})
# Signer (L4), L3 and CA; a fourth embedded certificate, NVIDIA's root, is ignored.
RIM_CHAIN_LENGTH = 3
SIGNATURE_VALUE_SIZE = 96


@dataclass(frozen=True, slots=True)
class VerifiedRim:
    """A RIM whose reference digest, signature and chain links verified (validity is re-checked per use)."""

    document: RimDocument
    chain: tuple[x509.Certificate, ...]
    digest: bytes  # SHA-256 of the document's bytes: what its comparisons are memoised under.


def _ds(element: "etree._Element", tag: str) -> "etree._Element":
    found = element.findall(f"{{{DS_NS}}}{tag}")
    if len(found) != 1:
        raise RimSignatureError(f"the RIM signature has {len(found)} {tag} elements, expected 1")
    return found[0]


def _algorithm(element: "etree._Element", allowed: frozenset[str], what: str) -> str:
    algorithm = element.get("Algorithm", "")
    if algorithm not in allowed:
        raise RimSignatureError(f"{what} {algorithm!r} is not accepted for NVIDIA RIMs")
    return algorithm


def _signature_element(root: "etree._Element") -> "etree._Element":
    signatures = list(root.iter(f"{{{DS_NS}}}Signature"))
    if len(signatures) != 1 or signatures[0].getparent() is not root or root[-1] is not signatures[0]:
        raise RimSignatureError("the RIM must carry exactly one enveloped Signature, the root's last child")
    return signatures[0]


def _check_reference(root: "etree._Element", signed_info: "etree._Element") -> None:
    reference = _ds(signed_info, "Reference")
    if reference.get("URI") != "":
        raise RimSignatureError('the RIM signature must reference the whole document (URI="")')
    transforms = _ds(reference, "Transforms").findall(f"{{{DS_NS}}}Transform")
    if len(transforms) != 2:
        raise RimSignatureError("the RIM signature must use exactly the enveloped and C14N transforms")
    _algorithm(transforms[0], frozenset({ENVELOPED_SIGNATURE}), "transform")
    _algorithm(transforms[1], INCLUSIVE_C14N, "transform")
    _algorithm(_ds(reference, "DigestMethod"), frozenset({DIGEST_SHA384}), "digest method")
    try:
        expected = base64.b64decode(_ds(reference, "DigestValue").text or "", validate=False)
    except binascii.Error as exc:
        raise RimSignatureError("the RIM's DigestValue is not base64") from exc
    # The enveloped-signature transform removes the Signature element only; lxml would drop its
    # tail text with it, so the tail is handed to the previous sibling (or the parent) first.
    unsigned = copy.deepcopy(root.getroottree())
    unsigned_root = unsigned.getroot()
    signature = unsigned_root[-1]
    if signature.tail:
        previous = signature.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + signature.tail
        else:
            unsigned_root.text = (unsigned_root.text or "") + signature.tail
    unsigned_root.remove(signature)
    actual = hashlib.sha384(etree.tostring(unsigned, method="c14n", exclusive=False, with_comments=False))
    if not hmac.compare_digest(actual.digest(), expected):
        raise RimDigestError(
            "the RIM's content does not match its signed digest: it was edited after signing"
        )


def _embedded_certificates(signature: "etree._Element") -> tuple[x509.Certificate, ...]:
    x509_data = _ds(_ds(signature, "KeyInfo"), "X509Data")
    certificates = []
    for element in x509_data.findall(f"{{{DS_NS}}}X509Certificate"):
        try:
            der = base64.b64decode("".join((element.text or "").split()), validate=True)
        except binascii.Error as exc:
            raise RimSignatureError("a RIM X509Certificate is not base64") from exc
        try:
            certificates.append(load_certificate(der))
        except EvidenceMalformedError as exc:
            raise RimSignatureError(f"a RIM X509Certificate does not parse: {exc}") from exc
    if not certificates:
        raise RimSignatureError("the RIM signature carries no certificate")
    return tuple(certificates)


def _check_signature_value(signature: "etree._Element", signer: x509.Certificate) -> None:
    signed_info = _ds(signature, "SignedInfo")
    try:
        raw = base64.b64decode("".join((_ds(signature, "SignatureValue").text or "").split()), validate=True)
    except binascii.Error as exc:
        raise RimSignatureError("the RIM's SignatureValue is not base64") from exc
    if len(raw) != SIGNATURE_VALUE_SIZE:
        raise RimSignatureError(
            f"the RIM's SignatureValue is {len(raw)} bytes, expected {SIGNATURE_VALUE_SIZE}"
        )
    try:
        key = p384_public_key(signer, "RIM signer")
    except DeviceChainError as exc:
        raise RimSignatureError(str(exc)) from exc
    # Canonicalising the element itself keeps its document context: lxml serialises it with the
    # namespace declarations it inherits, which is what inclusive C14N of a document subset does.
    canonical = etree.tostring(signed_info, method="c14n", exclusive=False, with_comments=False)
    try:
        key.verify(raw_ecdsa_to_der(raw), canonical, ec.ECDSA(hashes.SHA384()))
    except InvalidSignature as exc:
        raise RimSignatureError("the RIM's signature does not verify under its signing certificate") from exc


def _verify_fresh(document: bytes) -> tuple[RimDocument, tuple[x509.Certificate, ...]]:
    root = parse_rim_xml(document)
    rim = read_rim(root)
    signature = _signature_element(root)
    signed_info = _ds(signature, "SignedInfo")
    _algorithm(_ds(signed_info, "CanonicalizationMethod"), INCLUSIVE_C14N, "canonicalization")
    _algorithm(_ds(signed_info, "SignatureMethod"), frozenset({ECDSA_SHA384}), "signature method")
    _check_reference(root, signed_info)
    certificates = _embedded_certificates(signature)
    _check_signature_value(signature, certificates[0])
    if len(certificates) < RIM_CHAIN_LENGTH:
        raise RimChainError(
            f"the RIM embeds {len(certificates)} certificates; the signer, L3 and CA are all needed"
        )
    return rim, certificates[:RIM_CHAIN_LENGTH]


def verify_rim(
    document: bytes,
    rim_root: x509.Certificate,
    now: datetime,
    *,
    rims: BoundedMemo[tuple[bytes, bytes], VerifiedRim],
    links: BoundedMemo[tuple[bytes, bytes], bool],
    root_print: bytes | None = None,
) -> tuple[VerifiedRim, datetime]:
    """Verify a RIM's digest, signature and chain to ``rim_root`` at ``now``; return it and its expiry.

    ``root_print`` is ``rim_root``'s SHA-256 fingerprint when the caller holds it (the trust anchors do).

    Raises:
        RimMalformedError: the document is not a RIM ccgate can read.
        RimDigestError: the content was edited after signing.
        RimSignatureError: the signature is invalid or uses another profile.
        RimChainError: the signing chain does not lead to ``rim_root``.
        RimExpiredError: a certificate of the chain (or the root) is not valid at ``now``.
    """
    key = (hashlib.sha256(document).digest(), root_print or fingerprint(rim_root))
    verified = rims.get(key)
    if verified is None:
        rim, chain = _verify_fresh(document)
        expiration = verify_links(
            (*chain, rim_root),
            now,
            "RIM",
            links,
            chain_error=RimChainError,
            expired_error=RimExpiredError,
            require_ca=True,
        )
        verified = VerifiedRim(rim, chain, key[0])
        rims.put(key, verified)
        return verified, expiration
    # A cached RIM verified once; only the validity periods depend on ``now``.
    in_use = (*verified.chain, rim_root)
    for position, certificate in enumerate(in_use):
        try:
            check_valid_at(certificate, now, f"RIM certificate {position}")
        except CertificateExpiredError as exc:
            raise RimExpiredError(str(exc)) from exc
    return verified, min(certificate.not_valid_after_utc for certificate in in_use)
