"""``ccgate ledger …``: export the ledger, verify an export offline, show the signed tree head."""

import base64
import binascii
import json
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.console import fail, print_json, stderr, stdout
from gateway.cli.remote import JsonOption, TokenOption, UrlOption, connect, show
from gateway.job_verification import PinnedKeys
from gateway.ledger.audit import audit_export

app = typer.Typer(help="The Merkle ledger: exports, offline verification, tree heads.", no_args_is_help=True)


@app.command("export")
def export(
    target: Annotated[Path, typer.Argument(help="File to write the export to.")],
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write the ledger export this caller may have (other tenants redacted to leaf hashes)."""
    with connect(url, token) as client:
        document = client.export_ledger()
    target.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    entries = document.get("entries", [])
    count = len(entries) if isinstance(entries, list) else 0
    if as_json:
        print_json({"target": str(target), "entries": count})
    else:
        stdout.print(f"wrote {count} entries to {target}", markup=False)


def _pinned(keys: list[str]) -> dict[str, bytes] | None:
    if not keys:
        return None
    pinned: dict[str, bytes] = {}
    for item in keys:
        kid, _, encoded = item.partition("=")
        try:
            pinned[kid] = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise typer.BadParameter(f"{item!r} is not KID=BASE64", param_hint="--key") from exc
    return pinned


@app.command("verify")
def verify(
    source: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A ledger export.")],
    key: Annotated[
        list[str] | None, typer.Option("--key", help="Pin a ledger key as KID=BASE64 (repeatable).")
    ] = None,
    jwks: Annotated[
        Path | None,
        typer.Option("--jwks", help="Pin the ledger key from a saved /.well-known/jwks.json."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Verify an export offline: every entry, leaf hash, tree head signature and Merkle root.

    Exit 0 when it verifies, 1 listing every problem (with the entry index) when it does not. Without
    --key or --jwks the keys inside the export are used, which proves internal consistency only.
    """
    document = json.loads(source.read_text(encoding="utf-8"))
    pinned = _pinned(key or [])
    if jwks is not None:
        try:
            published = PinnedKeys.from_jwks(json.loads(jwks.read_text(encoding="utf-8")))
        except ValueError as exc:
            fail("keys.invalid", f"{jwks}: {exc}")
        if not published.ledger_keys:
            fail("keys.invalid", f"{jwks} publishes no ledger key")
        pinned = {**(pinned or {}), **published.ledger_keys}
    report = audit_export(document, pinned)
    if as_json:
        print_json(
            {
                "verified": report.ok,
                "entries": report.entries,
                "tree_heads_checked": report.tree_heads_checked,
                "root": report.root,
                "keys_pinned": pinned is not None,
                "problems": [
                    {"code": p.code, "index": p.index, "message": p.message} for p in report.problems
                ],
            }
        )
    else:
        for problem in report.problems:
            where = f"entry {problem.index}" if problem.index is not None else "export"
            stderr.print(f"ccgate: {problem.code}: {where}: {problem.message}", markup=False)
        if report.ok:
            against = "pinned keys" if pinned else "the export's own keys (pin them with --jwks or --key)"
            stdout.print(
                f"verified {report.entries} entries and {report.tree_heads_checked} tree heads "
                f"against {against}; root {report.root}",
                markup=False,
            )
    raise typer.Exit(0 if report.ok else 1)


@app.command("tree-head")
def tree_head(url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Show a tree head of the ledger, signed now."""
    with connect(url, token) as client:
        show(client.tree_head(), as_json)
