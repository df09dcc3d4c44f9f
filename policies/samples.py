"""Realistic sample inputs: for benchmarks, tests, documentation and ``ccgate policy sample-input``.

The values follow real Evidence where we have it (``../shared/testvectors``): the SEV-SNP claims are
those of the Milan report in ``snp/milan-v2-trustee`` (REPORTED_TCB boot loader 3, TEE 0, SNP 8,
microcode 115; POLICY 0x3001f; VMPL 0); the GPU claims are those NVIDIA's NRAS returned for the
Hopper report in ``nvidia/nras-eat-nvat`` (hwmodel, OEM id, VBIOS ``96.00.9F.00.01``), with a newer
driver from the 550 branch. Digests and identifiers are derived from labels, so samples are
deterministic. Everything here describes a node the bundled production baseline allows, given a
``runner-measurements`` set that holds ``sample_measurements()``.
"""

import hashlib
from datetime import UTC, datetime, timedelta

from attestation.evidence import GpuArch, TeeType
from attestation.result import (
    AttestationResult,
    BindingStatus,
    CertChainClaims,
    CpuClaims,
    GpuClaims,
    RevocationStatus,
    SimulatedCpuClaims,
    SnpClaims,
    SnpTcb,
    TcbStatus,
    TdxClaims,
)
from policies.documents import parse_document
from policies.reference_values import ReferenceSet
from policies.request import (
    ArtefactContext,
    ArtefactKind,
    JobContext,
    KycStatus,
    NodeContext,
    PolicyInput,
    ProviderContext,
    RegisteredHardware,
    ReleaseContext,
    ReleaseCounter,
    SessionContext,
    TenantContext,
)

SAMPLE_NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
SAMPLE_DRIVER_VERSION = "550.127.05"
SAMPLE_VBIOS_VERSION = "96.00.9F.00.01"


def _hex(label: str, size: int) -> str:
    """A deterministic hex string of ``size`` bytes derived from ``label``."""
    digest = b""
    counter = 0
    while len(digest) < size:
        digest += hashlib.sha512(f"ccgate/sample/{label}/{counter}".encode()).digest()
        counter += 1
    return digest[:size].hex()


def _good_chain(expires: datetime) -> CertChainClaims:
    return CertChainClaims("valid", RevocationStatus.CHECKED_GOOD, expires, None)


def _tcb(raw: str, boot_loader: int, tee: int, snp: int, microcode: int) -> SnpTcb:
    return SnpTcb(raw=raw, boot_loader=boot_loader, tee=tee, snp=snp, microcode=microcode)


def _snp_claims() -> SnpClaims:
    reported = _tcb("7308000000000003", 3, 0, 8, 115)
    return SnpClaims(
        version=2,
        product="Milan",
        signing_key="vcek",
        guest_svn=4,
        policy=0x3001F,
        policy_abi_major=0,
        policy_abi_minor=31,
        smt_allowed=True,
        migrate_ma=False,
        debug_allowed=False,
        single_socket=False,
        vmpl=0,
        measurement=_hex("snp-measurement", 48),
        host_data=_hex("snp-host-data", 32),
        report_data=_hex("report-data", 64),
        family_id=_hex("snp-family", 16),
        image_id=_hex("snp-image", 16),
        id_key_digest=_hex("snp-id-key", 48),
        author_key_digest=_hex("snp-author-key", 48),
        author_key_en=False,
        report_id=_hex("snp-report-id", 32),
        report_id_ma="ff" * 32,
        chip_id=_hex("snp-chip-id", 64),
        platform_info=1,
        current_tcb=_tcb("ce08000000000003", 3, 0, 8, 206),
        reported_tcb=reported,
        committed_tcb=reported,
        launch_tcb=reported,
        current_firmware="1.55.21",
        committed_firmware="1.55.21",
        cpuid="00a00f11",
        launch_mit_vector=0,
        current_mit_vector=0,
    )


def _tdx_claims(now: datetime) -> TdxClaims:
    return TdxClaims(
        quote_version=4,
        tee_tcb_svn="0b010400000000000000000000000000",
        mrseam=_hex("tdx-mrseam", 48),
        mrsignerseam="00" * 48,
        seam_attributes="00" * 8,
        td_attributes="0000001000000000",
        debug=False,
        xfam="e702060000000000",
        mrtd=_hex("tdx-mrtd", 48),
        mrconfigid="00" * 48,
        mrowner="00" * 48,
        mrownerconfig="00" * 48,
        rtmr0=_hex("tdx-rtmr0", 48),
        rtmr1=_hex("tdx-rtmr1", 48),
        rtmr2=_hex("tdx-rtmr2", 48),
        rtmr3="00" * 48,
        report_data=_hex("report-data", 64),
        fmspc="50806f000000",
        pce_id="0000",
        ppid=_hex("tdx-ppid", 16),
        tcb_status=TcbStatus.UP_TO_DATE,
        advisory_ids=(),
        qe_tcb_status=TcbStatus.UP_TO_DATE,
        tcb_date=datetime(2024, 11, 13, tzinfo=UTC),
        collateral_expiration_date=now + timedelta(days=20),
    )


def sample_cpu(tee: TeeType, now: datetime = SAMPLE_NOW) -> CpuClaims:
    """``cpu0`` of a healthy node of the given TEE type (the simulated one is, by design, simulated)."""
    chain = _good_chain(datetime(2029, 9, 24, tzinfo=UTC))
    if tee is TeeType.SNP:
        snp = _snp_claims()
        return CpuClaims(
            tee, False, False, snp.measurement, snp.report_data, BindingStatus.VERIFIED, snp.chip_id,
            TcbStatus.NOT_APPLICABLE, chain, snp=snp,
        )  # fmt: skip
    if tee is TeeType.TDX:
        tdx = _tdx_claims(now)
        return CpuClaims(
            tee, False, False, tdx.mrtd, tdx.report_data, BindingStatus.VERIFIED, tdx.ppid,
            tdx.tcb_status, chain, tdx=tdx,
        )  # fmt: skip
    sim = SimulatedCpuClaims(_hex("sim-measurement", 48), _hex("sim-chip", 32))
    return CpuClaims(
        tee, True, False, sim.measurement, _hex("report-data", 64), BindingStatus.VERIFIED, sim.chip_id,
        TcbStatus.NOT_APPLICABLE, chain, sim=sim,
    )  # fmt: skip


def sample_gpu(index: int, *, simulated: bool = False) -> GpuClaims:
    """``gpuN`` of a healthy Hopper GPU in confidential-computing mode."""
    rim_chain = _good_chain(datetime(2027, 4, 30, 23, 59, 59, tzinfo=UTC))
    return GpuClaims(
        arch=GpuArch.HOPPER,
        arch_check=True,
        simulated=simulated,
        hwmodel="GH100 A01 GSP BROM",
        ueid=str(int(_hex(f"gpu-ueid-{index}", 20), 16)),
        oemid="5703",
        driver_version=SAMPLE_DRIVER_VERSION,
        vbios_version=SAMPLE_VBIOS_VERSION,
        secboot=True,
        dbgstat="disabled",
        measres="success",
        mismatches=(),
        eat_nonce=_hex("gpu-nonce", 32),
        nonce_match=True,
        report_parsed=True,
        signature_verified=True,
        fwid_match=True,
        cert_chain=_good_chain(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        driver_rim_id=f"NV_GPU_DRIVER_GH100_{SAMPLE_DRIVER_VERSION}",
        driver_rim_fetched=True,
        driver_rim_schema_validated=True,
        driver_rim_signature_verified=True,
        driver_rim_version_match=True,
        driver_rim_measurements_available=True,
        driver_rim_cert_chain=rim_chain,
        vbios_rim_id="NV_GPU_VBIOS_1010_0200_882_96009F0001",
        vbios_rim_fetched=True,
        vbios_rim_schema_validated=True,
        vbios_rim_signature_verified=True,
        vbios_rim_version_match=True,
        vbios_rim_measurements_available=True,
        vbios_rim_cert_chain=rim_chain,
        vbios_index_no_conflict=True,
        nvdec0_enabled=False,
    )


def sample_result(
    now: datetime = SAMPLE_NOW, *, tee: TeeType = TeeType.SNP, gpus: int = 8
) -> AttestationResult:
    """An Attestation Result for a healthy node with ``gpus`` GPUs."""
    simulated = tee is TeeType.SIMULATED
    return AttestationResult(
        cpu=sample_cpu(tee, now),
        gpus=tuple(sample_gpu(index, simulated=simulated) for index in range(gpus)),
        evidence_digest=_hex("evidence", 32),
        verified_at=now - timedelta(seconds=1),
    )


def sample_context(now: datetime = SAMPLE_NOW) -> ReleaseContext:
    """The context of a release that every bundled baseline allows."""
    return ReleaseContext(
        artefact=ArtefactContext("ds-patients-eu", ArtefactKind.DATASET, ("pii", "health")),
        job=JobContext("job-0001", _hex("manifest", 32), "fine-tuning"),
        node=NodeContext("node-eu-1", "eu-west-1", RegisteredHardware(True, True, True)),
        provider=ProviderContext("provider-acme", KycStatus.APPROVED),
        tenant=TenantContext("tenant-example"),
        release=ReleaseCounter(count=2, maximum=10),
        session=SessionContext("session-0001", now - timedelta(seconds=30)),
    )


def sample_input(now: datetime = SAMPLE_NOW, *, tee: TeeType = TeeType.SNP, gpus: int = 8) -> PolicyInput:
    """A complete policy input: a healthy node of ``tee`` with ``gpus`` GPUs, and its release context."""
    return PolicyInput(sample_result(now, tee=tee, gpus=gpus), sample_context(now), now)


def sample_measurements() -> tuple[str, ...]:
    """The runner measurements (``cpu0.measurement``) the samples carry, one per TEE type."""
    return tuple(sample_cpu(tee).measurement for tee in TeeType)


def sample_runner_measurements() -> ReferenceSet:
    """A ``runner-measurements`` set that allows the sample runners, parsed from a real document.

    It is built as a document (not by editing the bundled set in memory) so that its digest is
    the digest of what it holds, as every Decision that records it claims.

    Raises:
        TypeError: the generated document is not a reference set (cannot happen; guarded anyway).
    """
    values = ", ".join(sample_measurements())
    document = (
        "apiVersion: ccgate/v1\nkind: ReferenceValues\n"
        "metadata: {name: runner-measurements, version: 1, description: The sample runners.}\n"
        f"spec: {{type: strings, values: [{values}]}}\n"
    )
    parsed = parse_document(document.encode(), "<sample runner-measurements>")
    if not isinstance(parsed, ReferenceSet):  # pragma: no cover - the document above is a set.
        raise TypeError("the sample runner set did not parse as a reference set")
    return parsed
