"""Parse an SEV-SNP attestation report into a frozen ``SnpReport`` (the parse boundary)."""

from dataclasses import dataclass
from enum import StrEnum

from attestation.binary_layout import Field
from attestation.errors import EvidenceMalformedError, UnsupportedEvidenceError
from attestation.snp import layout
from attestation.snp.layout import PolicyBit, SignerInfoBit


class SigningKey(StrEnum):
    """Which key signed the report (SIGNER_INFO.SIGNING_KEY)."""

    VCEK = "vcek"
    VLEK = "vlek"


_SIGNING_KEYS = {0: SigningKey.VCEK, 1: SigningKey.VLEK}


@dataclass(frozen=True, slots=True)
class SnpReport:
    """The fields of an attestation report, typed. Raw TCB values stay bytes until the product is known."""

    raw: bytes
    version: int
    guest_svn: int
    policy: int
    family_id: bytes
    image_id: bytes
    vmpl: int
    signature_algo: int
    current_tcb: bytes
    platform_info: int
    author_key_en: bool
    mask_chip_key: bool
    signing_key: SigningKey
    report_data: bytes
    measurement: bytes
    host_data: bytes
    id_key_digest: bytes
    author_key_digest: bytes
    report_id: bytes
    report_id_ma: bytes
    reported_tcb: bytes
    cpuid: tuple[int, int, int] | None
    chip_id: bytes
    committed_tcb: bytes
    current_firmware: tuple[int, int, int]
    committed_firmware: tuple[int, int, int]
    launch_tcb: bytes
    launch_mit_vector: int | None
    current_mit_vector: int | None
    signature_r: int
    signature_s: int

    @property
    def signed_bytes(self) -> bytes:
        """The bytes the signature covers: ``[0, 0x2A0)``."""
        return self.raw[: layout.SIGNED_SIZE]

    def policy_bit(self, bit: int) -> bool:
        """Whether ``bit`` of POLICY is set."""
        return bool(self.policy >> bit & 1)

    @property
    def debug_allowed(self) -> bool:
        """POLICY.DEBUG: the hypervisor may debug the guest (decrypt its memory)."""
        return self.policy_bit(PolicyBit.DEBUG)


def _firmware(build: Field, minor: Field, major: Field, raw: bytes) -> tuple[int, int, int]:
    return major.integer(raw), minor.integer(raw), build.integer(raw)


def parse_report(raw: bytes) -> SnpReport:
    """Parse ``raw`` (exactly 0x4A0 bytes) into an ``SnpReport``. Checks structure only, not the signature.

    Raises:
        EvidenceMalformedError: wrong size, nonzero bytes after the signature's R and S, or an
            unknown SIGNING_KEY value.
        UnsupportedEvidenceError: a report version other than 2, 3 or 5, or a signature algorithm
            other than ECDSA P-384/SHA-384.
    """
    if len(raw) != layout.REPORT_SIZE:
        raise EvidenceMalformedError(
            f"an SEV-SNP report is {layout.REPORT_SIZE} bytes, this one is {len(raw)}"
        )
    version = layout.VERSION.integer(raw)
    if version not in layout.SUPPORTED_VERSIONS:
        raise UnsupportedEvidenceError(f"SEV-SNP report version {version} is not supported (2, 3 and 5 are)")
    algorithm = layout.SIGNATURE_ALGO.integer(raw)
    if algorithm != layout.ECDSA_P384_SHA384:
        raise UnsupportedEvidenceError(f"SEV-SNP signature algorithm {algorithm} is not ECDSA P-384/SHA-384")
    if any(layout.SIGNATURE_RESERVED.read(raw)):
        raise EvidenceMalformedError("the SEV-SNP signature area past R and S is not zero")
    signer_info = layout.SIGNER_INFO.integer(raw)
    key_code = signer_info >> SignerInfoBit.SIGNING_KEY_SHIFT & SignerInfoBit.SIGNING_KEY_MASK
    signing_key = _SIGNING_KEYS.get(key_code)
    if signing_key is None:
        raise EvidenceMalformedError(f"SIGNER_INFO.SIGNING_KEY {key_code} names no key that can be verified")
    cpuid = None
    if version >= layout.CPUID_FAM_ID.since:
        cpuid = (
            layout.CPUID_FAM_ID.integer(raw),
            layout.CPUID_MOD_ID.integer(raw),
            layout.CPUID_STEP.integer(raw),
        )
    has_mitigations = version >= layout.LAUNCH_MIT_VECTOR.since
    return SnpReport(
        raw=raw,
        version=version,
        guest_svn=layout.GUEST_SVN.integer(raw),
        policy=layout.POLICY.integer(raw),
        family_id=layout.FAMILY_ID.read(raw),
        image_id=layout.IMAGE_ID.read(raw),
        vmpl=layout.VMPL.integer(raw),
        signature_algo=algorithm,
        current_tcb=layout.CURRENT_TCB.read(raw),
        platform_info=layout.PLATFORM_INFO.integer(raw),
        author_key_en=bool(signer_info >> SignerInfoBit.AUTHOR_KEY_EN & 1),
        mask_chip_key=bool(signer_info >> SignerInfoBit.MASK_CHIP_KEY & 1),
        signing_key=signing_key,
        report_data=layout.REPORT_DATA.read(raw),
        measurement=layout.MEASUREMENT.read(raw),
        host_data=layout.HOST_DATA.read(raw),
        id_key_digest=layout.ID_KEY_DIGEST.read(raw),
        author_key_digest=layout.AUTHOR_KEY_DIGEST.read(raw),
        report_id=layout.REPORT_ID.read(raw),
        report_id_ma=layout.REPORT_ID_MA.read(raw),
        reported_tcb=layout.REPORTED_TCB.read(raw),
        cpuid=cpuid,
        chip_id=layout.CHIP_ID.read(raw),
        committed_tcb=layout.COMMITTED_TCB.read(raw),
        current_firmware=_firmware(layout.CURRENT_BUILD, layout.CURRENT_MINOR, layout.CURRENT_MAJOR, raw),
        committed_firmware=_firmware(
            layout.COMMITTED_BUILD, layout.COMMITTED_MINOR, layout.COMMITTED_MAJOR, raw
        ),
        launch_tcb=layout.LAUNCH_TCB.read(raw),
        launch_mit_vector=layout.LAUNCH_MIT_VECTOR.integer(raw) if has_mitigations else None,
        current_mit_vector=layout.CURRENT_MIT_VECTOR.integer(raw) if has_mitigations else None,
        signature_r=layout.SIGNATURE_R.integer(raw),
        signature_s=layout.SIGNATURE_S.integer(raw),
    )
