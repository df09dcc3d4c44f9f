"""``ccgate bench envelope``: ccgate's envelope throughput next to this machine's own limits, in one run.

References, measured on the same file in the same run: ``cp`` (file→file, the I/O limit),
``openssl speed -evp aes-256-gcm`` single-core at 1 MiB (the compute limit) and, when installed, the
``age`` CLI. Every timed operation writes to a target that does not exist yet, so no run pays for
freeing the previous run's pages; each is repeated and the best run is reported (the median too).
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from enclave_runner.protocol.envelope import DEFAULT_SEGMENT_SIZE
from enclave_runner.protocol.envelope.parallel import default_workers

GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True)
class Measurement:
    """One timed operation: every run's seconds over ``size`` bytes."""

    name: str
    size: int
    runs: list[float]

    @property
    def best(self) -> float:
        """Throughput of the fastest run, in bytes per second."""
        return self.size / min(self.runs)

    @property
    def median(self) -> float:
        """Throughput of the median run, in bytes per second."""
        return self.size / statistics.median(self.runs)


@dataclass(frozen=True)
class Target:
    """A performance target of DESIGN §10: ``measured / reference >= ratio``."""

    measured: str
    reference: str
    ratio: float


TARGETS = (
    Target("ccgate encrypt file→file", "cp file→file", 0.9),
    Target("ccgate decrypt file→file", "cp file→file", 0.9),
    Target("ccgate encrypt file→file", "age encrypt file→file", 1.5),
    Target("ccgate decrypt file→file", "age decrypt file→file", 1.5),
    Target("ccgate decrypt file→/dev/null", "openssl aes-256-gcm 1 MiB, 1 core", 0.8),
)


@dataclass
class EnvelopeBenchReport:
    """Everything ``ccgate bench envelope`` prints."""

    size: int
    directory: str
    segment_size: int
    workers: int
    measurements: dict[str, Measurement] = field(default_factory=dict)
    peak_rss_bytes: int = 0
    notes: list[str] = field(default_factory=list)

    def ratio(self, target: Target) -> float | None:
        """``measured / reference`` by best run, or None when the reference was not measured."""
        measured = self.measurements.get(target.measured)
        reference = self.measurements.get(target.reference)
        if measured is None or reference is None:
            return None
        return measured.best / reference.best


def _time_command(argv: list[str], runs: int, before: Callable[[], None]) -> list[float]:
    seconds = []
    for _ in range(runs):
        before()
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - started)
    return seconds


def fresh(path: Path) -> Callable[[], None]:
    """A callback that removes ``path`` so the next timed run writes a new file."""

    def remove() -> None:
        path.unlink(missing_ok=True)

    return remove


def _make_input(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        left = size
        while left:
            chunk = os.urandom(min(left, 16 * MIB))
            handle.write(chunk)
            left -= len(chunk)


def _openssl_single_core(seconds: int) -> float | None:
    """Bytes per second of ``openssl speed -evp aes-256-gcm`` at 1 MiB blocks on one core."""
    if shutil.which("openssl") is None:
        return None
    argv = ["openssl", "speed", "-evp", "aes-256-gcm", "-bytes", str(MIB), "-seconds", str(seconds)]
    output = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    match = re.search(r"^AES-256-GCM\s+([\d.]+)k", output, re.MULTILINE | re.IGNORECASE)
    return float(match.group(1)) * 1000 if match else None


def _run_worker(job: str) -> tuple[dict[str, list[float]], int]:
    """Run the envelope worker on ``job``; return its timings and its own peak RSS in bytes."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.bench.envelope_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if process.stdin is None or process.stdout is None:
        raise RuntimeError("the benchmark worker has no pipes")
    process.stdin.write(job)
    process.stdin.close()
    output = process.stdout.read()
    if process.wait() != 0:
        raise subprocess.CalledProcessError(process.returncode, process.args)
    document = json.loads(output)
    return document["timings"], int(document["peak_rss_bytes"])


def default_directory() -> Path:
    """``/dev/shm`` when present (so the disk does not decide the result), else the temp directory."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


def run_envelope_bench(
    size: int = GIB,
    *,
    directory: Path | None = None,
    repeat: int = 3,
    segment_size: int = DEFAULT_SEGMENT_SIZE,
    workers: int | None = None,
    openssl_seconds: int = 3,
) -> EnvelopeBenchReport:
    """Run every measurement once (each ``repeat`` times) and return the report.

    Raises:
        OSError, subprocess.CalledProcessError: a file or a reference command failed.
    """
    base = directory or default_directory()
    report = EnvelopeBenchReport(size, str(base), segment_size, workers or default_workers())
    with tempfile.TemporaryDirectory(prefix="ccgate-bench-", dir=base) as scratch:
        work = Path(scratch)
        plain, copy, envelope, decrypted = (
            work / n for n in ("input.bin", "copy.bin", "input.ccge", "output.bin")
        )
        _make_input(plain, size)

        report.measurements["cp file→file"] = Measurement(
            "cp file→file", size, _time_command(["cp", str(plain), str(copy)], repeat, fresh(copy))
        )
        copy.unlink(missing_ok=True)

        key = os.urandom(32)
        job = {
            "key": key.hex(),
            "artefact_id": "bench",
            "segment_size": segment_size,
            "repeat": repeat,
            "workers": report.workers,
            "operations": [
                ["ccgate encrypt file→file", "encrypt", str(plain), str(envelope)],
                ["ccgate encrypt file→/dev/null", "encrypt", str(plain), os.devnull],
                ["ccgate decrypt file→file", "decrypt", str(envelope), str(decrypted)],
                ["ccgate decrypt file→/dev/null", "decrypt", str(envelope), os.devnull],
            ],
        }
        timings, report.peak_rss_bytes = _run_worker(json.dumps(job))
        for name, runs in timings.items():
            report.measurements[name] = Measurement(name, size, runs)
        if decrypted.read_bytes()[:MIB] != plain.read_bytes()[:MIB] or decrypted.stat().st_size != size:
            raise RuntimeError("the benchmark's decrypted output differs from its input")
        decrypted.unlink()

        rate = _openssl_single_core(openssl_seconds)
        if rate is not None:
            report.measurements["openssl aes-256-gcm 1 MiB, 1 core"] = Measurement(
                "openssl aes-256-gcm 1 MiB, 1 core", size, [size / rate]
            )
        else:
            report.notes.append("openssl is not installed: the compute-limit reference is missing")

        if shutil.which("age") and shutil.which("age-keygen"):
            identity = work / "age.key"
            subprocess.run(["age-keygen", "-o", str(identity)], check=True, capture_output=True)
            recipient = subprocess.run(
                ["age-keygen", "-y", str(identity)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            aged, unaged = work / "input.age", work / "output.age.bin"
            report.measurements["age encrypt file→file"] = Measurement(
                "age encrypt file→file",
                size,
                _time_command(["age", "-r", recipient, "-o", str(aged), str(plain)], repeat, fresh(aged)),
            )
            report.measurements["age decrypt file→file"] = Measurement(
                "age decrypt file→file",
                size,
                _time_command(
                    ["age", "-d", "-i", str(identity), "-o", str(unaged), str(aged)], repeat, fresh(unaged)
                ),
            )
        else:
            report.notes.append("age is not installed: the age comparison is skipped (apt-get install age)")
    return report
