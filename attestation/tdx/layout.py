"""The Intel TDX DCAP quote layout (quote versions 4 and 5), declared once.

A quote is a 48-byte header, then (v4) a 584-byte TD report body, or (v5) a 6-byte body descriptor
(type u16, size u32) followed by a body of type 2 (TDX 1.0, 584 bytes) or 3 (TDX 1.5, 648 bytes);
then ``sig_data_len`` (u32) and that many bytes of signature data. Bytes after the signature data are
ignored: quote buffers are often padded (the signature covers the header and body only).
"""

from typing import Final

from attestation.binary_layout import Field, check_layout

HEADER_SIZE: Final = 48
TD10_BODY_SIZE: Final = 584
TD15_BODY_SIZE: Final = 648
SUPPORTED_VERSIONS: Final = frozenset({4, 5})
TEE_TYPE_TDX: Final = 0x81
ATTESTATION_KEY_ECDSA_P256: Final = 2
BODY_TYPE_TD10: Final = 2
BODY_TYPE_TD15: Final = 3
CERT_DATA_QE_REPORT: Final = 6
CERT_DATA_PCK_CHAIN: Final = 5
# TD_ATTRIBUTES bit 0 (TUD.DEBUG): the TD runs in debug mode and the host can read its state.
TD_ATTRIBUTE_DEBUG_BIT: Final = 0

VERSION: Final = Field("version", 0, 2)
ATTESTATION_KEY_TYPE: Final = Field("att_key_type", 2, 2)
TEE_TYPE: Final = Field("tee_type", 4, 4)
QE_SVN: Final = Field("qe_svn", 8, 2)
PCE_SVN: Final = Field("pce_svn", 10, 2)
QE_VENDOR_ID: Final = Field("qe_vendor_id", 12, 16)
USER_DATA: Final = Field("user_data", 28, 20)
HEADER: Final = (VERSION, ATTESTATION_KEY_TYPE, TEE_TYPE, QE_SVN, PCE_SVN, QE_VENDOR_ID, USER_DATA)
check_layout(HEADER, HEADER_SIZE)

# The v5 body descriptor, relative to the end of the header.
BODY_TYPE: Final = Field("body_type", 0, 2)
BODY_SIZE: Final = Field("body_size", 2, 4)
DESCRIPTOR_SIZE: Final = 6

# The TD report body, relative to its start.
TEE_TCB_SVN: Final = Field("tee_tcb_svn", 0, 16)
MRSEAM: Final = Field("mrseam", 16, 48)
MRSIGNERSEAM: Final = Field("mrsignerseam", 64, 48)
SEAM_ATTRIBUTES: Final = Field("seam_attributes", 112, 8)
TD_ATTRIBUTES: Final = Field("td_attributes", 120, 8)
XFAM: Final = Field("xfam", 128, 8)
MRTD: Final = Field("mrtd", 136, 48)
MRCONFIGID: Final = Field("mrconfigid", 184, 48)
MROWNER: Final = Field("mrowner", 232, 48)
MROWNERCONFIG: Final = Field("mrownerconfig", 280, 48)
RTMR0: Final = Field("rtmr0", 328, 48)
RTMR1: Final = Field("rtmr1", 376, 48)
RTMR2: Final = Field("rtmr2", 424, 48)
RTMR3: Final = Field("rtmr3", 472, 48)
REPORT_DATA: Final = Field("report_data", 520, 64)
TEE_TCB_SVN2: Final = Field("tee_tcb_svn2", 584, 16)
MRSERVICETD: Final = Field("mrservicetd", 600, 48)
TD10_BODY: Final = (
    TEE_TCB_SVN,
    MRSEAM,
    MRSIGNERSEAM,
    SEAM_ATTRIBUTES,
    TD_ATTRIBUTES,
    XFAM,
    MRTD,
    MRCONFIGID,
    MROWNER,
    MROWNERCONFIG,
    RTMR0,
    RTMR1,
    RTMR2,
    RTMR3,
    REPORT_DATA,
)
check_layout(TD10_BODY, TD10_BODY_SIZE)
check_layout((*TD10_BODY, TEE_TCB_SVN2, MRSERVICETD), TD15_BODY_SIZE)

SIGNATURE_DATA_LENGTH: Final = Field("sig_data_len", 0, 4)

# The ECDSA-256 quote signature data, relative to its start.
QUOTE_SIGNATURE: Final = Field("quote_signature", 0, 64)
ATTESTATION_KEY: Final = Field("attestation_key", 64, 64)
CERT_DATA_TYPE: Final = Field("cert_data_type", 128, 2)
CERT_DATA_SIZE: Final = Field("cert_data_size", 130, 4)
CERT_DATA_START: Final = 134

# Certification data of type 6 (QE report certification data), relative to its start.
QE_REPORT: Final = Field("qe_report", 0, 384)
QE_REPORT_SIGNATURE: Final = Field("qe_report_signature", 384, 64)
QE_AUTH_DATA_SIZE: Final = Field("qe_auth_data_size", 448, 2)
QE_AUTH_DATA_START: Final = 450

# A nested certification data header (type u16, size u32), relative to its start.
NESTED_TYPE: Final = Field("nested_cert_data_type", 0, 2)
NESTED_SIZE: Final = Field("nested_cert_data_size", 2, 4)
NESTED_START: Final = 6
