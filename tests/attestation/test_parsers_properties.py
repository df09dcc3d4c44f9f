"""Hypothesis: whatever bytes come in, the SEV-SNP and TDX parsers raise only typed Verifier errors."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attestation.errors import AttestationError
from attestation.snp import layout as snp_layout
from attestation.snp import parse_report
from attestation.tdx import layout as tdx_layout
from attestation.tdx import parse_quote
from tests.attestation.tdx_synthetic import make_quote

_SEED_QUOTE = make_quote()


def _snp_shaped() -> st.SearchStrategy[bytes]:
    """Mostly report-sized buffers with a plausible version, so parsing gets past the first checks."""
    versions = st.sampled_from([0, 1, 2, 3, 4, 5, 6, 0xFFFFFFFF])
    body = st.binary(min_size=snp_layout.REPORT_SIZE - 4, max_size=snp_layout.REPORT_SIZE - 4)
    return st.one_of(
        st.binary(max_size=2 * snp_layout.REPORT_SIZE),
        st.builds(lambda v, rest: v.to_bytes(4, "little") + rest, versions, body),
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_snp_shaped())
def test_snp_parser_raises_only_attestation_errors(data: bytes) -> None:
    try:
        report = parse_report(data)
    except AttestationError:
        return
    assert report.version in snp_layout.SUPPORTED_VERSIONS
    assert len(report.raw) == snp_layout.REPORT_SIZE


def _tdx_shaped() -> st.SearchStrategy[bytes]:
    """Random bytes, and a real-shaped quote with random bytes written over a random span of it."""

    def overwrite(offset: int, patch: bytes, cut: int) -> bytes:
        start = offset % len(_SEED_QUOTE)
        mutated = _SEED_QUOTE[:start] + patch + _SEED_QUOTE[start + len(patch) :]
        return mutated[: max(0, len(mutated) - cut)]

    return st.one_of(
        st.binary(max_size=2048),
        st.builds(
            overwrite,
            st.integers(min_value=0, max_value=len(_SEED_QUOTE)),
            st.binary(min_size=1, max_size=16),
            st.integers(min_value=0, max_value=len(_SEED_QUOTE)),
        ),
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_tdx_shaped())
@pytest.mark.filterwarnings("ignore")
def test_tdx_parser_raises_only_attestation_errors(data: bytes) -> None:
    try:
        quote = parse_quote(data)
    except AttestationError:
        return
    assert quote.version in tdx_layout.SUPPORTED_VERSIONS
    assert quote.signed_size <= len(data)
