"""``ccgate-runner``: the enclave runner's entry point.

    ccgate-runner enroll --gateway URL --credential FILE --node-id ID [attester options]
    ccgate-runner run    --gateway URL --credential FILE [--job ID | --poll SECONDS] [attester options]
                         [--workspace DIR] [--max-address-space BYTES] [--max-file-size BYTES]

    attester options: --attester tsm|simulated  --gpu-attester nvml|simulated|none  --simulated-node DIR

The node credential comes from ``ccgate node register`` (a file, mode 0600). ``enroll`` proves the node
is the registered hardware (Evidence bound to the gateway's enrolment nonce and the node id); ``run``
takes jobs. Each outcome is one JSON line on stdout (codes only). Exit 0 on success, 1 on any
refusal or failure, 2 on usage errors. argparse keeps the trusted runner small.
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
from enclave_runner.executor import DEFAULT_MAX_FILE_BYTES
from enclave_runner.lifecycle import JobOutcome, RunnerConfig, run_one
from enclave_runner.protocol.binding import enrollment_report_data, gpu_nonce
from enclave_runner.protocol.messages import EvidenceMessage


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gateway", required=True, help="Gateway base URL, e.g. https://gateway:8443")
    parser.add_argument("--credential", required=True, type=Path, help="Node credential file (mode 0600)")
    parser.add_argument("--attester", choices=("tsm", "simulated"), default="tsm", help="CPU Attester")
    parser.add_argument("--gpu-attester", choices=("nvml", "simulated", "none"), default="nvml")
    parser.add_argument("--simulated-node", type=Path, help="Node directory of `ccgate sim init` (simulated)")


def argument_parser() -> argparse.ArgumentParser:
    """The command line of ``ccgate-runner``."""
    parser = argparse.ArgumentParser(prog="ccgate-runner", description="Run ccgate jobs inside a TEE.")
    commands = parser.add_subparsers(dest="command", required=True)
    enroll = commands.add_parser("enroll", help="Prove this node is the registered hardware")
    _common(enroll)
    enroll.add_argument("--node-id", required=True, help="The node id `ccgate node register` printed")
    run = commands.add_parser("run", help="Claim and run jobs")
    _common(run)
    work = run.add_mutually_exclusive_group()
    work.add_argument("--job", help="Run this job id once")
    work.add_argument("--poll", type=float, metavar="SECONDS", help="Keep polling for offered jobs")
    run.add_argument("--workspace", type=Path, help="Where job workspaces go (default /dev/shm)")
    run.add_argument("--max-address-space", type=int, help="RLIMIT_AS for jobs, in bytes")
    run.add_argument(
        "--max-file-size",
        type=int,
        default=DEFAULT_MAX_FILE_BYTES,
        help=f"RLIMIT_FSIZE for jobs: the largest file a job may write (default {DEFAULT_MAX_FILE_BYTES})",
    )
    return parser


def _read_credential(path: Path) -> str:
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise RunnerError(f"{path} has mode {mode:04o}; the node credential must be 0600")
    return path.read_text(encoding="ascii").strip()


def _attesters(arguments: argparse.Namespace) -> tuple[CpuAttester, GpuAttester | None]:
    cpu: CpuAttester = TsmAttester()
    gpus: GpuAttester | None = NvmlAttester() if arguments.gpu_attester == "nvml" else None
    if arguments.attester == "simulated" or arguments.gpu_attester == "simulated":
        if arguments.simulated_node is None:
            raise RunnerError("--simulated-node is required with a simulated Attester")
        node = load_simulated_node(arguments.simulated_node)
        if arguments.attester == "simulated":
            cpu = SimulatedCpuAttester(node)
        if arguments.gpu_attester == "simulated":
            gpus = SimulatedGpuAttester(node)
    return cpu, gpus


def _emit(document: dict[str, object]) -> None:
    print(json.dumps({key: value for key, value in document.items() if value is not None}), flush=True)


def _enroll(client: GatewayClient, node_id: str, cpu: CpuAttester, gpus: GpuAttester | None) -> bool:
    nonce, _expires = client.enrollment_challenge(node_id)
    bound = enrollment_report_data(nonce, node_id)
    evidence = EvidenceMessage(cpu=cpu.collect(bound), gpus=gpus.collect(gpu_nonce(bound)) if gpus else ())
    state = client.enroll(node_id, nonce, evidence)
    _emit({"node_id": node_id, "state": state})
    return state == "active"


def runner_config(arguments: argparse.Namespace) -> RunnerConfig:
    """The workspace and job limits ``run``'s options ask for."""
    return RunnerConfig(
        workspace_base=arguments.workspace,
        max_address_space_bytes=arguments.max_address_space,
        max_file_bytes=arguments.max_file_size,
    )


def _run(
    client: GatewayClient, arguments: argparse.Namespace, cpu: CpuAttester, gpus: GpuAttester | None
) -> bool:
    config = runner_config(arguments)
    all_completed = True
    while True:
        jobs = [arguments.job] if arguments.job else [job.job_id for job in client.offered_jobs()]
        for job_id in jobs:
            try:
                outcome = run_one(client, job_id, cpu, gpus, config)
            except RunnerError as exc:
                outcome = JobOutcome(job_id, "failed", code=getattr(exc, "problem_code", exc.code))
            _emit(vars(outcome))
            all_completed = all_completed and outcome.status == "completed"
        if arguments.poll is None:
            return all_completed
        time.sleep(arguments.poll)


def main(argv: Sequence[str] | None = None) -> None:
    """Enrol the node or run jobs, as the arguments say; exit 0 only if everything succeeded."""
    arguments = argument_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s ccgate-runner %(levelname)s %(message)s")
    try:
        credential = _read_credential(arguments.credential)
        cpu, gpus = _attesters(arguments)
    except (RunnerError, OSError) as exc:
        print(f"ccgate-runner: {getattr(exc, 'code', 'io.error')}: {exc}", file=sys.stderr)
        sys.exit(1)
    client = GatewayClient(arguments.gateway, credential)
    try:
        if arguments.command == "enroll":
            succeeded = _enroll(client, arguments.node_id, cpu, gpus)
        else:
            succeeded = _run(client, arguments, cpu, gpus)
    except RunnerError as exc:
        print(f"ccgate-runner: {getattr(exc, 'problem_code', exc.code)}: {exc}", file=sys.stderr)
        succeeded = False
    finally:
        client.close()
    sys.exit(0 if succeeded else 1)


if __name__ == "__main__":
    main()
