"""AMD SEV-SNP: the report layout, AMD's certificate chain, and the Verifier."""

from attestation.snp.collateral import SnpCollateral, load_crl
from attestation.snp.report import SigningKey, SnpReport, parse_report
from attestation.snp.tcb import SnpProduct
from attestation.snp.verifier import verify_snp_report

__all__ = [
    "SigningKey",
    "SnpCollateral",
    "SnpProduct",
    "SnpReport",
    "load_crl",
    "parse_report",
    "verify_snp_report",
]
