"""SIMULATED NVIDIA RIMs (NOT SECURITY): TCG SWID XML signed with XML-DSig, in NVIDIA's exact shape.

The document copies the structure of NVIDIA's RIMs (PROVENANCE.md, "RIM XML-DSig"): a root
``SoftwareIdentity`` declaring the SWID namespace as default and as ``ns0`` and the xmlenc#sha384
namespace as ``ns2``; ``Entity``, ``Meta`` (``colloquialVersion`` and the TCG RIM attributes in ``ns1``)
and a ``Payload`` of 64 ``Resource type="Measurement"`` entries with ``index``, ``active``,
``alternatives`` and ``ns2:Hash0..``; then, as the root's last child with no text after it, a
``ds:Signature`` with one ``Reference URI=""``, the enveloped-signature and C14N 1.1 transforms, a
SHA-384 digest, an ECDSA-SHA384 SignatureValue of 96 raw r‖s bytes, and ``KeyInfo/X509Data`` holding
the L4 signer, L3, CA and root certificates.

Canonicalisation uses lxml's inclusive C14N 1.0. It equals C14N 1.1 for these documents because
they carry no ``xml:*`` attributes (the only thing 1.1 treats differently), which ``sign_rim`` checks.
SignedInfo is canonicalised in document context, so it carries the inherited namespace declarations,
exactly as a verifier canonicalises it.
"""

import base64
import hashlib
from collections.abc import Sequence
from typing import Final
from xml.sax.saxutils import quoteattr

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from attestation.simulated.firmware import DIGEST_SIZE, GoldenMeasurement

SWID_NS: Final = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
SHA384_NS: Final = "http://www.w3.org/2001/04/xmlenc#sha384"
TCG_RIM_NS: Final = (
    "https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-model/"
)
DSIG_NS: Final = "http://www.w3.org/2000/09/xmldsig#"
C14N11: Final = "http://www.w3.org/2006/12/xml-c14n11"
ENVELOPED_SIGNATURE: Final = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
ECDSA_SHA384: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
SHA384_DIGEST: Final = "http://www.w3.org/2001/04/xmldsig-more#sha384"
XML_NS: Final = "http://www.w3.org/XML/1998/namespace"

# NVIDIA's IANA private enterprise number, which RIMs carry as the platform and firmware manufacturer id
# (the ``oemid`` claim); the manufacturer *names* below say SIMULATED.
MANUFACTURER_ID: Final = "5703"
MANUFACTURER_NAME: Final = "ccgate SIMULATED firmware (NOT NVIDIA)"
_SIGNATURE_PLACEHOLDER: Final = "<!--signature-->"


def _attr(name: str, value: str) -> str:
    return f"{name}={quoteattr(value)}"


def rim_document(
    *, tag_id: str, product: str, colloquial_version: str, measurements: Sequence[GoldenMeasurement]
) -> str:
    """The unsigned RIM text, with a placeholder comment where the Signature goes."""
    meta = " ".join(
        [
            _attr("colloquialVersion", colloquial_version),
            'edition="GPU"',
            _attr("product", product),
            'revision="r1" PayloadType="direct" ns1:BindingSpec="RIMIM" ns1:BindingSpecVersion="1.01"',
            _attr("ns1:PlatformManufacturerId", MANUFACTURER_ID),
            _attr("ns1:PlatformManufacturerStr", MANUFACTURER_NAME),
            _attr("ns1:PlatformModel", product),
            _attr("ns1:FirmwareManufacturer", MANUFACTURER_NAME),
            _attr("ns1:FirmwareManufacturerId", MANUFACTURER_ID),
        ]
    )
    resources = []
    for entry in measurements:
        hashes_ = " ".join(f'ns2:Hash{n}="{value.hex()}"' for n, value in enumerate(entry.alternatives))
        resources.append(
            f'        <ns0:Resource type="Measurement" index="{entry.index}" active="{entry.active}" '
            f'alternatives="{len(entry.alternatives)}" {hashes_} name="Measurement_{entry.index}" '
            f'size="{DIGEST_SIZE}"/>\n'
        )
    return (
        f'<SoftwareIdentity xmlns="{SWID_NS}" xmlns:ns0="{SWID_NS}" xmlns:ns2="{SHA384_NS}" '
        f'corpus="false" {_attr("name", product)} patch="false" supplemental="false" '
        f'{_attr("tagId", tag_id)} version="1.0" tagVersion="0">\n'
        f'    <ns0:Entity {_attr("name", MANUFACTURER_NAME)} role="softwareCreator tagCreator"/>\n'
        f'    <ns0:Meta xmlns:ns1="{TCG_RIM_NS}" {meta}/>\n'
        f'    <ns0:Payload xmlns:SHA384="{SHA384_NS}">\n'
        f"{''.join(resources)}"
        f"    </ns0:Payload>\n"
        f"{_SIGNATURE_PLACEHOLDER}</SoftwareIdentity>\n"
    )


def _c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=False, with_comments=False)


def _pem_body(certificate: x509.Certificate) -> str:
    # NVIDIA's X509Certificate text is the PEM body: 64-character lines, each ending with a newline.
    lines = certificate.public_bytes(Encoding.PEM).decode("ascii").splitlines(keepends=True)
    return "".join(lines[1:-1])


def _signed_info(digest: bytes) -> str:
    return (
        "<ds:SignedInfo>"
        f'<ds:CanonicalizationMethod Algorithm="{C14N11}"/>'
        f'<ds:SignatureMethod Algorithm="{ECDSA_SHA384}"/>'
        '<ds:Reference URI="">'
        f'<ds:Transforms><ds:Transform Algorithm="{ENVELOPED_SIGNATURE}"/>'
        f'<ds:Transform Algorithm="{C14N11}"/></ds:Transforms>'
        f'<ds:DigestMethod Algorithm="{SHA384_DIGEST}"/>'
        f"<ds:DigestValue>{base64.b64encode(digest).decode('ascii')}</ds:DigestValue>"
        "</ds:Reference></ds:SignedInfo>"
    )


def _signature(signed_info: str, signature_value: bytes, chain: Sequence[x509.Certificate]) -> str:
    certificates = "".join(
        f"<ds:X509Certificate>{_pem_body(certificate)}</ds:X509Certificate>" for certificate in chain
    )
    return (
        f'<ds:Signature xmlns:ds="{DSIG_NS}">{signed_info}'
        f"<ds:SignatureValue>{base64.b64encode(signature_value).decode('ascii')}</ds:SignatureValue>"
        f"<ds:KeyInfo><ds:X509Data>{certificates}</ds:X509Data></ds:KeyInfo></ds:Signature>"
    )


def _parse(text: str) -> etree._Element:
    # A parser per call: lxml parsers must not be shared between threads.
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(text.encode("utf-8"), parser)


def sign_rim(
    document: str, signer_key: ec.EllipticCurvePrivateKey, chain: Sequence[x509.Certificate]
) -> bytes:
    """Sign the text ``rim_document`` made: enveloped XML-DSig, ``chain`` = L4 signer, L3, CA, root.

    Raises:
        ValueError: the document has no signature placeholder, or carries ``xml:*`` attributes (for
            which C14N 1.0 and 1.1 differ).
    """
    if document.count(_SIGNATURE_PLACEHOLDER) != 1:
        raise ValueError("the RIM document needs exactly one signature placeholder")
    unsigned = _parse(document.replace(_SIGNATURE_PLACEHOLDER, ""))
    if any(str(name).startswith(f"{{{XML_NS}}}") for element in unsigned.iter() for name in element.attrib):
        raise ValueError("xml:* attributes would make C14N 1.0 differ from the declared C14N 1.1")
    # The enveloped-signature transform removes the Signature element (which has no text after it),
    # so the referenced content is exactly the document without it.
    signed_info = _signed_info(hashlib.sha384(_c14n(unsigned)).digest())
    skeleton = _parse(document.replace(_SIGNATURE_PLACEHOLDER, _signature(signed_info, b"", chain)))
    signed_info_element = skeleton.find(f"{{{DSIG_NS}}}Signature/{{{DSIG_NS}}}SignedInfo")
    if signed_info_element is None:  # pragma: no cover - the skeleton above always has one.
        raise ValueError("the signature skeleton has no SignedInfo")
    der = signer_key.sign(_c14n(signed_info_element), ec.ECDSA(hashes.SHA384()))
    r, s = decode_dss_signature(der)
    half = signer_key.curve.key_size // 8
    value = r.to_bytes(half, "big") + s.to_bytes(half, "big")
    return document.replace(_SIGNATURE_PLACEHOLDER, _signature(signed_info, value, chain)).encode("utf-8")
