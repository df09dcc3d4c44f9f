"""``ccgate evidence verify tdx``: verify an Intel TDX quote offline.

``--collateral`` is either dcap-qvl's QuoteCollateralV3 JSON (then ``--root`` is required) or a
directory of Intel PCS files (TCB info and QE identity responses, CRLs, issuer chains), which is
validated exactly as ``ccgate collateral import`` would, into a throwaway store.

The TCB status is a claim of the Verifier. This command, like a gateway's default baseline, accepts
only ``UpToDate`` unless ``--allow-tcb-status`` names more (e.g. ``SWHardeningNeeded``); another
status exits 1 with ``attestation.tdx.tcb_status_refused``, the claims printed either way.
"""

import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated

import dcap_qvl
import typer
from cryptography import x509

from attestation.claims import to_claims
from attestation.errors import AttestationError
from attestation.pki import load_pem_chain
from attestation.result import TcbStatus
from attestation.tdx import TdxCollateral, parse_quote, verify_tdx_quote
from attestation.tdx.errors import TdxTcbStatusRefusedError
from gateway.cli.evidence_commands import emit_verdict, parse_at
from gateway.cli.evidence_snp import parse_report_data
from gateway.collateral.importer import import_collateral
from gateway.collateral.loaders import load_tdx_collateral
from gateway.collateral.store import CollateralStore


def _collateral_from_directory(
    directory: Path, root: Path | None, quote: bytes, now: datetime
) -> TdxCollateral:
    parsed = parse_quote(quote)
    pck_chain = load_pem_chain(parsed.pck_chain_pem.rstrip(b"\0"))
    issuer = pck_chain[0].issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    ca = "processor" if issuer and "Processor" in str(issuer[0].value) else "platform"
    fmspc = dcap_qvl.parse_pck_extension_from_pem(parsed.pck_chain_pem.rstrip(b"\0")).fmspc.hex()
    with tempfile.TemporaryDirectory(prefix="ccgate-tdx-") as scratch:
        staging = Path(scratch) / "in"
        shutil.copytree(directory, staging)
        if root is not None:
            shutil.copy(root, staging / "root-ca.pem")
        store = CollateralStore(Path(scratch) / "store")
        import_collateral(store, staging, now=now)
        return load_tdx_collateral(store, fmspc, ca)


def verify_tdx(
    quote: Annotated[
        Path, typer.Option("--quote", exists=True, dir_okay=False, help="The TDX quote (v4/v5).")
    ],
    collateral: Annotated[
        Path,
        typer.Option(
            "--collateral", exists=True, help="A directory of Intel PCS files, or QuoteCollateralV3 JSON."
        ),
    ],
    root: Annotated[
        Path | None, typer.Option("--root", exists=True, dir_okay=False, help="Intel SGX Root CA (PEM/DER).")
    ] = None,
    expected_report_data: Annotated[
        str | None, typer.Option("--expected-report-data", help="The expected 64-byte REPORT_DATA, hex.")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Verification time, RFC 3339 (default: now).")
    ] = None,
    allow_tcb_status: Annotated[
        list[TcbStatus] | None,
        typer.Option("--allow-tcb-status", help="Accept this platform TCB status too (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON verdict.")] = False,
) -> None:
    """Verify a TDX quote against the pinned Intel root: exit 0 verified, 1 rejected, 2 usage."""
    expected = parse_report_data(expected_report_data)
    now = parse_at(at)
    accepted = {TcbStatus.UP_TO_DATE, *(allow_tcb_status or [])}
    data = quote.read_bytes()
    if collateral.is_file() and root is None:
        raise typer.BadParameter("QuoteCollateralV3 JSON needs --root", param_hint="--root")
    try:
        if collateral.is_dir():
            typed = _collateral_from_directory(collateral, root, data, now)
        else:
            assert root is not None
            typed = TdxCollateral.from_qvl_json(collateral.read_text(), root_ca=root.read_bytes())
        claims = verify_tdx_quote(data, collateral=typed, expected_report_data=expected, now=now)
    except AttestationError as exc:
        emit_verdict(exc.claims, exc.code, str(exc), as_json)
    document = to_claims(claims)
    assert isinstance(document, dict)
    if claims.tcb_status not in accepted:
        emit_verdict(
            document,
            TdxTcbStatusRefusedError.code,
            f"the platform TCB status is {claims.tcb_status}; use --allow-tcb-status to accept it",
            as_json,
        )
    emit_verdict(document, None, None, as_json)
