"""``ccgate bench …``: each prints ccgate's numbers next to the reference they are judged against."""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from enclave_runner.protocol.envelope import DEFAULT_SEGMENT_SIZE
from gateway.bench.envelope import GIB, TARGETS, run_envelope_bench
from gateway.bench.policy import run_policy_bench
from gateway.bench.verify import RATIOS, run_verify_bench
from gateway.cli.console import fail, print_json, stdout
from gateway.cli.policy_output import print_policy_bench

if TYPE_CHECKING:
    from gateway.bench.release import ReleaseBenchReport

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


def _milliseconds(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.2f}"


@app.command("verify")
def verify(
    vectors: Annotated[
        Path, typer.Option("--vectors", help="The test vector folder (holding nvidia/).")
    ] = Path("../shared/testvectors"),
    iterations: Annotated[int, typer.Option("--iterations", min=2, help="ccgate runs per row.")] = 200,
    reference_iterations: Annotated[
        int, typer.Option("--reference-iterations", min=1, help="nv-local-gpu-verifier runs.")
    ] = 20,
    reference_python: Annotated[
        str | None,
        typer.Option("--reference-python", help="Interpreter with the [nvidia] extra (default: this one)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Per-GPU Evidence verification time, cold and warm, next to NVIDIA's local verifier."""
    try:
        report = run_verify_bench(
            vectors,
            iterations=iterations,
            reference_iterations=reference_iterations,
            reference_python=reference_python,
        )
    except FileNotFoundError as exc:
        fail("bench.vectors_missing", str(exc), exit_code=2)
    if as_json:
        print_json(
            {
                "rows": [
                    {
                        "name": row.name,
                        "evidence": row.evidence,
                        "verdict": row.verdict,
                        "runs": len(row.seconds),
                        "median_seconds": row.median,
                        "p99_seconds": row.p99,
                        "note": row.note,
                    }
                    for row in report.rows
                ],
                "ratios": [
                    {
                        "measured": r.measured,
                        "reference": r.reference,
                        "goal": r.goal,
                        "ratio": report.ratio(r),
                    }
                    for r in RATIOS
                ],
                "notes": report.notes,
            }
        )
        return
    table = Table(title="Evidence verification per GPU (full-pass vector)")
    for column in ("verifier", "verdict", "runs", "median ms", "p99 ms"):
        table.add_column(column, justify="left" if column in {"verifier", "verdict"} else "right")
    for row in report.rows:
        table.add_row(
            row.name, row.verdict, str(len(row.seconds)), _milliseconds(row.median), _milliseconds(row.p99)
        )
    stdout.print(table)
    for row in report.rows:
        if row.note:
            stdout.print(f"{row.name}: {row.note}", markup=False)
    for ratio in RATIOS:
        value = report.ratio(ratio)
        if value is None:
            verdict = "not measured"
        else:
            verdict = f"{value:.1f}x"
            if ratio.goal is not None:
                verdict += f" (goal ≥ {ratio.goal:g}x: {'met' if value >= ratio.goal else 'MISSED'})"
        stdout.print(f"speed-up of {ratio.measured} over {ratio.reference}: {verdict}", markup=False)
    for note in report.notes:
        stdout.print(f"note: {note}", markup=False)


@app.command("policy")
def policy(
    decisions: Annotated[int, typer.Option("--decisions", min=1, help="Timed decisions.")] = 20_000,
    gpus: Annotated[int, typer.Option("--gpus", min=0, max=64, help="GPUs in the input.")] = 8,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Decisions per second and µs per decision of the production baseline on a sample node."""
    print_policy_bench(run_policy_bench(decisions, gpus), as_json)


@app.command("transfer")
def transfer(
    size: Annotated[int, typer.Option("--size", help="Plaintext bytes of the generated envelope.")] = GIB,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Where the gateway's data lives (default: the temporary directory)."),
    ] = None,
    http: Annotated[
        str, typer.Option("--http", help="uvicorn HTTP implementation: httptools or h11.")
    ] = "httptools",
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Client upload chunk size in bytes.")] = 4
    << 20,
    repeat: Annotated[
        int, typer.Option("--repeat", min=1, help="Runs; the best and the median are shown.")
    ] = 3,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Upload and download an envelope through a real gateway on loopback; print MB/s for each."""
    from gateway.bench.transfer import TARGET_MB_PER_SECOND, run_transfer_bench  # noqa: PLC0415 - bench only.

    report = run_transfer_bench(size, directory=directory, http=http, chunk_size=chunk_size, repeat=repeat)
    directions = (("upload", report.upload_seconds), ("download", report.download_seconds))
    if as_json:
        print_json(
            {
                "bytes": report.size,
                "directory": report.directory,
                "http": report.http,
                "chunk_size": report.chunk_size,
                "target_mb_per_second": TARGET_MB_PER_SECOND,
                "notes": report.notes,
                **{
                    name: {
                        "seconds": seconds,
                        "best_mb_per_second": report.rate(seconds, best=True),
                        "median_mb_per_second": report.rate(seconds, best=False),
                    }
                    for name, seconds in directions
                },
            }
        )
        return
    table = Table(title=f"transfer through the gateway, {report.size / GIB:.2f} GiB envelope, {report.http}")
    for column in ("direction", "runs (s)", "best MB/s", "median MB/s", "goal", ""):
        table.add_column(column, justify="left" if column in {"direction", ""} else "right")
    for name, seconds in directions:
        best, median = report.rate(seconds, best=True), report.rate(seconds, best=False)
        verdict = "met" if median >= TARGET_MB_PER_SECOND else "MISSED (median)"
        runs = " ".join(f"{s:.2f}" for s in seconds)
        table.add_row(name, runs, f"{best:,.0f}", f"{median:,.0f}", f"≥ {TARGET_MB_PER_SECOND:.0f}", verdict)
    stdout.print(table)
    for note in report.notes:
        stdout.print(f"note: {note}")


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


_RELEASES_OPTION = typer.Option("--releases", min=1, help="Timed releases.")
_GPUS_OPTION = typer.Option("--gpus", min=0, max=64, help="Simulated GPUs per node.")
_CONCURRENCY_OPTION = typer.Option("--concurrency", min=1, max=64)
_WORKERS_OPTION = typer.Option(
    "--workers", min=1, max=16, help="Server processes (as ccgate serve --workers)."
)


@app.command("release")
def release(
    releases: Annotated[int, _RELEASES_OPTION] = 300,
    gpus: Annotated[int, _GPUS_OPTION] = 8,
    concurrency: Annotated[int, _CONCURRENCY_OPTION] = 4,
    workers: Annotated[int, _WORKERS_OPTION] = 1,
    with_floor: Annotated[
        bool,
        typer.Option(
            "--floor",
            help="First run the protocol's mandatory work alone on the same stack, with the same options, "
            "and show both: what any implementation on these parts pays here, beside what ccgate pays.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Full releases per second and p50/p99 latency through a real gateway on loopback (SQLite)."""
    from gateway.bench.protocol_floor import run_floor_bench  # noqa: PLC0415
    from gateway.bench.release import run_release_bench  # noqa: PLC0415

    options = {"gpus": gpus, "concurrency": concurrency, "workers": workers}
    floor = run_floor_bench(releases, **options) if with_floor else None
    report = run_release_bench(releases, **options)
    numbers = _release_numbers(report)
    if as_json:
        print_json(numbers if floor is None else {**numbers, "floor": _release_numbers(floor)})
        return
    title = (
        f"release protocol, {report.gpus} simulated GPUs, {report.concurrency} concurrent runners, "
        f"{report.workers} gateway process(es)"
    )
    _print_release_table(title, numbers, None if floor is None else _release_numbers(floor))
    stdout.print(
        "a full release = challenge + Evidence (made by the load generator) + attestation, as runners see it",
        markup=False,
    )
    if floor is not None:
        stdout.print(
            "floor = the same requests to a bare FastAPI app on the gateway's SQLite engine doing only the "
            "protocol's mandatory work (token checks, nonce, one P-384 check per piece of Evidence, key "
            "unwrapping and sealing, signed ledger entries, durable commits, two signed tokens)",
            markup=False,
        )
    stdout.print(f"ledger after the run: {report.ledger_entries} entries, verified", markup=False)


def _release_numbers(report: "ReleaseBenchReport") -> dict[str, float | int | None]:
    return {
        "releases": len(report.full_seconds),
        "gpus": report.gpus,
        "concurrency": report.concurrency,
        "workers": report.workers,
        "ledger_entries_verified": report.ledger_entries,
        "releases_per_second": round(report.per_second, 1),
        "full_p50_ms": round(report.percentile(report.full_seconds, 50), 2),
        "full_p99_ms": round(report.percentile(report.full_seconds, 99), 2),
        "attest_p50_ms": round(report.percentile(report.attest_seconds, 50), 2),
        "attest_p99_ms": round(report.percentile(report.attest_seconds, 99), 2),
        "gateway_cpu_ms_per_release": _rounded(report.cpu_ms_per_release(report.gateway_cpu_seconds)),
        "load_generator_cpu_ms_per_release": _rounded(report.cpu_ms_per_release(report.load_cpu_seconds)),
        "cpu_bound_ceiling_per_second": _rounded(report.cpu_bound_ceiling),
    }


def _print_release_table(
    title: str, numbers: Mapping[str, float | int | None], floor: Mapping[str, float | int | None] | None
) -> None:
    from gateway.bench.release import TARGET_P50_MS, TARGET_RELEASES_PER_SECOND  # noqa: PLC0415

    goals = {
        "releases_per_second": f"≥ {TARGET_RELEASES_PER_SECOND:g}",
        "full_p50_ms": f"≤ {TARGET_P50_MS:g}",
    }
    rows = [
        ("releases per second", "releases_per_second", 1),
        ("full release p50 (ms)", "full_p50_ms", 2),
        ("full release p99 (ms)", "full_p99_ms", 2),
        ("attestation request p50 (ms)", "attest_p50_ms", 2),
        ("attestation request p99 (ms)", "attest_p99_ms", 2),
        ("gateway CPU per release (ms)", "gateway_cpu_ms_per_release", 2),
        ("load generator CPU per release (ms)", "load_generator_cpu_ms_per_release", 2),
        (f"CPU-bound ceiling on {os.cpu_count()} cores (releases/s)", "cpu_bound_ceiling_per_second", 2),
    ]
    table = Table(title=title)
    table.add_column("measure")
    table.add_column("ccgate", justify="right")
    if floor is not None:
        table.add_column("floor", justify="right")
    table.add_column("goal", justify="right")
    for label, key, digits in rows:
        cells = [_figure(numbers[key], digits)]
        if floor is not None:
            cells.append(_figure(floor[key], digits))
        table.add_row(label, *cells, goals.get(key, ""))
    stdout.print(table)


def _figure(value: float | int | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"
