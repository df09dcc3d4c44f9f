"""``ccgate evidence verify snp``: verify an SEV-SNP attestation report offline.

Debug: the Verifier reports ``debug`` as a claim. This command exits 1 with
``attestation.snp.debug_enabled`` for a report whose policy allows debugging (a gateway must reject
it), unless ``--allow-debug`` is given; the claims are printed either way.
"""

from pathlib import Path
from typing import Annotated

import typer

from attestation.claims import to_claims
from attestation.errors import AttestationError
from attestation.snp import SnpCollateral, verify_snp_report
from attestation.snp.errors import SnpDebugEnabledError
from gateway.cli.evidence_commands import emit_verdict, parse_at


def parse_report_data(value: str | None) -> bytes | None:
    """Parse ``--expected-report-data`` (64 bytes as hex).

    Raises:
        typer.BadParameter: not 128 hex digits.
    """
    if value is None:
        return None
    try:
        data = bytes.fromhex(value)
    except ValueError as exc:
        raise typer.BadParameter("not hex", param_hint="--expected-report-data") from exc
    if len(data) != 64:
        raise typer.BadParameter(f"{len(data)} bytes, expected 64", param_hint="--expected-report-data")
    return data


def verify_snp(
    report: Annotated[
        Path, typer.Option("--report", exists=True, dir_okay=False, help="The 1184-byte report.")
    ],
    chain: Annotated[
        Path,
        typer.Option("--chain", exists=True, dir_okay=False, help="AMD PEM bundle: ARK and ASK and/or ASVK."),
    ],
    vcek: Annotated[
        Path | None, typer.Option("--vcek", exists=True, dir_okay=False, help="VCEK, DER or PEM.")
    ] = None,
    vlek: Annotated[
        Path | None, typer.Option("--vlek", exists=True, dir_okay=False, help="VLEK, DER or PEM.")
    ] = None,
    crl: Annotated[
        Path | None, typer.Option("--crl", exists=True, dir_okay=False, help="AMD CRL (ARK-signed).")
    ] = None,
    expected_report_data: Annotated[
        str | None, typer.Option("--expected-report-data", help="The expected 64-byte REPORT_DATA, hex.")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Verification time, RFC 3339 (default: now).")
    ] = None,
    allow_debug: Annotated[bool, typer.Option("--allow-debug", help="Accept a debug-enabled guest.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON verdict.")] = False,
) -> None:
    """Verify an SEV-SNP report against the pinned AMD roots: exit 0 verified, 1 rejected, 2 usage."""
    if (vcek is None) == (vlek is None):
        raise typer.BadParameter("give exactly one of --vcek and --vlek", param_hint="--vcek/--vlek")
    key_file = vcek or vlek
    assert key_file is not None
    expected = parse_report_data(expected_report_data)
    now = parse_at(at)
    try:
        collateral = SnpCollateral.from_pem(chain.read_bytes(), crl=None if crl is None else crl.read_bytes())
        claims = verify_snp_report(
            report.read_bytes(),
            vcek_or_vlek=key_file.read_bytes(),
            collateral=collateral,
            expected_report_data=expected,
            now=now,
        )
    except AttestationError as exc:
        emit_verdict(exc.claims, exc.code, str(exc), as_json)
    document = to_claims(claims)
    assert isinstance(document, dict)
    if claims.debug and not allow_debug:
        emit_verdict(
            document,
            SnpDebugEnabledError.code,
            "the guest policy allows debugging (POLICY.DEBUG = 1); use --allow-debug to accept it",
            as_json,
        )
    emit_verdict(document, None, None, as_json)
