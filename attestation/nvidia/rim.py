"""NVIDIA RIMs (TCG reference integrity manifests as ISO SWID tags): parsing and golden values.

A RIM is an XML ``SoftwareIdentity`` whose ``Meta`` names the firmware version it describes
(``colloquialVersion``) and whose ``Payload`` lists one ``Resource type="Measurement"`` per index:
``index`` (0-based), ``active``, ``alternatives`` (k) and the k acceptable SHA-384 values
``Hash0..Hash{k-1}``. All-zero golden values are real values, matched by all-zero blocks.

XML is parsed without entity resolution and without network access; documents with a DOCTYPE or
with ``xml:*`` attributes are refused (the latter because C14N 1.0 and 1.1 differ on them, see
``rim_signature``). The parse checks the structure ccgate relies on, which is what the
``*-rim-schema-validated`` claims mean here (ccgate does not ship the ISO SWID XSD).
"""

from dataclasses import dataclass, field

from lxml import etree

from attestation.nvidia.errors import RimMalformedError

SWID_NS = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
TCG_RIM_NS = (
    "https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-model/"
)
SHA384_NS = "http://www.w3.org/2001/04/xmlenc#sha384"
XML_NS = "http://www.w3.org/XML/1998/namespace"
MAX_RIM_SIZE = 1 << 20


@dataclass(frozen=True, slots=True)
class GoldenMeasurement:
    """The acceptable values of one RIM index (0-based; SPDM block ``index + 1``)."""

    index: int
    active: bool
    values: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class RimDocument:
    """The parts of a RIM the Verifier uses."""

    tag_id: str
    colloquial_version: str
    product: str
    manufacturer_id: str
    measurements: tuple[GoldenMeasurement, ...]
    # Derived once: a cached RIM is compared with every report of its GPUs.
    _active: tuple[GoldenMeasurement, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        active = tuple(measurement for measurement in self.measurements if measurement.active)
        object.__setattr__(self, "_active", active)

    @property
    def active(self) -> tuple[GoldenMeasurement, ...]:
        """The measurements the RIM asks to compare."""
        return self._active


def parse_rim_xml(document: bytes) -> "etree._Element":
    """Parse a RIM's XML safely: no entities, no network, no DOCTYPE, no ``xml:*`` attributes.

    Raises:
        RimMalformedError: the bytes are not such a document.
    """
    if len(document) > MAX_RIM_SIZE:
        raise RimMalformedError(f"the RIM is {len(document)} bytes, more than {MAX_RIM_SIZE}")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(document, parser)
    except etree.XMLSyntaxError as exc:
        raise RimMalformedError(f"the RIM is not well-formed XML: {exc}") from exc
    # lxml-stubs do not declare DocInfo.doctype; it is "" when the document has no DOCTYPE.
    if getattr(root.getroottree().docinfo, "doctype", ""):
        raise RimMalformedError("the RIM declares a DOCTYPE, which ccgate refuses")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if any(str(name).startswith(f"{{{XML_NS}}}") for name in element.attrib):
            raise RimMalformedError("the RIM carries xml:* attributes, which ccgate refuses")
    if root.tag != f"{{{SWID_NS}}}SoftwareIdentity":
        raise RimMalformedError(f"the RIM's root is {root.tag}, not a SWID SoftwareIdentity")
    return root


def _single(parent: "etree._Element", tag: str) -> "etree._Element":
    found = parent.findall(f"{{{SWID_NS}}}{tag}")
    if len(found) != 1:
        raise RimMalformedError(f"the RIM has {len(found)} {tag} elements, expected 1")
    return found[0]


def _attribute(element: "etree._Element", name: str) -> str:
    value = element.get(name)
    if value is None:
        raise RimMalformedError(f"a RIM {etree.QName(element).localname} has no {name} attribute")
    return value


def _number(element: "etree._Element", name: str, minimum: int) -> int:
    text = _attribute(element, name)
    if not text.isdigit() or int(text) < minimum:
        raise RimMalformedError(f"RIM attribute {name}={text!r} is not an integer ≥ {minimum}")
    return int(text)


def _measurement(resource: "etree._Element") -> GoldenMeasurement:
    index = _number(resource, "index", 0)
    active_text = _attribute(resource, "active").lower()
    if active_text not in {"true", "false"}:
        raise RimMalformedError(f"RIM index {index}: active={active_text!r} is not a boolean")
    alternatives = _number(resource, "alternatives", 1)
    size = _number(resource, "size", 1)
    values = []
    for alternative in range(alternatives):
        text = _attribute(resource, f"{{{SHA384_NS}}}Hash{alternative}")
        try:
            value = bytes.fromhex(text)
        except ValueError as exc:
            raise RimMalformedError(f"RIM index {index}: Hash{alternative} is not hex") from exc
        if len(value) != size:
            raise RimMalformedError(f"RIM index {index}: Hash{alternative} is not {size} bytes")
        values.append(value)
    return GoldenMeasurement(index, active_text == "true", tuple(values))


def read_rim(root: "etree._Element") -> RimDocument:
    """The version, manufacturer and golden measurements of a parsed RIM.

    Raises:
        RimMalformedError: a required element or attribute is missing or malformed, or an index repeats.
    """
    meta = _single(root, "Meta")
    payload = _single(root, "Payload")
    measurements = tuple(
        _measurement(resource)
        for resource in payload.findall(f"{{{SWID_NS}}}Resource")
        if resource.get("type") == "Measurement"
    )
    indexes = [measurement.index for measurement in measurements]
    if not measurements or len(set(indexes)) != len(indexes):
        raise RimMalformedError("the RIM's measurement indexes are missing or repeated")
    return RimDocument(
        tag_id=_attribute(root, "tagId"),
        colloquial_version=_attribute(meta, "colloquialVersion"),
        product=meta.get("product", ""),
        manufacturer_id=meta.get(f"{{{TCG_RIM_NS}}}FirmwareManufacturerId", ""),
        measurements=measurements,
    )


def peek_colloquial_version(document: bytes) -> str:
    """The ``colloquialVersion`` a RIM declares, read WITHOUT verifying anything (to file it by id).

    Raises:
        RimMalformedError: the document does not parse or has no version.
    """
    return _attribute(_single(parse_rim_xml(document), "Meta"), "colloquialVersion")
