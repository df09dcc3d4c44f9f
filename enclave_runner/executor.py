"""Run the model bundle's command as a subprocess: clean environment, no network, limits, a deadline.

Isolation, in order of strength: a new network namespace (``unshare --net``) when the kernel allows
it, otherwise the run is reported as ``network_isolation: unavailable`` in the receipt; resource
limits (address space, file size, open files, no core dumps); a new session so the whole process
group is killed at the deadline; an environment with nothing of the runner's in it. The job may
write only under its output directory and its TMPDIR: any other change inside the workspace is
detected and fails the run. (Beyond the workspace, the confidential VM is dedicated to the job.)
"""

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Literal

from enclave_runner.errors import JobError, JobOutputError, JobTimeoutError
from enclave_runner.workspace import Workspace

CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_MAX_FILE_BYTES = 16 << 30
NetworkIsolation = Literal["namespace", "unavailable"]


@dataclass(frozen=True)
class ExecutionLimits:
    """Limits applied to the job's process."""

    max_runtime_seconds: int
    max_address_space_bytes: int | None = None
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_open_files: int = 4096


@dataclass(frozen=True)
class ExecutionResult:
    """What happened when the job ran."""

    exit_code: int
    started_at: datetime
    finished_at: datetime
    network_isolation: NetworkIsolation
    stdout_path: Path
    stderr_path: Path


@dataclass(frozen=True)
class NetworkSandbox:
    """How jobs are cut off from the network here: the command prefix that starts a program in a new
    network namespace, or None when the kernel (or the container around the runner) refuses one."""

    prefix: tuple[str, ...] | None

    @property
    def isolation(self) -> NetworkIsolation:
        """What the receipt says about the job's network."""
        return "namespace" if self.prefix is not None else "unavailable"


def probe_network_sandbox(unshare: str | None) -> NetworkSandbox:
    """Find out whether ``unshare`` (a path; None when there is none) can start a program without a network.

    It tries a plain new network namespace, then one inside a new user namespace (for a runner that is
    not root), by running ``true`` in it. A refusal, a missing binary or a probe that hangs all mean
    ``unavailable``: the job then runs, and its receipt says so.
    """
    if unshare is None:
        return NetworkSandbox(None)
    for prefix in ((unshare, "--net", "--"), (unshare, "--map-root-user", "--net", "--")):
        try:
            probe = subprocess.run([*prefix, "true"], capture_output=True, check=False, timeout=10)  # noqa: S603
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return NetworkSandbox(prefix)
    return NetworkSandbox(None)


@cache
def default_network_sandbox() -> NetworkSandbox:
    """This machine's sandbox, probed once with the ``unshare`` on the runner's PATH."""
    return probe_network_sandbox(shutil.which("unshare"))


def network_isolation_available() -> NetworkIsolation:
    """Whether jobs here can be started in their own network namespace."""
    return default_network_sandbox().isolation


def _limits_setter(limits: ExecutionLimits) -> Callable[[], None]:
    def apply() -> None:
        # Runs in the child between fork and exec.
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.max_file_bytes, limits.max_file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.max_open_files, limits.max_open_files))
        if limits.max_address_space_bytes is not None:
            size = limits.max_address_space_bytes
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    return apply


def _resolve(command: tuple[str, ...], workspace: Workspace) -> list[str]:
    if not command:
        raise JobError("the job has an empty command line")
    program = command[0]
    if program in {"python", "python3"}:
        # The runner's own interpreter: the one the confidential VM image was measured with.
        return [sys.executable, *command[1:]]
    if "/" in program:
        candidate = (workspace.model / program).resolve()
        if not candidate.is_relative_to(workspace.model.resolve()) or not candidate.is_file():
            raise JobError(f"the bundle's program {program!r} is not a file inside the bundle")
        return [str(candidate), *command[1:]]
    found = shutil.which(program, path=CLEAN_PATH)
    if found is None:
        raise JobError(f"the bundle's program {program!r} is not on the runner's PATH")
    return [found, *command[1:]]


def _environment(workspace: Workspace, env: dict[str, str]) -> dict[str, str]:
    return {
        **env,
        "PATH": CLEAN_PATH,
        "HOME": str(workspace.tmp),
        "TMPDIR": str(workspace.tmp),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "CCGATE_INPUTS": str(workspace.inputs),
        "CCGATE_MODEL": str(workspace.model),
        "CCGATE_OUTPUT": str(workspace.output),
    }


def _snapshot(workspace: Workspace) -> dict[str, tuple[int, int, int]]:
    """Size, mtime and mode of everything in the workspace the job must not change."""
    state: dict[str, tuple[int, int, int]] = {}
    for top in (workspace.inputs, workspace.model):
        for path in [top, *top.rglob("*")]:
            info = path.lstat()
            state[str(path)] = (info.st_size, info.st_mtime_ns, info.st_mode)
    for entry in workspace.root.iterdir():
        if entry.name not in {"inputs", "model", "output", "tmp"}:
            info = entry.lstat()
            state[str(entry)] = (info.st_size, info.st_mtime_ns, info.st_mode)
    return state


def _changed(before: dict[str, tuple[int, int, int]], workspace: Workspace) -> list[str]:
    after = _snapshot(workspace)
    return sorted({path for path in before.keys() | after.keys() if before.get(path) != after.get(path)})


def run_job(
    workspace: Workspace,
    command: tuple[str, ...],
    env: dict[str, str],
    limits: ExecutionLimits,
    network: NetworkSandbox | None = None,
) -> ExecutionResult:
    """Run ``command`` in ``workspace.model`` with ``env`` added; wait at most the maximum runtime.

    ``network`` is how the job is kept off the network (by default, this machine's probed sandbox).
    A job that hits a resource limit ends like any failing program (for instance ``MemoryError``, or
    ``EFBIG`` on a write past the file-size limit): its exit code goes into the receipt.

    Raises:
        JobError: the program cannot be found.
        JobTimeoutError: the deadline passed; the whole process group was killed.
        JobOutputError: the job changed the workspace outside its output directory and TMPDIR.
    """
    argv = _resolve(command, workspace)
    network = network or default_network_sandbox()
    logs = workspace.tmp / ".ccgate-logs"
    logs.mkdir(mode=0o700, exist_ok=True)
    stdout_path, stderr_path = logs / "stdout.txt", logs / "stderr.txt"
    before = _snapshot(workspace)
    started = datetime.now(UTC)
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen(  # noqa: S603 - the command is the attested bundle's, run in isolation.
            [*(network.prefix or ()), *argv],
            cwd=workspace.model,
            env=_environment(workspace, env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=_limits_setter(limits),  # noqa: PLW1509 - the runner starts no threads before this.
        )
        deadline = time.monotonic() + limits.max_runtime_seconds
        try:
            exit_code = process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise JobTimeoutError(
                f"the job ran longer than {limits.max_runtime_seconds} s and was killed"
            ) from None
        except BaseException:
            _kill_group(process)
            raise
        finally:
            _kill_group(process)
    finished = datetime.now(UTC)
    changed = _changed(before, workspace)
    if changed:
        shown = ", ".join(str(Path(p).relative_to(workspace.root)) for p in changed[:5])
        raise JobOutputError(f"the job changed files outside its output directory: {shown}")
    return ExecutionResult(exit_code, started, finished, network.isolation, stdout_path, stderr_path)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the job's whole process group (it may have forked), then reap the leader."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
