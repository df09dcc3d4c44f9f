"""Entry point of ``ccgate``: builds the command tree and turns every failure into one line and an exit code.

Exit codes: 0 success, 1 the operation was refused or failed (the line says ``ccgate: <code>: ...``),
2 usage error. No traceback reaches the user.
"""

import sys

import typer
import typer.main

from gateway.cli import (
    admin_commands,
    artefact_commands,
    bench_commands,
    bundle_commands,
    collateral_commands,
    demo_commands,
    envelope_commands,
    evidence_commands,
    job_commands,
    ledger_commands,
    node_commands,
    policy_commands,
    policy_remote_commands,
    server_commands,
    sim_commands,
    tink_commands,
)
from gateway.cli.console import error_code, stderr

app = typer.Typer(
    name="ccgate",
    help="Confidential compute gateway: encrypted artefacts, attested release, verifiable ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
envelope_commands.register(app)
app.command("demo")(demo_commands.demo)
app.add_typer(bench_commands.app, name="bench")
app.add_typer(evidence_commands.app, name="evidence")
app.add_typer(collateral_commands.app, name="collateral")
app.add_typer(sim_commands.app, name="sim")
app.command("serve")(server_commands.serve)
app.add_typer(server_commands.db_app, name="db")
app.add_typer(admin_commands.app, name="admin")
app.add_typer(artefact_commands.app, name="artefact")
app.add_typer(node_commands.app, name="node")
policy_remote_commands.register_remote(policy_commands.app)
app.add_typer(policy_commands.app, name="policy")
app.add_typer(policy_remote_commands.reference_app, name="ref-values")
app.add_typer(ledger_commands.app, name="ledger")
app.add_typer(job_commands.app, name="job")
app.add_typer(bundle_commands.app, name="bundle")
app.add_typer(tink_commands.app, name="tink")
artefact_commands.app.command("releases")(job_commands.releases)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; never lets a traceback reach the terminal for an expected failure.

    Usage errors are left to click's standalone mode (exit 2); everything ccgate raises on purpose
    carries a stable ``code`` and becomes ``ccgate: <code>: <message>`` with exit 1.
    """
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="ccgate", standalone_mode=True)
    except OSError as exc:
        stderr.print(f"ccgate: {error_code(exc) or 'io.error'}: {exc}", markup=False)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the one place that turns failures into exit codes.
        code = error_code(exc)
        if code is None:
            stderr.print(f"ccgate: internal.error: {type(exc).__name__}: {exc}", markup=False)
        else:
            stderr.print(f"ccgate: {code}: {exc}", markup=False)
        sys.exit(1)
