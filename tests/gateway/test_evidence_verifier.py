"""The gateway Verifier dispatch: simulated nodes under explicit simulated trust, real SNP from the store."""

import dataclasses
import os
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest

from attestation.errors import (
    CollateralMissingError,
    EvidenceMalformedError,
    NonceMismatchError,
    ReportDataMismatchError,
    SimulatedEvidenceRefusedError,
)
from attestation.evidence import CpuEvidence, EvidenceBundle, GpuArch, GpuEvidence, TeeType
from attestation.nvidia.errors import RimMissingError
from attestation.simulated.roots import SimulatedTeeWarning
from enclave_runner.protocol.binding import gpu_nonce
from enclave_runner.protocol.simulated.gpu import SimulatedGpu
from gateway.collateral.importer import import_collateral
from gateway.collateral.store import CollateralStore
from gateway.evidence_verifier import SimulationTrust, StoreEvidenceVerifier
from gateway.simulation import SimulatedSite, create_simulated_site
from tests.conftest import vector_dir

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def site() -> SimulatedSite:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SimulatedTeeWarning)
        return create_simulated_site(NOW, gpus=3)


def _bundle(site: SimulatedSite, report_data: bytes, nonce: bytes | None = None) -> EvidenceBundle:
    cpu = site.node.cpu.collect(report_data)
    gpus = tuple(
        GpuEvidence(GpuArch.HOPPER, *gpu.collect(nonce or gpu_nonce(report_data))) for gpu in site.node.gpus
    )
    return EvidenceBundle(CpuEvidence(TeeType.SIMULATED, cpu.report, cpu.certificates), gpus)


def _simulating(site: SimulatedSite, tmp_path: Path) -> StoreEvidenceVerifier:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SimulatedTeeWarning)
        trust = SimulationTrust.from_site(site.roots, site.rims)
    return StoreEvidenceVerifier(CollateralStore(tmp_path), simulation=trust)


def test_a_simulated_node_verifies_through_the_real_gpu_verifier(site: SimulatedSite, tmp_path: Path) -> None:
    report_data = os.urandom(64)
    result = _simulating(site, tmp_path).verify(
        _bundle(site, report_data), expected_report_data=report_data, now=NOW
    )
    assert result.cpu.simulated
    assert len(result.gpus) == 3
    assert all(gpu.simulated and gpu.measres == "success" for gpu in result.gpus)
    assert [gpu.ueid for gpu in result.gpus] == list(site.gpu_ueids)


def test_simulated_evidence_is_refused_without_simulation(site: SimulatedSite, tmp_path: Path) -> None:
    report_data = os.urandom(64)
    with pytest.raises(SimulatedEvidenceRefusedError):
        StoreEvidenceVerifier(CollateralStore(tmp_path)).verify(
            _bundle(site, report_data), expected_report_data=report_data, now=NOW
        )


def test_cpu_evidence_bound_to_other_report_data_is_refused(site: SimulatedSite, tmp_path: Path) -> None:
    with pytest.raises(ReportDataMismatchError):
        _simulating(site, tmp_path).verify(
            _bundle(site, os.urandom(64)), expected_report_data=os.urandom(64), now=NOW
        )


def test_gpu_evidence_with_the_cpu_nonce_is_refused(site: SimulatedSite, tmp_path: Path) -> None:
    report_data = os.urandom(64)
    bundle = _bundle(site, report_data, nonce=report_data[:32])
    with pytest.raises(NonceMismatchError):
        _simulating(site, tmp_path).verify(bundle, expected_report_data=report_data, now=NOW)


def test_real_snp_evidence_uses_the_store(tmp_path: Path) -> None:
    snp = vector_dir("snp")
    store = CollateralStore(tmp_path / "store")
    import_collateral(store, snp / "roots", now=NOW)
    report = (snp / "milan-v2-trustee" / "report.bin").read_bytes()
    vcek = (snp / "milan-v2-trustee" / "vcek.der").read_bytes()
    bound = report[0x50:0x90]
    bundle = EvidenceBundle(CpuEvidence(TeeType.SNP, report, vcek))
    result = StoreEvidenceVerifier(store).verify(bundle, expected_report_data=bound, now=NOW)
    assert result.cpu.tee is TeeType.SNP
    assert result.cpu.snp is not None
    assert result.cpu.snp.product == "Milan"


def test_real_gpu_evidence_needs_nvidia_roots_in_the_store(tmp_path: Path) -> None:
    snp = vector_dir("snp")
    store = CollateralStore(tmp_path / "store")
    import_collateral(store, snp / "roots", now=NOW)
    report = (snp / "milan-v2-trustee" / "report.bin").read_bytes()
    vcek = (snp / "milan-v2-trustee" / "vcek.der").read_bytes()
    bundle = EvidenceBundle(
        CpuEvidence(TeeType.SNP, report, vcek), (GpuEvidence(GpuArch.HOPPER, b"x", b"y"),)
    )
    with pytest.raises(CollateralMissingError):
        StoreEvidenceVerifier(store).verify(bundle, expected_report_data=report[0x50:0x90], now=NOW)


def test_the_first_failing_gpu_in_evidence_order_is_reported(site: SimulatedSite, tmp_path: Path) -> None:
    # GPUs are verified in slices on two threads (GPU 1 on the pool's, GPU 2 on the caller's); the
    # refusal must still name the first bad GPU of the Evidence, not whichever thread failed first.
    report_data = os.urandom(64)
    good = _bundle(site, report_data)
    wrong_nonce = GpuEvidence(GpuArch.HOPPER, *site.node.gpus[1].collect(os.urandom(32)))
    truncated = GpuEvidence(GpuArch.HOPPER, good.gpus[2].report[:40], good.gpus[2].certificate_chain)
    bundle = EvidenceBundle(good.cpu, (good.gpus[0], wrong_nonce, truncated))
    with pytest.raises(NonceMismatchError):
        _simulating(site, tmp_path).verify(bundle, expected_report_data=report_data, now=NOW)
    with pytest.raises(EvidenceMalformedError):
        _simulating(site, tmp_path).verify(
            EvidenceBundle(good.cpu, (good.gpus[0], good.gpus[1], truncated)),
            expected_report_data=report_data,
            now=NOW,
        )


def test_a_warm_verifier_still_sees_changed_measurements_and_opaque_data(
    site: SimulatedSite, tmp_path: Path
) -> None:
    # Parsed records, opaque data and RIM comparisons are memoised by content: a GPU that reports
    # other measurements or another driver after the memos are warm is judged on what it reports.
    verifier = _simulating(site, tmp_path)
    report_data = os.urandom(64)
    warm = verifier.verify(_bundle(site, report_data), expected_report_data=report_data, now=NOW)
    assert warm.gpus[1].measres == "success"
    gpu = site.node.gpus[1]

    def with_gpu_1(changed: SimulatedGpu) -> tuple[EvidenceBundle, bytes]:
        report_data = os.urandom(64)
        good = _bundle(site, report_data)
        other = GpuEvidence(GpuArch.HOPPER, *changed.collect(gpu_nonce(report_data)))
        return EvidenceBundle(good.cpu, (good.gpus[0], other, good.gpus[2])), report_data

    flipped = tuple(bytes([m[0] ^ 1]) + m[1:] if any(m) else m for m in gpu.measurements)
    bundle, report_data = with_gpu_1(dataclasses.replace(gpu, measurements=flipped))
    result = verifier.verify(bundle, expected_report_data=report_data, now=NOW)
    assert [claims.measres for claims in result.gpus] == ["success", "fail", "success"]
    # Another driver version in the opaque data names another driver RIM, which the site lacks.
    bundle, report_data = with_gpu_1(dataclasses.replace(gpu, driver_version="999.01"))
    with pytest.raises(RimMissingError, match=r"999\.01"):
        verifier.verify(bundle, expected_report_data=report_data, now=NOW)
