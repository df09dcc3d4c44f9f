"""The Attestation Result: typed claims per device (``cpu0``, ``gpu0…gpuN``), no judgement.

Verification raises on untrustworthy Evidence; whatever reaches a result verified. Properties that a
policy should judge (debug mode, TCB level, measurement mismatches, revocation status) are claims,
not errors. The claims contract of ``policies`` is generated from these types.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from attestation.claims import claim, to_claims
from attestation.evidence import GpuArch, TeeType


class RevocationStatus(StrEnum):
    """What is known about a certificate chain's revocation (DESIGN §7)."""

    CHECKED_GOOD = "checked-good"
    CHECKED_REVOKED = "checked-revoked"
    STALE = "stale"
    NOT_CHECKED = "not-checked"


class TcbStatus(StrEnum):
    """Intel's TCB status names; ``NotApplicable`` where the TEE has no such notion (SEV-SNP)."""

    UP_TO_DATE = "UpToDate"
    SW_HARDENING_NEEDED = "SWHardeningNeeded"
    CONFIGURATION_NEEDED = "ConfigurationNeeded"
    CONFIGURATION_AND_SW_HARDENING_NEEDED = "ConfigurationAndSWHardeningNeeded"
    OUT_OF_DATE = "OutOfDate"
    OUT_OF_DATE_CONFIGURATION_NEEDED = "OutOfDateConfigurationNeeded"
    # TDX only: the platform is current, but the TD was launched on an older TDX module and kept
    # running across a TD-preserving module update, so fixes that apply at launch are missing.
    TD_RELAUNCH_ADVISED = "TDRelaunchAdvised"
    TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED = "TDRelaunchAdvisedConfigurationNeeded"
    REVOKED = "Revoked"
    NOT_APPLICABLE = "NotApplicable"


class BindingStatus(StrEnum):
    """Whether the report data / nonce was compared with the expected binding."""

    VERIFIED = "verified"
    NOT_CHECKED = "not-checked"


@dataclass(frozen=True, slots=True)
class CertChainClaims:
    """A verified certificate chain (NVIDIA's ``x-nvidia-cert-*`` names)."""

    status: str = claim("x-nvidia-cert-status", default="valid")
    ocsp_status: RevocationStatus = claim("x-nvidia-cert-ocsp-status", default=RevocationStatus.NOT_CHECKED)
    expiration_date: datetime | None = claim("x-nvidia-cert-expiration-date", default=None)
    revocation_reason: str | None = claim("x-nvidia-cert-revocation-reason", default=None)


@dataclass(frozen=True, slots=True)
class SnpTcb:
    """An SEV-SNP TCB_VERSION, decoded for the product's layout (Turin adds FMC and moves fields)."""

    raw: str
    boot_loader: int
    tee: int
    snp: int
    microcode: int
    fmc: int | None = None


@dataclass(frozen=True, slots=True)
class SnpClaims:
    """Claims of a verified AMD SEV-SNP attestation report."""

    version: int
    product: str
    signing_key: str
    guest_svn: int
    policy: int
    policy_abi_major: int
    policy_abi_minor: int
    smt_allowed: bool
    migrate_ma: bool
    debug_allowed: bool
    single_socket: bool
    vmpl: int
    measurement: str
    host_data: str
    report_data: str
    family_id: str
    image_id: str
    id_key_digest: str
    author_key_digest: str
    author_key_en: bool
    report_id: str
    report_id_ma: str
    chip_id: str
    platform_info: int
    current_tcb: SnpTcb
    reported_tcb: SnpTcb
    committed_tcb: SnpTcb
    launch_tcb: SnpTcb
    current_firmware: str
    committed_firmware: str
    cpuid: str | None = None
    mask_chip_key: bool = False
    launch_mit_vector: int | None = None
    current_mit_vector: int | None = None


@dataclass(frozen=True, slots=True)
class TdxClaims:
    """Claims of a verified Intel TDX quote (DCAP)."""

    quote_version: int
    tee_tcb_svn: str
    mrseam: str
    mrsignerseam: str
    seam_attributes: str
    td_attributes: str
    debug: bool
    xfam: str
    mrtd: str
    mrconfigid: str
    mrowner: str
    mrownerconfig: str
    rtmr0: str
    rtmr1: str
    rtmr2: str
    rtmr3: str
    report_data: str
    fmspc: str
    pce_id: str
    ppid: str
    tcb_status: TcbStatus
    advisory_ids: tuple[str, ...] = ()
    qe_tcb_status: TcbStatus = TcbStatus.UP_TO_DATE
    tcb_date: datetime | None = None
    collateral_expiration_date: datetime | None = None
    tee_tcb_svn2: str | None = None
    mrservicetd: str | None = None


@dataclass(frozen=True, slots=True)
class SimulatedCpuClaims:
    """Claims of the simulated CPU TEE (development and the demo only)."""

    measurement: str
    chip_id: str


@dataclass(frozen=True, slots=True)
class CpuClaims:
    """``cpu0``: the confidential VM. Common claims first; exactly one of snp / tdx / simulated is set."""

    tee: TeeType
    simulated: bool
    debug: bool
    measurement: str
    report_data: str
    report_data_binding: BindingStatus
    hardware_id: str
    tcb_status: TcbStatus
    cert_chain: CertChainClaims
    advisory_ids: tuple[str, ...] = ()
    snp: SnpClaims | None = None
    tdx: TdxClaims | None = None
    sim: SimulatedCpuClaims | None = None


@dataclass(frozen=True, slots=True)
class MeasurementMismatch:
    """One RIM index whose golden value(s) did not match the report (RIM indexes are 0-based)."""

    index: int
    golden_values: tuple[str, ...]
    runtime_value: str


@dataclass(frozen=True, slots=True)
class GpuClaims:
    """``gpuN``: one NVIDIA GPU in confidential-computing mode (NVIDIA v3 claim names where one exists)."""

    arch: GpuArch = claim("x-nvidia-gpu-arch")
    arch_check: bool = claim("x-nvidia-gpu-arch-check")
    simulated: bool = claim("simulated")
    hwmodel: str = claim("hwmodel")
    ueid: str = claim("ueid")
    oemid: str = claim("oemid")
    driver_version: str = claim("x-nvidia-gpu-driver-version")
    vbios_version: str = claim("x-nvidia-gpu-vbios-version")
    secboot: bool = claim("secboot")
    dbgstat: str = claim("dbgstat")
    measres: str = claim("measres")
    mismatches: tuple[MeasurementMismatch, ...] = claim("x-nvidia-mismatch-measurement-records")
    eat_nonce: str = claim("eat_nonce")
    nonce_match: bool = claim("x-nvidia-gpu-attestation-report-nonce-match")
    report_parsed: bool = claim("x-nvidia-gpu-attestation-report-parsed")
    signature_verified: bool = claim("x-nvidia-gpu-attestation-report-signature-verified")
    fwid_match: bool | None = claim("x-nvidia-gpu-attestation-report-cert-chain-fwid-match")
    cert_chain: CertChainClaims = claim("x-nvidia-gpu-attestation-report-cert-chain")
    driver_rim_id: str = claim("x-nvidia-gpu-driver-rim-id")
    driver_rim_fetched: bool = claim("x-nvidia-gpu-driver-rim-fetched")
    driver_rim_schema_validated: bool = claim("x-nvidia-gpu-driver-rim-schema-validated")
    driver_rim_signature_verified: bool = claim("x-nvidia-gpu-driver-rim-signature-verified")
    driver_rim_version_match: bool = claim("x-nvidia-gpu-driver-rim-version-match")
    driver_rim_measurements_available: bool = claim("x-nvidia-gpu-driver-rim-measurements-available")
    driver_rim_cert_chain: CertChainClaims = claim("x-nvidia-gpu-driver-rim-cert-chain")
    vbios_rim_id: str = claim("x-nvidia-gpu-vbios-rim-id")
    vbios_rim_fetched: bool = claim("x-nvidia-gpu-vbios-rim-fetched")
    vbios_rim_schema_validated: bool = claim("x-nvidia-gpu-vbios-rim-schema-validated")
    vbios_rim_signature_verified: bool = claim("x-nvidia-gpu-vbios-rim-signature-verified")
    vbios_rim_version_match: bool = claim("x-nvidia-gpu-vbios-rim-version-match")
    vbios_rim_measurements_available: bool = claim("x-nvidia-gpu-vbios-rim-measurements-available")
    vbios_rim_cert_chain: CertChainClaims = claim("x-nvidia-gpu-vbios-rim-cert-chain")
    vbios_index_no_conflict: bool = claim("x-nvidia-gpu-vbios-index-no-conflict")
    nvdec0_enabled: bool | None = claim("x-nvidia-gpu-nvdec0-enabled", default=None)


@dataclass(frozen=True, slots=True)
class AttestationResult:
    """The Verifier's output for one attestation: ``cpu0`` and ``gpu0…gpuN``, plus provenance."""

    cpu: CpuClaims
    gpus: tuple[GpuClaims, ...]
    evidence_digest: str
    verified_at: datetime
    verifier_id: str = "ccgate-verifier/v1"
    warnings: tuple[str, ...] = field(default=())

    def submods(self) -> dict[str, object]:
        """The claims per device, keyed ``cpu0``, ``gpu0``…, as JSON-ready data (EAR ``submods``)."""
        devices: dict[str, object] = {"cpu0": to_claims(self.cpu)}
        for index, gpu in enumerate(self.gpus):
            devices[f"gpu{index}"] = to_claims(gpu)
        return devices
