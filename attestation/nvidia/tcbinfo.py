"""The TCG DICE TcbInfo certificate extension, as NVIDIA Blackwell device certificates carry it.

Declared once, as an ASN.1 schema (TCG "DICE Attestation Architecture" §6.1.1)::

    DiceTcbInfo ::= SEQUENCE {
        vendor [0] IMPLICIT UTF8String OPTIONAL, model [1] IMPLICIT UTF8String OPTIONAL,
        version [2] IMPLICIT UTF8String OPTIONAL, svn [3] IMPLICIT INTEGER OPTIONAL,
        layer [4] IMPLICIT INTEGER OPTIONAL, index [5] IMPLICIT INTEGER OPTIONAL,
        fwids [6] IMPLICIT FWIDLIST OPTIONAL, flags [7] IMPLICIT OperationalFlags OPTIONAL,
        vendorInfo [8] IMPLICIT OCTET STRING OPTIONAL, type [9] IMPLICIT OCTET STRING OPTIONAL }
    FWIDLIST ::= SEQUENCE SIZE (1..MAX) OF FWID
    FWID ::= SEQUENCE { hashAlg OBJECT IDENTIFIER, digest OCTET STRING }
"""

from pyasn1.codec.der import decoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import char, namedtype, tag, univ

from attestation.errors import EvidenceMalformedError


def _context(number: int, constructed: bool = False) -> tag.Tag:
    form = tag.tagFormatConstructed if constructed else tag.tagFormatSimple
    return tag.Tag(tag.tagClassContext, form, number)


class Fwid(univ.Sequence):
    """One firmware id: a hash algorithm and a digest."""

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("hashAlg", univ.ObjectIdentifier()),
        namedtype.NamedType("digest", univ.OctetString()),
    )


class FwidList(univ.SequenceOf):
    """The list of firmware ids of one DICE layer."""

    componentType = Fwid()


class DiceTcbInfo(univ.Sequence):
    """The DICE TcbInfo extension (OID 2.23.133.5.4.1, NVIDIA Blackwell uses 2.23.133.5.4.1.1)."""

    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType("vendor", char.UTF8String().subtype(implicitTag=_context(0))),
        namedtype.OptionalNamedType("model", char.UTF8String().subtype(implicitTag=_context(1))),
        namedtype.OptionalNamedType("version", char.UTF8String().subtype(implicitTag=_context(2))),
        namedtype.OptionalNamedType("svn", univ.Integer().subtype(implicitTag=_context(3))),
        namedtype.OptionalNamedType("layer", univ.Integer().subtype(implicitTag=_context(4))),
        namedtype.OptionalNamedType("index", univ.Integer().subtype(implicitTag=_context(5))),
        namedtype.OptionalNamedType("fwids", FwidList().subtype(implicitTag=_context(6, constructed=True))),
        namedtype.OptionalNamedType("flags", univ.BitString().subtype(implicitTag=_context(7))),
        namedtype.OptionalNamedType("vendorInfo", univ.OctetString().subtype(implicitTag=_context(8))),
        namedtype.OptionalNamedType("type", univ.OctetString().subtype(implicitTag=_context(9))),
    )


def tcb_info_fwids(der: bytes) -> tuple[bytes, ...]:
    """The firmware id digests of a DER-encoded DiceTcbInfo, in order.

    Raises:
        EvidenceMalformedError: the bytes are not one DER DiceTcbInfo, or it has no FWID.
    """
    try:
        decoded, rest = decoder.decode(der, asn1Spec=DiceTcbInfo())
    except PyAsn1Error as exc:
        raise EvidenceMalformedError(f"the DICE TcbInfo extension does not parse: {exc}") from exc
    if rest:
        raise EvidenceMalformedError(f"{len(rest)} bytes follow the DICE TcbInfo extension")
    fwids = decoded["fwids"]
    if not fwids.isValue or len(fwids) == 0:
        raise EvidenceMalformedError("the DICE TcbInfo extension lists no FWID")
    return tuple(bytes(fwid["digest"]) for fwid in fwids)
