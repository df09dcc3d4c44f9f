"""The workspace disappears on every exit path; the executor isolates, limits and polices the job."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from enclave_runner.errors import JobError, JobOutputError, JobTimeoutError
from enclave_runner.executor import (
    DEFAULT_MAX_FILE_BYTES,
    ExecutionLimits,
    NetworkSandbox,
    network_isolation_available,
    probe_network_sandbox,
    run_job,
)
from enclave_runner.main import argument_parser, runner_config
from enclave_runner.workspace import Workspace, private_workspace
from tests.enclave_runner.sandbox_fakes import UnshareBehaviour, fake_unshare


def test_the_workspace_is_private_and_removed_after_success(tmp_path: Path) -> None:
    with private_workspace(tmp_path) as workspace:
        assert (workspace.root.stat().st_mode & 0o777) == 0o700
        (workspace.inputs / "secret.csv").write_text("plaintext")
        root = workspace.root
    assert not root.exists()


def test_the_workspace_is_removed_after_an_exception(tmp_path: Path) -> None:
    roots: list[Path] = []

    def failing_job() -> None:
        with private_workspace(tmp_path) as workspace:
            roots.append(workspace.root)
            (workspace.output / "ro").mkdir()
            (workspace.output / "ro" / "f").write_text("x")
            os.chmod(workspace.output / "ro", 0o500)
            raise RuntimeError("job failed")

    with pytest.raises(RuntimeError):
        failing_job()
    assert not roots[0].exists()


def test_the_workspace_is_removed_on_sigterm(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from enclave_runner.workspace import private_workspace, terminate_cleanly
        with terminate_cleanly(), private_workspace(Path({str(tmp_path)!r})) as ws:
            (ws.inputs / "secret").write_text("plaintext")
            print(ws.root, flush=True)
            time.sleep(60)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    root = Path(process.stdout.readline().strip())
    assert root.exists()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 128 + signal.SIGTERM
    assert not root.exists()


def _job(workspace: Workspace, code: str, runtime: int = 30) -> None:
    (workspace.model / "job.py").write_text(textwrap.dedent(code))
    run_job(workspace, ("python3", "job.py"), {"MODE": "test"}, ExecutionLimits(runtime))


def test_a_job_runs_with_a_clean_environment(tmp_path: Path) -> None:
    with private_workspace(tmp_path) as workspace:
        (workspace.model / "job.py").write_text(
            "import os, json\n"
            "out = os.path.join(os.environ['CCGATE_OUTPUT'], 'env.json')\n"
            "open(out, 'w').write(json.dumps(dict(os.environ)))\n"
        )
        result = run_job(workspace, ("python3", "job.py"), {"MODE": "test"}, ExecutionLimits(30))
        env = (workspace.output / "env.json").read_text()
    assert result.exit_code == 0
    assert '"MODE": "test"' in env
    assert "CCGATE_TOKEN" not in env
    assert "VIRTUAL_ENV" not in env


def test_a_job_past_its_runtime_is_killed(tmp_path: Path) -> None:
    with private_workspace(tmp_path) as workspace:
        started = time.monotonic()
        with pytest.raises(JobTimeoutError):
            _job(workspace, "import time\ntime.sleep(60)\n", runtime=1)
        assert time.monotonic() - started < 20


def test_a_job_writing_outside_its_output_directory_fails(tmp_path: Path) -> None:
    with private_workspace(tmp_path) as workspace, pytest.raises(JobOutputError):
        _job(
            workspace,
            "import os\nopen(os.path.join(os.environ['CCGATE_INPUTS'], 'planted'), 'w').write('x')\n",
        )


def test_a_job_modifying_its_own_bundle_fails(tmp_path: Path) -> None:
    with private_workspace(tmp_path) as workspace, pytest.raises(JobOutputError):
        _job(workspace, "open(__file__, 'a').write('# changed')\n")


def test_a_missing_program_is_a_job_error(tmp_path: Path) -> None:
    with private_workspace(tmp_path) as workspace, pytest.raises(JobError):
        run_job(workspace, ("no-such-program-ccgate",), {}, ExecutionLimits(5))


def test_a_program_path_out_of_the_bundle_is_refused(tmp_path: Path) -> None:
    with private_workspace(tmp_path) as workspace, pytest.raises(JobError):
        run_job(workspace, ("../../../bin/sh",), {}, ExecutionLimits(5))


@pytest.mark.skipif(
    network_isolation_available() == "unavailable", reason="this kernel refuses network namespaces"
)
def test_the_job_has_no_network(tmp_path: Path) -> None:
    with private_workspace(tmp_path) as workspace:
        _job(
            workspace,
            """
            import os, socket
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect(("127.0.0.1", 5432))
                verdict = "connected"
            except OSError as exc:
                verdict = "refused"
            open(os.path.join(os.environ["CCGATE_OUTPUT"], "net"), "w").write(verdict)
            """,
        )
        assert (workspace.output / "net").read_text() == "refused"


# ------------------------------------------------------------------ the network sandbox, probed


@pytest.mark.parametrize(
    ("behaviour", "flags"),
    [
        ("allowing", ("--net", "--")),
        ("user-namespace-only", ("--map-root-user", "--net", "--")),
        ("refusing", None),
    ],
    ids=["a kernel that allows it", "only inside a user namespace", "a kernel that refuses it"],
)
def test_the_probe_finds_how_to_start_a_job_without_a_network(
    tmp_path: Path, behaviour: UnshareBehaviour, flags: tuple[str, ...] | None
) -> None:
    fake = fake_unshare(tmp_path / "bin", behaviour, tmp_path / "unshare.log")
    sandbox = probe_network_sandbox(str(fake))
    assert sandbox.prefix == (None if flags is None else (str(fake), *flags))
    assert sandbox.isolation == ("unavailable" if flags is None else "namespace")


@pytest.mark.parametrize("unshare", [None, "/nonexistent/unshare"], ids=["no unshare", "a vanished unshare"])
def test_without_unshare_isolation_is_unavailable(unshare: str | None) -> None:
    assert probe_network_sandbox(unshare) == NetworkSandbox(None)


@pytest.mark.parametrize("behaviour", ["allowing", "refusing"])
def test_a_job_runs_through_the_sandbox_only_when_it_is_available(
    tmp_path: Path, behaviour: UnshareBehaviour
) -> None:
    log = tmp_path / "unshare.log"
    sandbox = probe_network_sandbox(str(fake_unshare(tmp_path / "bin", behaviour, log)))
    with private_workspace(tmp_path) as workspace:
        (workspace.model / "job.py").write_text("print('ran')\n")
        result = run_job(workspace, ("python3", "job.py"), {}, ExecutionLimits(30), sandbox)
        assert result.stdout_path.read_text() == "ran\n"
    assert result.exit_code == 0
    assert result.network_isolation == sandbox.isolation
    through_unshare = [line for line in log.read_text().splitlines() if line.endswith("job.py")]
    assert len(through_unshare) == (1 if behaviour == "allowing" else 0)


# ------------------------------------------------------------------ resource limits


ALLOCATE_1_GIB = "buffer = bytes(1 << 30)\nprint(len(buffer))\n"


@pytest.mark.parametrize(
    ("limit", "exit_code"),
    [(None, 0), (256 << 20, 1)],
    ids=["no limit: the allocation succeeds", "a 256 MiB limit: MemoryError"],
)
def test_an_allocation_beyond_the_address_space_limit_fails_the_job(
    tmp_path: Path, limit: int | None, exit_code: int
) -> None:
    # bytes(n) is calloc'd: without a limit the pages are never touched, so the control run is cheap.
    with private_workspace(tmp_path) as workspace:
        (workspace.model / "job.py").write_text(ALLOCATE_1_GIB)
        result = run_job(
            workspace, ("python3", "job.py"), {}, ExecutionLimits(30, max_address_space_bytes=limit)
        )
        stderr = result.stderr_path.read_text()
    assert result.exit_code == exit_code, stderr
    assert ("MemoryError" in stderr) == (limit is not None)


def test_a_write_beyond_the_file_size_limit_fails_the_job(tmp_path: Path) -> None:
    with private_workspace(tmp_path) as workspace:
        (workspace.model / "job.py").write_text(
            "import os\nopen(os.path.join(os.environ['CCGATE_OUTPUT'], 'big'), 'wb').write(bytes(2 << 20))\n"
        )
        result = run_job(workspace, ("python3", "job.py"), {}, ExecutionLimits(30, max_file_bytes=1 << 20))
        assert result.exit_code == 1
        assert "File too large" in result.stderr_path.read_text()
        assert (workspace.output / "big").stat().st_size == 1 << 20, "the write stopped at the limit"


def test_a_program_killed_by_the_file_size_limit_reports_the_signal(tmp_path: Path) -> None:
    # Unlike Python, most programs do not ignore SIGXFSZ: the kernel kills them, and the exit code says so.
    with private_workspace(tmp_path) as workspace:
        (workspace.model / "job.sh").write_text('exec head -c 2097152 /dev/zero > "$CCGATE_OUTPUT/big"\n')
        result = run_job(workspace, ("sh", "job.sh"), {}, ExecutionLimits(30, max_file_bytes=1 << 20))
        assert result.exit_code == -signal.SIGXFSZ
        assert (workspace.output / "big").stat().st_size == 1 << 20


def test_the_runner_command_line_sets_the_file_size_and_address_space_limits() -> None:
    base = ["run", "--gateway", "https://gateway", "--credential", "node.credential"]
    defaults = runner_config(argument_parser().parse_args(base))
    assert defaults.max_file_bytes == DEFAULT_MAX_FILE_BYTES
    assert defaults.max_address_space_bytes is None
    given = runner_config(
        argument_parser().parse_args(
            [*base, "--max-file-size", "1048576", "--max-address-space", "268435456"]
        )
    )
    assert given.max_file_bytes == 1 << 20
    assert given.max_address_space_bytes == 256 << 20
