"""``ccgate collateral import|export|status|fetch``: the collateral store for air-gapped sites."""

from pathlib import Path
from typing import Annotated

import dcap_qvl
import httpx
import typer

from attestation.errors import AttestationError
from attestation.snp import parse_report
from attestation.snp.tcb import product_from_cpuid
from attestation.tdx import parse_quote
from gateway.cli.console import print_json, stdout
from gateway.cli.evidence_commands import parse_at
from gateway.collateral.fetcher import VendorFetcher
from gateway.collateral.importer import ImportReport, export_collateral, import_collateral
from gateway.collateral.store import CollateralStore, ItemKind

app = typer.Typer(help="Import, export, inspect and fetch vendor collateral.", no_args_is_help=True)
fetch_app = typer.Typer(
    help="Fetch collateral from the vendors' services (needs network).", no_args_is_help=True
)
app.add_typer(fetch_app, name="fetch")

StoreOption = Annotated[Path, typer.Option("--store", help="The collateral store directory.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
DEFAULT_STORE = Path("ccgate-collateral")


def _print_import(report: ImportReport, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "stored": [
                    {"kind": item.kind.value, "key": item.key, "source": item.source}
                    for item in report.stored
                ],
                "skipped": [{"path": path, "reason": reason} for path, reason in report.skipped],
            }
        )
        return
    for item in report.stored:
        stdout.print(f"stored  {item.kind.value:18} {item.key}", markup=False)
    for path, reason in report.skipped:
        stdout.print(f"skipped {path}: {reason}", markup=False)


@app.command("import")
def import_command(
    source: Annotated[Path, typer.Argument(exists=True, help="A directory or a .tar.gz of collateral.")],
    store: StoreOption = DEFAULT_STORE,
    at: Annotated[str | None, typer.Option("--at", help="Recorded as fetched-at (default: now).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Validate and store collateral: roots against pins, vendor signatures, RIM well-formedness."""
    _print_import(import_collateral(CollateralStore(store), source, now=parse_at(at)), as_json)


@app.command("export")
def export_command(
    target: Annotated[Path, typer.Argument(help="The .tar.gz to write.")],
    store: StoreOption = DEFAULT_STORE,
    as_json: JsonOption = False,
) -> None:
    """Write the whole store into a tarball that ``collateral import`` accepts elsewhere."""
    count = export_collateral(CollateralStore(store), target)
    if as_json:
        print_json({"exported": count, "target": str(target)})
        return
    stdout.print(f"exported {count} items to {target}", markup=False)


def _needed_for_snp(report: Path) -> list[tuple[ItemKind, str]]:
    parsed = parse_report(report.read_bytes())
    product = None if parsed.cpuid is None else product_from_cpuid(parsed.cpuid[0], parsed.cpuid[1])
    products = [product.value.lower()] if product is not None else ["milan", "genoa", "turin"]
    kind = ItemKind.AMD_ASVK if parsed.signing_key.value == "vlek" else ItemKind.AMD_ASK
    # A version 2 report does not name its product: it is listed against each product's chain.
    return [(kind, name) for name in products]


def _needed_for_tdx(quote: Path) -> list[tuple[ItemKind, str]]:
    parsed = parse_quote(quote.read_bytes())
    fmspc = dcap_qvl.parse_pck_extension_from_pem(parsed.pck_chain_pem.rstrip(b"\0")).fmspc.hex()
    return [
        (ItemKind.ROOT, "intel-sgx-root-ca"),
        (ItemKind.INTEL_TCB_INFO, fmspc),
        (ItemKind.INTEL_QE_IDENTITY, "td_qe"),
        (ItemKind.INTEL_CRL, "platform"),
        (ItemKind.INTEL_CRL, "root"),
        (ItemKind.INTEL_CHAIN, "tcb-signing"),
        (ItemKind.INTEL_CHAIN, "pck-platform"),
    ]


@app.command("status")
def status_command(
    store: StoreOption = DEFAULT_STORE,
    at: Annotated[
        str | None, typer.Option("--at", help="Judge staleness at this time (default: now).")
    ] = None,
    snp_report: Annotated[
        list[Path] | None, typer.Option("--snp-report", exists=True, help="Also list what this report needs.")
    ] = None,
    tdx_quote: Annotated[
        list[Path] | None, typer.Option("--tdx-quote", exists=True, help="Also list what this quote needs.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """What is held, what is stale at ``--at``, and what is missing for the given Evidence."""
    now = parse_at(at)
    collateral = CollateralStore(store)
    items = list(collateral.items())
    held = {(item.kind, item.key) for item in items}
    needed: list[tuple[ItemKind, str]] = []
    try:
        for report in snp_report or []:
            needed.extend(_needed_for_snp(report))
        for quote in tdx_quote or []:
            needed.extend(_needed_for_tdx(quote))
    except (AttestationError, ValueError) as exc:
        raise typer.BadParameter(f"the Evidence does not parse: {exc}") from exc
    missing = sorted({need for need in needed if need not in held})
    rows = [
        {
            "kind": item.kind.value,
            "key": item.key,
            "fetched_at": None if item.fetched_at is None else item.fetched_at.isoformat(),
            "next_update": None if item.next_update is None else item.next_update.isoformat(),
            "stale": item.is_stale(now),
        }
        for item in items
    ]
    if as_json:
        print_json(
            {
                "at": now.isoformat(),
                "items": rows,
                "missing": [{"kind": k.value, "key": v} for k, v in missing],
            }
        )
        return
    for row in rows:
        state = "STALE" if row["stale"] else "fresh"
        stdout.print(
            f"{state:5} {row['kind']:18} {row['key']:40} next update {row['next_update']}", markup=False
        )
    for kind, key in missing:
        stdout.print(f"MISSING {kind.value:18} {key}", markup=False)


def _fetcher(store: Path) -> VendorFetcher:
    return VendorFetcher(CollateralStore(store), httpx.Client(follow_redirects=True))


@fetch_app.command("amd")
def fetch_amd(
    product: Annotated[str, typer.Option("--product", help="Milan, Genoa or Turin.")],
    vlek: Annotated[
        bool, typer.Option("--vlek", help="The VLEK chain (ASVK) instead of the VCEK chain.")
    ] = False,
    store: StoreOption = DEFAULT_STORE,
    as_json: JsonOption = False,
) -> None:
    """Fetch the ARK/ASK (or ASVK) chain and CRL of a product from the AMD KDS."""
    _print_import(_fetcher(store).amd_chain(product, vlek=vlek, now=parse_at(None)), as_json)


@fetch_app.command("intel")
def fetch_intel(
    fmspc: Annotated[str, typer.Option("--fmspc", help="The platform's FMSPC (12 hex digits).")],
    store: StoreOption = DEFAULT_STORE,
    as_json: JsonOption = False,
) -> None:
    """Fetch TCB info, QE identity and the PCK CRL for an FMSPC from Intel PCS."""
    _print_import(_fetcher(store).intel_tdx(fmspc.lower(), now=parse_at(None)), as_json)


@fetch_app.command("nvidia-rim")
def fetch_nvidia_rim(
    rim_id: Annotated[str, typer.Option("--id", help="The RIM id.")],
    store: StoreOption = DEFAULT_STORE,
    as_json: JsonOption = False,
) -> None:
    """Fetch one RIM by id from NVIDIA's RIM service."""
    _print_import(_fetcher(store).nvidia_rim(rim_id, now=parse_at(None)), as_json)
