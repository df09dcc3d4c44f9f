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

from typing import TypeVar

from pyasn1.codec.der import decoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import char, namedtype, tag, univ

from attestation.errors import EvidenceMalformedError

T = TypeVar("T")


def _implicit(asn1_type: T, number: int, *, constructed: bool = False) -> T:
    """``asn1_type`` re-tagged with the IMPLICIT context tag ``[number]``."""
    form = tag.tagFormatConstructed if constructed else tag.tagFormatSimple
    context_tag = tag.Tag(tag.tagClassContext, form, number)
    tagged: T = asn1_type.subtype(implicitTag=context_tag)  # type: ignore[attr-defined]  # pyasn1 types all have subtype(); T cannot say so.
    return tagged


class Fwid(univ.Sequence):
    """One firmware id: a hash algorithm and a digest."""

    # pyasn1 reads the schema from this exact attribute name.
    componentType = namedtype.NamedTypes(  # noqa: N815
        namedtype.NamedType("hashAlg", univ.ObjectIdentifier()),
        namedtype.NamedType("digest", univ.OctetString()),
    )


class FwidList(univ.SequenceOf):
    """The list of firmware ids of one DICE layer."""

    # pyasn1 reads the schema from this exact attribute name.
    componentType = Fwid()  # noqa: N815


class DiceTcbInfo(univ.Sequence):
    """The DICE TcbInfo extension (OID 2.23.133.5.4.1, NVIDIA Blackwell uses 2.23.133.5.4.1.1)."""

    # pyasn1 reads the schema from this exact attribute name.
    componentType = namedtype.NamedTypes(  # noqa: N815
        namedtype.OptionalNamedType("vendor", _implicit(char.UTF8String(), 0)),
        namedtype.OptionalNamedType("model", _implicit(char.UTF8String(), 1)),
        namedtype.OptionalNamedType("version", _implicit(char.UTF8String(), 2)),
        namedtype.OptionalNamedType("svn", _implicit(univ.Integer(), 3)),
        namedtype.OptionalNamedType("layer", _implicit(univ.Integer(), 4)),
        namedtype.OptionalNamedType("index", _implicit(univ.Integer(), 5)),
        namedtype.OptionalNamedType("fwids", _implicit(FwidList(), 6, constructed=True)),
        namedtype.OptionalNamedType("flags", _implicit(univ.BitString(), 7)),
        namedtype.OptionalNamedType("vendorInfo", _implicit(univ.OctetString(), 8)),
        namedtype.OptionalNamedType("type", _implicit(univ.OctetString(), 9)),
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
