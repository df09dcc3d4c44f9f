"""The gateway's Verifier: each piece of Evidence to its verifier, with collateral from the store.

This is the only place that knows which verifier handles which Evidence and where its Endorsements
come from. The verifiers stay pure; this module reads the collateral store and hands them bytes,
collateral and the gateway's ``now``. GPU Evidence is verified against the GPU nonce derived from the
expected report data, so CPU and GPU Evidence are bound to the same session. A simulated CPU implies a
simulated node: its GPUs are verified under the simulated vendor's roots, and only when simulation was
explicitly configured (development mode); otherwise simulated Evidence is refused.
"""

import os
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import dcap_qvl
from cryptography import x509

from attestation.errors import (
    AttestationError,
    CollateralMissingError,
    EvidenceMalformedError,
    SimulatedEvidenceRefusedError,
)
from attestation.evidence import CpuEvidence, EvidenceBundle, GpuEvidence, TeeType, evidence_digest
from attestation.nvidia import NvidiaCollateral, NvidiaTrustAnchors, NvidiaVerifierCache, verify_gpu_evidence
from attestation.nvidia.collateral import SimulatedRootsWarning, nvidia_trust_anchors
from attestation.pki import load_pem_chain
from attestation.result import AttestationResult, CpuClaims, GpuClaims
from attestation.roots import PinnedRoot
from attestation.simulated.roots import SimulatedRoots, SimulatedTeeWarning
from attestation.simulated.verifier import verify_simulated_cpu_report
from attestation.snp import verify_snp_report
from attestation.snp.cert_table import signing_key_certificate
from attestation.snp.certificates import common_name, load_amd_certificate, product_of
from attestation.tdx import verify_tdx_quote
from attestation.tdx.quote import parse_quote
from enclave_runner.protocol.binding import gpu_nonce
from gateway.collateral.loaders import StoreOcsp, StoreRims, load_snp_collateral, load_tdx_collateral
from gateway.collateral.store import CollateralStore, ItemKind

GPU_VERIFY_THREADS = max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class SimulationTrust:
    """The explicitly configured simulated vendor (development only): its roots and its RIMs."""

    roots: SimulatedRoots
    nvidia: NvidiaTrustAnchors
    rims: Mapping[str, tuple[bytes, ...]]

    @classmethod
    def from_site(cls, roots: SimulatedRoots, rims: Mapping[str, bytes]) -> "SimulationTrust":
        """Build from a simulated site's roots and RIM documents (id → XML)."""
        pem = roots.to_pem()
        with warnings.catch_warnings():
            # SimulatedRoots already warned when it was built; one warning per configuration is enough.
            warnings.simplefilter("ignore", SimulatedRootsWarning)
            anchors = nvidia_trust_anchors(pem["device-root"], pem["rim-root"], allow_simulated_roots=True)
        return cls(roots, anchors, {rim_id: (document,) for rim_id, document in rims.items()})


class StoreEvidenceVerifier:
    """Verifies Evidence bundles with Endorsements from a ``CollateralStore`` (and, in development, a
    simulated vendor). Holds the NVIDIA verification cache so steady-state GPU checks cost ~1 ms."""

    def __init__(self, store: CollateralStore, *, simulation: SimulationTrust | None = None) -> None:
        self._store = store
        self._simulation = simulation
        self._cache = NvidiaVerifierCache()
        self._nvidia: NvidiaTrustAnchors | None = None
        # GPU reports are independent: verify them side by side (the signature checks release the GIL).
        self._gpu_slices = GPU_VERIFY_THREADS
        self._gpu_pool = ThreadPoolExecutor(
            max_workers=max(1, GPU_VERIFY_THREADS - 1), thread_name_prefix="gpu-verify"
        )

    def verify(
        self, bundle: EvidenceBundle, *, expected_report_data: bytes, now: datetime
    ) -> AttestationResult:
        """Verify the CPU report and every GPU report of ``bundle`` at ``now``.

        Raises:
            attestation.errors.AttestationError: any piece of Evidence does not verify, simulated
                Evidence without configured simulation, or missing/stale collateral (retryable).
        """
        cpu = self._verify_cpu(bundle.cpu, expected_report_data, now)
        gpus: tuple[GpuClaims, ...] = ()
        if bundle.gpus:
            nonce = gpu_nonce(expected_report_data)
            collateral = self._gpu_collateral(simulated=cpu.simulated)

            def verify_all(evidence: Sequence[GpuEvidence]) -> list[GpuClaims | AttestationError]:
                outcomes: list[GpuClaims | AttestationError] = []
                for gpu in evidence:
                    try:
                        outcomes.append(
                            verify_gpu_evidence(
                                gpu, expected_nonce=nonce, collateral=collateral, now=now, cache=self._cache
                            )
                        )
                    except AttestationError as exc:
                        outcomes.append(exc)
                return outcomes

            # One slice per core (GPUs i, i + n, …), the first in this thread: a task per GPU cost
            # more CPU in futures and thread wake-ups than the parallel signature checks saved.
            n = self._gpu_slices
            others = {
                i: self._gpu_pool.submit(verify_all, bundle.gpus[i::n])
                for i in range(1, min(n, len(bundle.gpus)))
            }
            verified = {
                0: verify_all(bundle.gpus[0::n]),
                **{i: future.result() for i, future in others.items()},
            }
            outcomes = [verified[index % n][index // n] for index in range(len(bundle.gpus))]
            # The first failing GPU in the Evidence's order is the one reported, whichever thread saw it.
            for outcome in outcomes:
                if isinstance(outcome, AttestationError):
                    raise outcome
            gpus = tuple(outcome for outcome in outcomes if not isinstance(outcome, AttestationError))
        return AttestationResult(cpu=cpu, gpus=gpus, evidence_digest=evidence_digest(bundle), verified_at=now)

    def _verify_cpu(self, evidence: CpuEvidence, expected_report_data: bytes, now: datetime) -> CpuClaims:
        if evidence.tee is TeeType.SNP:
            vcek = signing_key_certificate(evidence.certificates)
            if not vcek:
                raise CollateralMissingError("the SNP Evidence carries no VCEK/VLEK certificate table")
            issuer = load_amd_certificate(vcek).issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
            product = product_of(str(issuer[0].value) if issuer else "")
            collateral = load_snp_collateral(self._store, product)
            return verify_snp_report(
                evidence.report,
                vcek_or_vlek=vcek,
                collateral=collateral,
                expected_report_data=expected_report_data,
                now=now,
            )
        if evidence.tee is TeeType.TDX:
            fmspc, ca = _tdx_platform(evidence.report)
            return verify_tdx_quote(
                evidence.report,
                collateral=load_tdx_collateral(self._store, fmspc, ca),
                expected_report_data=expected_report_data,
                now=now,
            )
        if evidence.tee is TeeType.SIMULATED:
            if self._simulation is None:
                raise SimulatedEvidenceRefusedError("this gateway does not accept simulated Evidence")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SimulatedTeeWarning)
                return verify_simulated_cpu_report(
                    evidence.report,
                    certificates=evidence.certificates,
                    roots=self._simulation.roots,
                    expected_report_data=expected_report_data,
                    now=now,
                )
        raise EvidenceMalformedError(f"unknown TEE type {evidence.tee!r}")

    def _gpu_collateral(self, *, simulated: bool) -> NvidiaCollateral:
        if simulated:
            if self._simulation is None:
                raise SimulatedEvidenceRefusedError("this gateway does not accept simulated Evidence")
            return NvidiaCollateral(self._simulation.nvidia, self._simulation.rims)
        return NvidiaCollateral(
            self._real_nvidia_anchors(), StoreRims(self._store), ocsp_by_serial=StoreOcsp(self._store)
        )

    def _real_nvidia_anchors(self) -> NvidiaTrustAnchors:
        if self._nvidia is None:
            device = self._store.get(ItemKind.ROOT, PinnedRoot.NVIDIA_DEVICE.value)
            rim = self._store.get(ItemKind.ROOT, PinnedRoot.NVIDIA_RIM.value)
            if device is None or rim is None:
                raise CollateralMissingError("the collateral store has no NVIDIA device or RIM root")
            self._nvidia = nvidia_trust_anchors(device, rim)
        return self._nvidia


def _tdx_platform(quote: bytes) -> tuple[str, str]:
    """(FMSPC, "platform" | "processor") of the PCK certificate inside a TDX quote.

    Raises:
        EvidenceMalformedError: the quote or its PCK certificate does not parse.
    """
    parsed = parse_quote(quote)
    try:
        extension = dcap_qvl.parse_pck_extension_from_pem(parsed.pck_chain_pem.rstrip(b"\0"))
    except ValueError as exc:
        raise EvidenceMalformedError(f"the PCK certificate's SGX extension does not parse: {exc}") from exc
    chain = load_pem_chain(parsed.pck_chain_pem)
    issuer = common_name(chain[1]) if len(chain) > 1 else ""
    return extension.fmspc.hex(), "processor" if "Processor" in issuer else "platform"
