"""An explicit, caller-owned cache of the expensive, content-addressed steps of GPU verification.

Steady state the same GPUs attest again and again with the same certificate chains, the same
measurements and opaque data, against the same RIMs. What is cached is only what depends on bytes
alone and never on time: parsed measurements and opaque data, a comparison of measurements with a
RIM, a certificate link
whose signature verified, a RIM document whose digest, signature and chain links verified, an OCSP
response whose signature verified, and parsed certificate chains. Every entry is keyed by the SHA-256
of all the bytes it depends on (including the trust anchor), and validity periods are re-checked at
``now`` on every use, so a hit can never make a verification pass that a cold run would refuse.

The cache is an ordinary object passed in by the caller, which keeps the Verifier pure and
deterministic. It is bounded (oldest entries are dropped first) and safe to share between threads
in CPython, since every operation is a single dictionary access.
"""

from attestation.nvidia.device_chain import ParsedChain
from attestation.nvidia.measurements import Comparison
from attestation.nvidia.memo import BoundedMemo
from attestation.nvidia.opaque import GpuOpaqueData
from attestation.nvidia.rim_signature import VerifiedRim
from attestation.nvidia.spdm import MeasurementBlock

DEFAULT_MAX_ENTRIES = 4096


class NvidiaVerifierCache:
    """Memoised results of pure verification steps, each keyed by content hashes.

    ``records``: parsed measurement records by SHA-256 of the record. ``opaque``: parsed opaque
    data by SHA-256 of its bytes. ``comparisons``: a report's measurements against a RIM, by the
    SHA-256 of the measurements and of the RIM document, and the NVDEC0 rule.
    ``chains``: parsed device chains by SHA-256 of the PEM bytes. ``links``: (child, issuer) DER
    fingerprints whose signature verified. ``rims``: verified RIM documents by (document, RIM root)
    fingerprints. ``ocsp``: (response, signer) fingerprints whose signature verified.
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.records: BoundedMemo[bytes, tuple[MeasurementBlock, ...]] = BoundedMemo(max_entries)
        self.opaque: BoundedMemo[bytes, GpuOpaqueData] = BoundedMemo(max_entries)
        self.comparisons: BoundedMemo[tuple[bytes, bytes, bool], Comparison] = BoundedMemo(max_entries)
        self.chains: BoundedMemo[bytes, ParsedChain] = BoundedMemo(max_entries)
        self.links: BoundedMemo[tuple[bytes, bytes], bool] = BoundedMemo(max_entries)
        self.rims: BoundedMemo[tuple[bytes, bytes], VerifiedRim] = BoundedMemo(max_entries)
        self.ocsp: BoundedMemo[tuple[bytes, bytes], bool] = BoundedMemo(max_entries)
