"""An independent check of an NVIDIA RIM's XML-DSig, written from PROVENANCE.md with lxml and cryptography.

Enveloped-signature transform (the Signature element is removed, its following text kept), inclusive
C14N of the rest, SHA-384 against DigestValue; SignedInfo canonicalised inclusively *in document
context*, verified with the X509Data[0] key (ECDSA-SHA384, raw r‖s); the chain X509Data[0..2] checked
link by link up to the pinned root. It shares no code with the product's signer and also passes the
real NVIDIA RIMs, which is how we know it checks the right thing.
"""

import base64
import copy
import hashlib
import itertools
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree

DS = "http://www.w3.org/2000/09/xmldsig#"
SWID = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
SHA384 = "http://www.w3.org/2001/04/xmlenc#sha384"
NS = {"ds": DS, "swid": SWID}


class RimCheckError(Exception):
    pass


@dataclass
class Golden:
    index: int
    active: bool
    alternatives: list[bytes]


@dataclass
class CheckedRim:
    colloquial_version: str
    golden: dict[int, Golden]
    certificates: list[x509.Certificate]


def _c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=False, with_comments=False)


def parse(document: bytes) -> etree._Element:
    return etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))


def check_rim(document: bytes, root: x509.Certificate, now: datetime) -> CheckedRim:
    tree = parse(document)
    signature = tree.find("ds:Signature", NS)
    if signature is None or tree[-1] is not signature:
        raise RimCheckError("the Signature is not the root's last child")
    signed_info = signature.find("ds:SignedInfo", NS)
    assert signed_info is not None
    references = signed_info.findall("ds:Reference", NS)
    if len(references) != 1 or references[0].get("URI") != "":
        raise RimCheckError("expected exactly one Reference URI=''")
    transforms = [t.get("Algorithm") for t in references[0].findall("ds:Transforms/ds:Transform", NS)]
    if transforms != [f"{DS}enveloped-signature", "http://www.w3.org/2006/12/xml-c14n11"]:
        raise RimCheckError(f"unexpected transforms {transforms}")

    # Enveloped-signature transform: drop the Signature element, keep any text that followed it.
    unsigned = copy.deepcopy(tree)
    removed = unsigned.find("ds:Signature", NS)
    assert removed is not None
    previous = removed.getprevious()
    if removed.tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + removed.tail
        else:
            unsigned.text = (unsigned.text or "") + removed.tail
    unsigned.remove(removed)
    digest_value = base64.b64decode(references[0].findtext("ds:DigestValue", namespaces=NS) or "")
    if hashlib.sha384(_c14n(unsigned)).digest() != digest_value:
        raise RimCheckError("reference digest mismatch")

    certificates = [
        x509.load_der_x509_certificate(base64.b64decode(element.text or ""))
        for element in signature.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    ]
    raw = base64.b64decode(signature.findtext("ds:SignatureValue", namespaces=NS) or "")
    if len(raw) != 96:
        raise RimCheckError("SignatureValue is not 96 bytes")
    public_key = certificates[0].public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    der = encode_dss_signature(int.from_bytes(raw[:48], "big"), int.from_bytes(raw[48:], "big"))
    try:
        public_key.verify(der, _c14n(signed_info), ec.ECDSA(hashes.SHA384()))
    except Exception as exc:
        raise RimCheckError("SignatureValue does not verify over SignedInfo") from exc

    links = [*certificates[:3], root]
    for position, certificate in enumerate(links):
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise RimCheckError(f"RIM chain certificate {position} is not valid at {now}")
    for child, parent in itertools.pairwise(links):
        try:
            child.verify_directly_issued_by(parent)
        except Exception as exc:
            raise RimCheckError(f"{child.subject.rfc4514_string()} is not issued by the next") from exc

    meta = tree.find("swid:Meta", NS)
    assert meta is not None
    golden = {}
    for resource in tree.findall("swid:Payload/swid:Resource", NS):
        if resource.get("type") != "Measurement":
            continue
        count = int(resource.get("alternatives", "0"))
        values = [bytes.fromhex(resource.get(f"{{{SHA384}}}Hash{n}", "")) for n in range(count)]
        index = int(resource.get("index", "-1"))
        golden[index] = Golden(index, resource.get("active") == "True", values)
    return CheckedRim(meta.get("colloquialVersion", ""), golden, certificates)
