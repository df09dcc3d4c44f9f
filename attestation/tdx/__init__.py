"""Intel TDX: the DCAP quote layout, Intel collateral, and the Verifier (dcap-qvl as the engine)."""

from attestation.tdx.collateral import SignedDocument, TdxCollateral, split_signed_json
from attestation.tdx.quote import TdReportBody, TdxQuote, parse_quote
from attestation.tdx.verifier import verify_tdx_quote

__all__ = [
    "SignedDocument",
    "TdReportBody",
    "TdxCollateral",
    "TdxQuote",
    "parse_quote",
    "split_signed_json",
    "verify_tdx_quote",
]
