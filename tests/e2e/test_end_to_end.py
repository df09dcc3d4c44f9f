"""End to end on loopback: a real uvicorn gateway process, real ``ccgate-runner`` processes, the three
personas through the API. The demo is the script; these tests hold it to what it claims."""

import base64
import signal
import time
from pathlib import Path

import pytest

from gateway.demo import runner_process
from gateway.demo.narration import RecordingNarrator
from gateway.demo.walkthrough import CURRENT_NODE, DemoOptions, demo_world, run_demo
from gateway.domain import JobState, Role
from tests.gateway.cli.cli_runner import ccgate

pytestmark = pytest.mark.slow

SMALL = DemoOptions(rows=1500, epochs=5, gpus=2)
CSV_HEADER = b"patient_id,age,sex,bmi"


def _files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_the_demo_releases_runs_verifies_and_denies(tmp_path: Path) -> None:
    story = RecordingNarrator()
    summary = run_demo(tmp_path, story, SMALL)
    assert summary.accuracy is not None
    assert summary.accuracy > 0.6
    assert summary.proof_checks == 7
    assert summary.ledger_entries > 0
    assert {r.decision for r in summary.released_to} == {"allow"}
    assert len(summary.released_to) == 2
    assert summary.denial_code == "policy.denied"
    assert summary.denial_reasons
    assert all("gpu-driver-minimum" in reason for reason in summary.denial_reasons)
    assert summary.workspace_left == []
    # The gateway held ciphertext only: no plaintext record, and no data key, in anything it wrote.
    keys = [path.read_bytes() for path in (tmp_path / "owner").glob("*.key")]
    encodings = [form for key in keys for form in (key, key.hex().encode(), base64.b64encode(key))]
    gateway_files = _files(tmp_path / "gateway") + list(tmp_path.glob("gateway-*.log"))
    assert gateway_files
    for path in gateway_files:
        content = path.read_bytes()
        assert CSV_HEADER not in content, path
        assert not any(form in content for form in encodings), path
    assert not any(CSV_HEADER.decode() in line for line in story.lines)


def test_sigterm_wipes_the_workspace_and_the_gateway_learns_why(tmp_path: Path) -> None:
    long_training = DemoOptions(rows=1500, epochs=1_000_000, gpus=2)
    with demo_world(tmp_path, RecordingNarrator(), long_training) as world:
        job_id = world.submit(CURRENT_NODE)
        workspaces = tmp_path / "workspaces"
        runner = world.nodes.runners[CURRENT_NODE]
        process = runner_process.start_job(runner, job_id, workspaces)
        try:
            deadline = time.monotonic() + 60
            with world.scenario.client(Role.OWNER) as owner:
                # Running means the runner fetched its inputs; the bundle unpacked means the job started.
                while not (
                    owner.job(job_id).state == JobState.RUNNING
                    and any(workspaces.glob("ccgate-job-*/model/train_logreg.py"))
                ):
                    assert process.poll() is None, process.communicate()
                    assert time.monotonic() < deadline, "the job never started"
                    time.sleep(0.1)
                time.sleep(0.5)
                process.send_signal(signal.SIGTERM)
                _, log = process.communicate(timeout=60)
                job = owner.job(job_id)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.returncode == 128 + signal.SIGTERM, log
        assert list(workspaces.iterdir()) == []
        assert job.state == JobState.FAILED
        assert job.failure_code == "runner.terminated"


def test_a_runner_with_a_lax_credential_file_refuses_to_start(tmp_path: Path) -> None:
    with demo_world(tmp_path, RecordingNarrator(), SMALL) as world:
        runner = world.nodes.runners[CURRENT_NODE]
        runner.credential.chmod(0o644)
        run = runner_process.run_job(runner, world.submit(CURRENT_NODE), tmp_path / "workspaces")
    assert run.exit_code == 1
    assert "must be 0600" in run.log


def test_the_demo_will_not_run_in_a_directory_that_holds_something(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    done = ccgate("demo", "--keep", tmp_path)
    assert done.returncode == 1
    assert b"demo.directory_not_empty" in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["precious.txt"]
