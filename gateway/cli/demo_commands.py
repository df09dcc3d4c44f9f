"""``ccgate demo``: the README's first command — the whole product, end to end, on this machine.

It runs in a fresh temporary directory (``--keep DIR`` to keep everything for a look afterwards):
a gateway on loopback, a simulated TEE vendor with two nodes, the three personas through the API,
``ccgate-runner`` processes for the provider, and one denial. Exit 0 only if every step held.
"""

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.console import byte_progress, fail, print_json, stderr, stdout
from gateway.demo.walkthrough import DemoError, DemoOptions, DemoSummary, run_demo

ACTOR_STYLE = {
    "gateway": "bold white",
    "admin": "bold magenta",
    "provider": "bold yellow",
    "security": "bold red",
    "owner": "bold cyan",
    "runner": "bold green",
}


class TerminalNarrator:
    """Numbered steps with coloured actors, details indented, progress bars on stderr."""

    def __init__(self) -> None:
        self.number = 0
        self.started = time.perf_counter()

    def step(self, actor: str, message: str) -> None:
        """Print the next numbered step."""
        self.number += 1
        style = ACTOR_STYLE.get(actor, "bold")
        elapsed = time.perf_counter() - self.started
        stdout.print(f"[dim]{elapsed:5.1f}s[/] {self.number:2}. [{style}]{actor:<8}[/] ", end="")
        stdout.print(message, markup=False)

    def detail(self, message: str) -> None:
        """Print a line under the current step."""
        stdout.print(f"{'':14}{message}", markup=False)

    @contextmanager
    def progress(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        """A byte progress bar (only on a terminal)."""
        with byte_progress(description, total, enabled=True) as advance:
            yield advance


def _summary(summary: DemoSummary) -> None:
    stdout.print()
    stdout.print("[bold]Summary[/]")
    artefacts = ", ".join(release.artefact_id for release in summary.released_to)
    nodes = {release.node_id for release in summary.released_to}
    stdout.print(f"  job {summary.job_id}: keys of {artefacts} released to {', '.join(nodes)}", markup=False)
    stdout.print(
        f"  result: accuracy {summary.accuracy:.3f}; proof verified offline ({summary.proof_checks} checks); "
        f"ledger of {summary.ledger_entries} entries verified",
        markup=False,
    )
    stdout.print(
        f"  denied job {summary.denied_job_id} ({summary.denial_code}): "
        f"{'; '.join(sorted(set(summary.denial_reasons)))}",
        markup=False,
    )
    stdout.print("  simulated TEE: the hardware protection was simulated; everything else ran for real.")


def demo(
    keep: Annotated[
        Path | None,
        typer.Option("--keep", help="Run in this (new or empty) directory and keep it afterwards."),
    ] = None,
    rows: Annotated[int, typer.Option("--rows", help="Synthetic patient records to generate.")] = 5000,
    epochs: Annotated[int, typer.Option("--epochs", help="Training epochs the job runs.")] = 40,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run the whole flow: owner, provider, security team, gateway and runner, then one denial."""
    stderr.print(
        "[bold yellow]SIMULATED TEE[/]: no hardware protection here. The verifiers, policies, ledger, "
        "envelopes and key sealing are the real ones."
    )
    options = DemoOptions(rows=rows, epochs=epochs)
    narrator = TerminalNarrator()
    try:
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            if any(keep.iterdir()):
                fail("demo.directory_not_empty", f"{keep} is not empty")
            summary = run_demo(keep, narrator, options)
        else:
            with tempfile.TemporaryDirectory(prefix="ccgate-demo-") as scratch:
                summary = run_demo(Path(scratch), narrator, options)
    except (DemoError, RuntimeError) as exc:
        fail("demo.failed", str(exc))
    if as_json:
        print_json(
            {
                "job": summary.job_id,
                "accuracy": summary.accuracy,
                "proof_checks": summary.proof_checks,
                "ledger_entries": summary.ledger_entries,
                "releases": [r.model_dump(mode="json") for r in summary.released_to],
                "denied_job": summary.denied_job_id,
                "denial_code": summary.denial_code,
                "denial_reasons": summary.denial_reasons,
                "workspace_left": summary.workspace_left,
            }
        )
        return
    _summary(summary)
