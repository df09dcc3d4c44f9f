"""The Evidence digest is the SHA-256 of the bundle's canonical JSON document, whatever the bundle."""

import base64
import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from attestation.canonical import JsonValue, canonical_json
from attestation.evidence import CpuEvidence, EvidenceBundle, GpuArch, GpuEvidence, TeeType, evidence_digest


def _document_digest(bundle: EvidenceBundle) -> str:
    """The definition: build the whole document and hash its canonical JSON."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    document: dict[str, JsonValue] = {
        "label": "ccgate/v1/evidence",
        "cpu": {
            "tee": str(bundle.cpu.tee),
            "report": b64(bundle.cpu.report),
            "certificates": b64(bundle.cpu.certificates),
        },
        "gpus": [
            {
                "arch": str(gpu.arch),
                "report": b64(gpu.report),
                "certificate_chain": b64(gpu.certificate_chain),
            }
            for gpu in bundle.gpus
        ],
    }
    return hashlib.sha256(canonical_json(document)).hexdigest()


_GPUS = st.builds(GpuEvidence, st.sampled_from(GpuArch), st.binary(max_size=300), st.binary(max_size=300))
_BUNDLES = st.builds(
    EvidenceBundle,
    st.builds(CpuEvidence, st.sampled_from(TeeType), st.binary(max_size=300), st.binary(max_size=300)),
    st.lists(_GPUS, max_size=9).map(tuple),
)


@settings(max_examples=300)
@given(_BUNDLES)
def test_the_streamed_digest_is_the_digest_of_the_canonical_document(bundle: EvidenceBundle) -> None:
    assert evidence_digest(bundle) == _document_digest(bundle)


def test_any_changed_byte_changes_the_digest() -> None:
    gpu = GpuEvidence(GpuArch.HOPPER, b"report", b"chain")
    bundle = EvidenceBundle(CpuEvidence(TeeType.SNP, b"cpu", b"vcek"), (gpu, gpu))
    moved = EvidenceBundle(
        CpuEvidence(TeeType.SNP, b"cpu", b"vcek"), (gpu, GpuEvidence(GpuArch.HOPPER, b"report", b"chaim"))
    )
    fewer = EvidenceBundle(CpuEvidence(TeeType.SNP, b"cpu", b"vcek"), (gpu,))
    assert len({evidence_digest(bundle), evidence_digest(moved), evidence_digest(fewer)}) == 3
