"""``ccgate bench …``: each prints ccgate's numbers next to the reference they are judged against."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from enclave_runner.protocol.envelope import DEFAULT_SEGMENT_SIZE
from gateway.bench.envelope import GIB, TARGETS, run_envelope_bench
from gateway.bench.policy import run_policy_bench
from gateway.cli.console import print_json, stdout
from gateway.cli.policy_output import print_policy_bench

app = typer.Typer(help="Measure ccgate against this machine's own limits.", no_args_is_help=True)


@app.command("envelope")
def envelope(
    size: Annotated[int, typer.Option("--size", help="Bytes in the generated file.")] = GIB,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where to put the files (default /dev/shm when present).")
    ] = None,
    repeat: Annotated[
        int, typer.Option("--repeat", min=1, help="Runs per operation; the best is reported.")
    ] = 3,
    segment_size: Annotated[int, typer.Option("--segment-size")] = DEFAULT_SEGMENT_SIZE,
    workers: Annotated[int | None, typer.Option("--workers", help="Threads (default: one per core).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Encrypt and decrypt a generated file; print throughput next to cp, openssl and age, and peak RSS."""
    report = run_envelope_bench(
        size, directory=directory, repeat=repeat, segment_size=segment_size, workers=workers
    )
    if as_json:
        print_json(
            {
                "size": report.size,
                "directory": report.directory,
                "segment_size": report.segment_size,
                "workers": report.workers,
                "peak_rss_bytes": report.peak_rss_bytes,
                "measurements": {
                    name: {
                        "best_bytes_per_second": m.best,
                        "median_bytes_per_second": m.median,
                        "seconds": m.runs,
                    }
                    for name, m in report.measurements.items()
                },
                "targets": [
                    {
                        "measured": t.measured,
                        "reference": t.reference,
                        "goal": t.ratio,
                        "ratio": report.ratio(t),
                    }
                    for t in TARGETS
                ],
                "notes": report.notes,
            }
        )
        return
    table = Table(
        title=f"envelope, {report.size / GIB:.2f} GiB in {report.directory}, {report.workers} workers"
    )
    table.add_column("operation")
    table.add_column("best GB/s", justify="right")
    table.add_column("median GB/s", justify="right")
    for name, measurement in report.measurements.items():
        table.add_row(name, f"{measurement.best / 1e9:.2f}", f"{measurement.median / 1e9:.2f}")
    stdout.print(table)
    ratios = Table(title="ratios (best runs) against DESIGN §10")
    ratios.add_column("ccgate")
    ratios.add_column("reference")
    ratios.add_column("ratio", justify="right")
    ratios.add_column("goal", justify="right")
    ratios.add_column("")
    for target in TARGETS:
        ratio = report.ratio(target)
        verdict = "n/a" if ratio is None else ("met" if ratio >= target.ratio else "MISSED")
        shown = "n/a" if ratio is None else f"{ratio:.2f}x"
        ratios.add_row(target.measured, target.reference, shown, f"≥ {target.ratio}x", verdict)
    stdout.print(ratios)
    rss_verdict = "met" if 0 < report.peak_rss_bytes <= 64 * 1024 * 1024 else "MISSED"
    rss = report.peak_rss_bytes / (1 << 20)
    stdout.print(f"peak RSS of the ccgate process: {rss:.1f} MiB (goal ≤ 64 MiB: {rss_verdict})")
    for note in report.notes:
        stdout.print(f"note: {note}")


@app.command("policy")
def policy(
    decisions: Annotated[int, typer.Option("--decisions", min=1, help="Timed decisions.")] = 20_000,
    gpus: Annotated[int, typer.Option("--gpus", min=0, max=64, help="GPUs in the input.")] = 8,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Decisions per second and µs per decision of the production baseline on a sample node."""
    print_policy_bench(run_policy_bench(decisions, gpus), as_json)
