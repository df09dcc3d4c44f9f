"""The AMD SEV-SNP ATTESTATION_REPORT layout (SEV-SNP Firmware ABI), declared once.

The report is 0x4A0 bytes, little-endian. Versions 2, 3 and 5 share one layout; later versions only
give meaning to bytes that earlier versions reserve:

* version 3 adds CPUID_FAM_ID / CPUID_MOD_ID / CPUID_STEP at 0x188 (zero in version 2);
* version 5 adds LAUNCH_MIT_VECTOR and CURRENT_MIT_VECTOR at 0x1F8 / 0x200.

The signature covers bytes ``[0, 0x2A0)``. It is ECDSA P-384 with SHA-384: R and S are 72-byte
little-endian integers (zero-padded) at 0x2A0 and 0x2E8, and the rest of the signature area is zero.
"""

from typing import Final

from attestation.binary_layout import Field, check_layout

REPORT_SIZE: Final = 0x4A0
SIGNED_SIZE: Final = 0x2A0
SUPPORTED_VERSIONS: Final = frozenset({2, 3, 5})
# The SIGNATURE_ALGO value for ECDSA P-384 with SHA-384, the only algorithm the ABI defines.
ECDSA_P384_SHA384: Final = 1

VERSION: Final = Field("VERSION", 0x000, 4)
GUEST_SVN: Final = Field("GUEST_SVN", 0x004, 4)
POLICY: Final = Field("POLICY", 0x008, 8)
FAMILY_ID: Final = Field("FAMILY_ID", 0x010, 16)
IMAGE_ID: Final = Field("IMAGE_ID", 0x020, 16)
VMPL: Final = Field("VMPL", 0x030, 4)
SIGNATURE_ALGO: Final = Field("SIGNATURE_ALGO", 0x034, 4)
CURRENT_TCB: Final = Field("CURRENT_TCB", 0x038, 8)
PLATFORM_INFO: Final = Field("PLATFORM_INFO", 0x040, 8)
SIGNER_INFO: Final = Field("SIGNER_INFO", 0x048, 4)
RESERVED_04C: Final = Field("RESERVED_04C", 0x04C, 4)
REPORT_DATA: Final = Field("REPORT_DATA", 0x050, 64)
MEASUREMENT: Final = Field("MEASUREMENT", 0x090, 48)
HOST_DATA: Final = Field("HOST_DATA", 0x0C0, 32)
ID_KEY_DIGEST: Final = Field("ID_KEY_DIGEST", 0x0E0, 48)
AUTHOR_KEY_DIGEST: Final = Field("AUTHOR_KEY_DIGEST", 0x110, 48)
REPORT_ID: Final = Field("REPORT_ID", 0x140, 32)
REPORT_ID_MA: Final = Field("REPORT_ID_MA", 0x160, 32)
REPORTED_TCB: Final = Field("REPORTED_TCB", 0x180, 8)
CPUID_FAM_ID: Final = Field("CPUID_FAM_ID", 0x188, 1, since=3)
CPUID_MOD_ID: Final = Field("CPUID_MOD_ID", 0x189, 1, since=3)
CPUID_STEP: Final = Field("CPUID_STEP", 0x18A, 1, since=3)
RESERVED_18B: Final = Field("RESERVED_18B", 0x18B, 21)
CHIP_ID: Final = Field("CHIP_ID", 0x1A0, 64)
COMMITTED_TCB: Final = Field("COMMITTED_TCB", 0x1E0, 8)
CURRENT_BUILD: Final = Field("CURRENT_BUILD", 0x1E8, 1)
CURRENT_MINOR: Final = Field("CURRENT_MINOR", 0x1E9, 1)
CURRENT_MAJOR: Final = Field("CURRENT_MAJOR", 0x1EA, 1)
RESERVED_1EB: Final = Field("RESERVED_1EB", 0x1EB, 1)
COMMITTED_BUILD: Final = Field("COMMITTED_BUILD", 0x1EC, 1)
COMMITTED_MINOR: Final = Field("COMMITTED_MINOR", 0x1ED, 1)
COMMITTED_MAJOR: Final = Field("COMMITTED_MAJOR", 0x1EE, 1)
RESERVED_1EF: Final = Field("RESERVED_1EF", 0x1EF, 1)
LAUNCH_TCB: Final = Field("LAUNCH_TCB", 0x1F0, 8)
LAUNCH_MIT_VECTOR: Final = Field("LAUNCH_MIT_VECTOR", 0x1F8, 8, since=5)
CURRENT_MIT_VECTOR: Final = Field("CURRENT_MIT_VECTOR", 0x200, 8, since=5)
RESERVED_208: Final = Field("RESERVED_208", 0x208, 0x98)
SIGNATURE_R: Final = Field("SIGNATURE_R", 0x2A0, 72)
SIGNATURE_S: Final = Field("SIGNATURE_S", 0x2E8, 72)
SIGNATURE_RESERVED: Final = Field("SIGNATURE_RESERVED", 0x330, 0x170)

FIELDS: Final = (
    VERSION,
    GUEST_SVN,
    POLICY,
    FAMILY_ID,
    IMAGE_ID,
    VMPL,
    SIGNATURE_ALGO,
    CURRENT_TCB,
    PLATFORM_INFO,
    SIGNER_INFO,
    RESERVED_04C,
    REPORT_DATA,
    MEASUREMENT,
    HOST_DATA,
    ID_KEY_DIGEST,
    AUTHOR_KEY_DIGEST,
    REPORT_ID,
    REPORT_ID_MA,
    REPORTED_TCB,
    CPUID_FAM_ID,
    CPUID_MOD_ID,
    CPUID_STEP,
    RESERVED_18B,
    CHIP_ID,
    COMMITTED_TCB,
    CURRENT_BUILD,
    CURRENT_MINOR,
    CURRENT_MAJOR,
    RESERVED_1EB,
    COMMITTED_BUILD,
    COMMITTED_MINOR,
    COMMITTED_MAJOR,
    RESERVED_1EF,
    LAUNCH_TCB,
    LAUNCH_MIT_VECTOR,
    CURRENT_MIT_VECTOR,
    RESERVED_208,
    SIGNATURE_R,
    SIGNATURE_S,
    SIGNATURE_RESERVED,
)
check_layout(FIELDS, REPORT_SIZE)


class PolicyBit:
    """Bit positions in the guest POLICY (ABI "GUEST_POLICY"); bits 0..15 are the ABI minor/major."""

    ABI_MINOR_SHIFT: Final = 0
    ABI_MAJOR_SHIFT: Final = 8
    SMT: Final = 16
    RESERVED_MUST_BE_ONE: Final = 17
    MIGRATE_MA: Final = 18
    DEBUG: Final = 19
    SINGLE_SOCKET: Final = 20
    CXL_ALLOW: Final = 21
    MEM_AES_256_XTS: Final = 22
    RAPL_DIS: Final = 23
    CIPHERTEXT_HIDING: Final = 24
    PAGE_SWAP_DISABLE: Final = 25


class SignerInfoBit:
    """Fields of SIGNER_INFO (0x48): AUTHOR_KEY_EN (bit 0), MASK_CHIP_KEY (bit 1), SIGNING_KEY (bits 4:2)."""

    AUTHOR_KEY_EN: Final = 0
    MASK_CHIP_KEY: Final = 1
    SIGNING_KEY_SHIFT: Final = 2
    SIGNING_KEY_MASK: Final = 0b111
