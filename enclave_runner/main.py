"""``ccgate-runner``: the enclave runner's entry point.

    ccgate-runner --gateway URL --credential FILE [--job ID | --poll SECONDS] [--attester tsm|simulated]
                  [--gpu-attester nvml|simulated|none] [--simulated-node DIR] [--workspace DIR]

The node credential comes from ``ccgate node register`` (a file, mode 0600). Each job's outcome is
printed as one JSON line (codes only). Exit 0 when every job completed, 1 otherwise, 2 on usage.
Argument parsing is argparse rather than the gateway's typer CLI to keep the trusted runner small.
"""

import argparse
import json
import logging
import os
import stat
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from enclave_runner.attesters.base import CpuAttester, GpuAttester
from enclave_runner.attesters.nvml import NvmlAttester
from enclave_runner.attesters.simulated import SimulatedCpuAttester, SimulatedGpuAttester, load_simulated_node
from enclave_runner.attesters.tsm import TsmAttester
from enclave_runner.client import GatewayClient
from enclave_runner.errors import RunnerError
from enclave_runner.lifecycle import JobOutcome, RunnerConfig, run_one


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ccgate-runner", description="Run ccgate jobs inside a TEE.")
    parser.add_argument("--gateway", required=True, help="Gateway base URL, e.g. https://gateway:8443")
    parser.add_argument("--credential", required=True, type=Path, help="Node credential file (mode 0600)")
    work = parser.add_mutually_exclusive_group()
    work.add_argument("--job", help="Run this job id once")
    work.add_argument("--poll", type=float, metavar="SECONDS", help="Keep polling for offered jobs")
    parser.add_argument("--attester", choices=("tsm", "simulated"), default="tsm", help="CPU Attester")
    parser.add_argument("--gpu-attester", choices=("nvml", "simulated", "none"), default="nvml")
    parser.add_argument("--simulated-node", type=Path, help="Node directory of `ccgate sim init` (simulated)")
    parser.add_argument("--workspace", type=Path, help="Where job workspaces go (default /dev/shm)")
    parser.add_argument("--max-address-space", type=int, help="RLIMIT_AS for jobs, in bytes")
    return parser


def _read_credential(path: Path) -> str:
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise RunnerError(f"{path} has mode {mode:04o}; the node credential must be 0600")
    return path.read_text(encoding="ascii").strip()


def _attesters(arguments: argparse.Namespace) -> tuple[CpuAttester, GpuAttester | None]:
    cpu: CpuAttester
    gpus: GpuAttester | None = None
    if arguments.attester == "simulated" or arguments.gpu_attester == "simulated":
        if arguments.simulated_node is None:
            raise RunnerError("--simulated-node is required with a simulated Attester")
        node = load_simulated_node(arguments.simulated_node)
        if arguments.attester == "simulated":
            cpu = SimulatedCpuAttester(node)
        if arguments.gpu_attester == "simulated":
            gpus = SimulatedGpuAttester(node)
    if arguments.attester == "tsm":
        cpu = TsmAttester()
    if arguments.gpu_attester == "nvml":
        gpus = NvmlAttester()
    return cpu, gpus


def _emit(outcome: JobOutcome) -> None:
    print(json.dumps({key: value for key, value in vars(outcome).items() if value is not None}), flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Run jobs as the arguments say; exit 0 only if every job completed."""
    arguments = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s ccgate-runner %(levelname)s %(message)s")
    try:
        credential = _read_credential(arguments.credential)
        cpu, gpus = _attesters(arguments)
    except (RunnerError, OSError) as exc:
        print(f"ccgate-runner: {getattr(exc, 'code', 'io.error')}: {exc}", file=sys.stderr)
        sys.exit(1)
    config = RunnerConfig(
        workspace_base=arguments.workspace, max_address_space_bytes=arguments.max_address_space
    )
    client = GatewayClient(arguments.gateway, credential)
    all_completed = True
    try:
        while True:
            jobs = [arguments.job] if arguments.job else [job.job_id for job in client.offered_jobs()]
            for job_id in jobs:
                try:
                    outcome = run_one(client, job_id, cpu, gpus, config)
                except RunnerError as exc:
                    outcome = JobOutcome(job_id, "failed", code=getattr(exc, "problem_code", exc.code))
                _emit(outcome)
                all_completed = all_completed and outcome.status == "completed"
            if arguments.poll is None:
                break
            time.sleep(arguments.poll)
    finally:
        client.close()
    sys.exit(0 if all_completed else 1)


if __name__ == "__main__":
    main()
