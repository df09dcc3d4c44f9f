"""Child process for ``ccgate bench envelope``: runs the envelope operations so their peak RSS is measurable.

Reads one JSON job on stdin (the throwaway benchmark key travels there, never on the command line)
and prints one JSON line of timings. It imports only the envelope, so its RSS is what a user of the
library pays.
"""

import json
import os
import resource
import sys
import time
from pathlib import Path

from enclave_runner.protocol.envelope import decrypt_file, encrypt_file


def _fresh(path: str) -> None:
    if path != os.devnull:
        Path(path).unlink(missing_ok=True)


def run(job: dict[str, object]) -> dict[str, list[float]]:
    """Time each operation of ``job`` ``repeat`` times; return the seconds of every run."""
    key = bytes.fromhex(str(job["key"]))
    artefact_id = str(job["artefact_id"])
    segment_size = int(str(job["segment_size"]))
    repeat = int(str(job["repeat"]))
    workers = int(str(job["workers"]))
    timings: dict[str, list[float]] = {}
    operations = job["operations"]
    assert isinstance(operations, list)
    for name, operation, source, target in operations:
        runs = []
        for _ in range(repeat):
            _fresh(target)
            started = time.perf_counter()
            if operation == "encrypt":
                encrypt_file(source, target, key, artefact_id, segment_size=segment_size, workers=workers)
            else:
                decrypt_file(source, target, key, artefact_id, workers=workers)
            runs.append(time.perf_counter() - started)
        timings[name] = runs
    return timings


def peak_rss_bytes() -> int:
    """This process's peak resident set since exec.

    ``VmHWM`` is read rather than ``ru_maxrss`` because the latter carries over from the parent
    across a vfork+exec and would report the benchmark driver's memory instead of ours.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


if __name__ == "__main__":
    timings = run(json.loads(sys.stdin.read()))
    sys.stdout.write(json.dumps({"timings": timings, "peak_rss_bytes": peak_rss_bytes()}) + "\n")
