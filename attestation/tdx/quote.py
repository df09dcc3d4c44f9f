"""Parse a TDX DCAP quote (v4/v5) into a frozen ``TdxQuote``: the structure checks dcap-qvl leaves implicit.

dcap-qvl parses and verifies the quote as well; this parser exists so that the claims, the debug
attribute, the report data and the PCK chain come from one declared layout with typed errors, and so
that structure problems (unknown version, wrong TEE type, lengths past the end) get stable codes
before the verification engine runs.
"""

from dataclasses import dataclass

from attestation.errors import EvidenceMalformedError, UnsupportedEvidenceError
from attestation.tdx import layout


@dataclass(frozen=True, slots=True)
class TdReportBody:
    """The TD report body fields (TDX 1.0; the 1.5 fields are None on a 1.0 body)."""

    tee_tcb_svn: bytes
    mrseam: bytes
    mrsignerseam: bytes
    seam_attributes: bytes
    td_attributes: bytes
    xfam: bytes
    mrtd: bytes
    mrconfigid: bytes
    mrowner: bytes
    mrownerconfig: bytes
    rtmr0: bytes
    rtmr1: bytes
    rtmr2: bytes
    rtmr3: bytes
    report_data: bytes
    tee_tcb_svn2: bytes | None
    mrservicetd: bytes | None

    @property
    def debug(self) -> bool:
        """TD_ATTRIBUTES.TUD.DEBUG (bit 0 of the little-endian attributes)."""
        return bool(int.from_bytes(self.td_attributes, "little") >> layout.TD_ATTRIBUTE_DEBUG_BIT & 1)


@dataclass(frozen=True, slots=True)
class TdxQuote:
    """A structurally valid TDX quote; signatures are checked by the Verifier, not here."""

    version: int
    body_type: int
    qe_vendor_id: bytes
    body: TdReportBody
    signed_size: int
    qe_report: bytes
    qe_auth_data: bytes
    pck_chain_pem: bytes


def _body(data: bytes, start: int, size: int) -> TdReportBody:
    extended = size == layout.TD15_BODY_SIZE
    fields = {field.name: field.read(data, start) for field in layout.TD10_BODY}
    return TdReportBody(
        **fields,
        tee_tcb_svn2=layout.TEE_TCB_SVN2.read(data, start) if extended else None,
        mrservicetd=layout.MRSERVICETD.read(data, start) if extended else None,
    )


def _slice(data: bytes, start: int, size: int, what: str) -> bytes:
    if start + size > len(data):
        raise EvidenceMalformedError(f"{what}: {size} bytes at {start} run past the end ({len(data)} bytes)")
    return data[start : start + size]


def _pck_chain(cert_data: bytes) -> tuple[bytes, bytes, bytes]:
    """Split type-6 certification data into (QE report, QE auth data, PEM chain)."""
    qe_report = layout.QE_REPORT.read(cert_data)
    auth_size = layout.QE_AUTH_DATA_SIZE.integer(cert_data)
    auth = _slice(cert_data, layout.QE_AUTH_DATA_START, auth_size, "QE auth data")
    nested = layout.QE_AUTH_DATA_START + auth_size
    nested_type = layout.NESTED_TYPE.integer(cert_data, nested)
    if nested_type != layout.CERT_DATA_PCK_CHAIN:
        raise UnsupportedEvidenceError(
            f"certification data type {nested_type} is not supported (5, the PCK chain, is)"
        )
    size = layout.NESTED_SIZE.integer(cert_data, nested)
    chain = _slice(cert_data, nested + layout.NESTED_START, size, "PCK certificate chain")
    return qe_report, auth, chain


def parse_quote(data: bytes) -> TdxQuote:
    """Parse a TDX quote. Trailing bytes after the signature data are allowed and ignored.

    Raises:
        EvidenceMalformedError: a length runs past the end, or a v5 body size disagrees with its type.
        UnsupportedEvidenceError: not a v4/v5 TDX quote with an ECDSA P-256 attestation key and
            QE-report certification data holding a PCK chain.
    """
    header = _slice(data, 0, layout.HEADER_SIZE, "quote header")
    version = layout.VERSION.integer(header)
    if version not in layout.SUPPORTED_VERSIONS:
        raise UnsupportedEvidenceError(f"TDX quote version {version} is not supported (4 and 5 are)")
    tee_type = layout.TEE_TYPE.integer(header)
    if tee_type != layout.TEE_TYPE_TDX:
        raise UnsupportedEvidenceError(f"TEE type {tee_type:#x} is not TDX (0x81)")
    key_type = layout.ATTESTATION_KEY_TYPE.integer(header)
    if key_type != layout.ATTESTATION_KEY_ECDSA_P256:
        raise UnsupportedEvidenceError(f"attestation key type {key_type} is not ECDSA P-256 (2)")
    body_start, body_type, body_size = layout.HEADER_SIZE, layout.BODY_TYPE_TD10, layout.TD10_BODY_SIZE
    if version == 5:
        descriptor = _slice(data, layout.HEADER_SIZE, layout.DESCRIPTOR_SIZE, "v5 body descriptor")
        body_type = layout.BODY_TYPE.integer(descriptor)
        body_size = layout.BODY_SIZE.integer(descriptor)
        expected = {
            layout.BODY_TYPE_TD10: layout.TD10_BODY_SIZE,
            layout.BODY_TYPE_TD15: layout.TD15_BODY_SIZE,
        }
        if body_type not in expected:
            raise UnsupportedEvidenceError(f"v5 body type {body_type} is not supported (2 and 3 are)")
        if body_size != expected[body_type]:
            raise EvidenceMalformedError(
                f"v5 body type {body_type} must be {expected[body_type]} bytes, not {body_size}"
            )
        body_start += layout.DESCRIPTOR_SIZE
    body = _body(_slice(data, 0, body_start + body_size, "TD report body"), body_start, body_size)
    signed_size = body_start + body_size
    signature_length = layout.SIGNATURE_DATA_LENGTH.integer(_slice(data, signed_size, 4, "sig_data_len"))
    signature_data = _slice(data, signed_size + 4, signature_length, "signature data")
    cert_type = layout.CERT_DATA_TYPE.integer(signature_data)
    if cert_type != layout.CERT_DATA_QE_REPORT:
        raise UnsupportedEvidenceError(f"certification data type {cert_type} is not supported (6 is)")
    cert_size = layout.CERT_DATA_SIZE.integer(signature_data)
    cert_data = _slice(signature_data, layout.CERT_DATA_START, cert_size, "certification data")
    qe_report, auth, chain = _pck_chain(cert_data)
    return TdxQuote(
        version=version,
        body_type=body_type,
        qe_vendor_id=layout.QE_VENDOR_ID.read(header),
        body=body,
        signed_size=signed_size,
        qe_report=qe_report,
        qe_auth_data=auth,
        pck_chain_pem=chain,
    )
