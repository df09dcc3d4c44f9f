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
from enclave_runner.executor import ExecutionLimits, network_isolation_available, run_job
from enclave_runner.workspace import Workspace, private_workspace


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
