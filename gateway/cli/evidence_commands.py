"""``ccgate evidence verify <type>``: the security team's offline verification tools.

Every subcommand shares one contract: exit 0 when the Evidence verified (and, for GPUs, every
measurement matched), 1 when it was rejected, 2 on a usage error. ``--json`` prints
``{"verified": bool, "error": {"code", "message"} | null, "claims": {...}}`` where ``claims`` holds
what was established, including what was established before a rejection.
"""

from collections.abc import Mapping
from datetime import UTC, datetime

import typer

from gateway.cli.console import print_json, stderr, stdout

app = typer.Typer(
    help="Verify Evidence offline against pinned roots and local collateral.", no_args_is_help=True
)
verify_app = typer.Typer(help="Verify one piece of Evidence.", no_args_is_help=True)
app.add_typer(verify_app, name="verify")


def parse_at(value: str | None) -> datetime:
    """Parse ``--at`` (RFC 3339; ``Z`` or an offset); default: the current time.

    Raises:
        typer.BadParameter: the value is not an RFC 3339 timestamp with a time zone.
    """
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an RFC 3339 timestamp", param_hint="--at") from exc
    if parsed.tzinfo is None:
        raise typer.BadParameter(
            "the timestamp needs a time zone (e.g. 2025-05-01T00:00:00Z)", param_hint="--at"
        )
    return parsed.astimezone(UTC)


def emit_verdict(
    claims: Mapping[str, object], error_code: str | None, error_message: str | None, as_json: bool
) -> None:
    """Print the verdict in the shared shape and exit 0 (verified) or 1 (rejected)."""
    verified = error_code is None
    if as_json:
        print_json(
            {
                "verified": verified,
                "error": None if verified else {"code": error_code, "message": error_message},
                "claims": dict(claims),
            }
        )
    else:
        for name, value in claims.items():
            stdout.print(f"{name}: {value}", markup=False)
        if verified:
            stdout.print("verified", markup=False)
        else:
            stderr.print(f"ccgate: {error_code}: {error_message}", markup=False)
    raise typer.Exit(0 if verified else 1)


# Registered last: the subcommand modules import emit_verdict / parse_at from this module.
from gateway.cli import evidence_nras, evidence_nvidia, evidence_snp, evidence_tdx  # noqa: E402

verify_app.command("nvidia")(evidence_nvidia.verify_nvidia)
verify_app.command("snp")(evidence_snp.verify_snp)
verify_app.command("tdx")(evidence_tdx.verify_tdx)
verify_app.command("nras-eat")(evidence_nras.verify_nras)
