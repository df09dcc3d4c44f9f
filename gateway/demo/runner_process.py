"""The demo's runner: ``ccgate-runner`` as a separate process, exactly as a provider would start it.

The gateway package never imports the runner (DESIGN §3); the demo starts it the way a provider's
node does, with the node credential in a 0600 file and the simulated Attesters reading the node's
simulated devices. Its JSON-lines output (codes only) is parsed here.
"""

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from gateway.keyfiles import write_key_file

RUNNER_MODULE: Final = "enclave_runner.main"
RUNNER_TIMEOUT_SECONDS: Final = 600


@dataclass(frozen=True)
class RunnerNode:
    """What the runner of one node needs: the gateway, its credential and its simulated devices."""

    gateway_url: str
    credential: Path
    devices: Path

    @classmethod
    def install(cls, gateway_url: str, devices: Path, credential_token: str) -> "RunnerNode":
        """Write the node credential beside the node's devices (mode 0600) and return the node."""
        credential = devices / "node.credential"
        write_key_file(credential, (credential_token + "\n").encode("ascii"))
        return cls(gateway_url, credential, devices)


@dataclass(frozen=True)
class RunnerRun:
    """One invocation: its exit status, the JSON documents it printed and its log (stderr)."""

    exit_code: int
    documents: list[dict[str, object]]
    log: str

    @property
    def last(self) -> dict[str, object]:
        """The last document printed (the outcome), or an empty one."""
        return self.documents[-1] if self.documents else {}


def _argv(node: RunnerNode, command: str, *arguments: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        RUNNER_MODULE,
        command,
        "--gateway",
        node.gateway_url,
        "--credential",
        str(node.credential),
        "--attester",
        "simulated",
        "--gpu-attester",
        "simulated",
        "--simulated-node",
        str(node.devices),
        *arguments,
    ]


def _invoke(node: RunnerNode, command: str, *arguments: str) -> RunnerRun:
    done = subprocess.run(  # noqa: S603 - this interpreter running ccgate's own runner.
        _argv(node, command, *arguments),
        capture_output=True,
        text=True,
        timeout=RUNNER_TIMEOUT_SECONDS,
        check=False,
    )
    return RunnerRun(done.returncode, parse_documents(done.stdout), done.stderr)


def parse_documents(output: str) -> list[dict[str, object]]:
    """The JSON objects among the runner's output lines."""
    documents = []
    for line in output.splitlines():
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            documents.append(parsed)
    return documents


def enroll(node: RunnerNode, node_id: str) -> RunnerRun:
    """``ccgate-runner enroll``: prove the node is the registered hardware."""
    return _invoke(node, "enroll", "--node-id", node_id)


def run_job(node: RunnerNode, job_id: str, workspace: Path) -> RunnerRun:
    """``ccgate-runner run --job``: claim, attest, run and upload one job."""
    return _invoke(node, "run", "--job", job_id, "--workspace", str(workspace))


def start_job(node: RunnerNode, job_id: str, workspace: Path) -> "subprocess.Popen[str]":
    """Start ``ccgate-runner run --job`` without waiting (to signal it, say)."""
    return subprocess.Popen(  # noqa: S603 - this interpreter running ccgate's own runner.
        _argv(node, "run", "--job", job_id, "--workspace", str(workspace)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
