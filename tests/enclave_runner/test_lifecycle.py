"""The runner's whole lifecycle against a fake gateway: every bad input is a clean, reported failure,
and the workspace is gone afterwards whatever happened."""

import contextlib
import io
import json
import tarfile
from pathlib import Path

import nacl.public
import pytest

from enclave_runner.errors import InputError
from enclave_runner.lifecycle import JobOutcome, RunnerConfig, run_one
from enclave_runner.protocol.envelope import decrypt_stream
from enclave_runner.protocol.sealing import SealContext, open_data_key
from tests.enclave_runner.fake_gateway import (
    JOB_ID,
    SESSION_TOKEN,
    FakeCpuAttester,
    FakeGateway,
    StoredArtefact,
    TarMember,
    bundle_bytes,
    file_member,
    sparse_member,
    special_member,
)

READ_AND_SUMMARISE = """
import os, pathlib, json
inputs = pathlib.Path(os.environ["CCGATE_INPUTS"])
rows = sum(len(p.read_text().splitlines()) for p in inputs.iterdir())
pathlib.Path(os.environ["CCGATE_OUTPUT"], "summary.json").write_text(json.dumps({"rows": rows}))
print("summarised", rows)
"""
DATASET = b"".join(b"patient-%d,42\n" % n for n in range(1000))


def _gateway(script: str = READ_AND_SUMMARISE, *extra: TarMember, **options: object) -> FakeGateway:
    return FakeGateway(
        StoredArtefact.encrypt("art_data", "dataset", DATASET),
        StoredArtefact.encrypt("art_model", "model", bundle_bytes(script, *extra)),
        **options,  # type: ignore[arg-type]  # FakeGateway's optional fields, by name.
    )


def _run(gateway: FakeGateway, base: Path) -> JobOutcome:
    base.mkdir(exist_ok=True)
    with contextlib.closing(gateway.client()) as client:
        return run_one(client, JOB_ID, FakeCpuAttester(), None, RunnerConfig(workspace_base=base))


def _assert_failed_cleanly(gateway: FakeGateway, outcome: JobOutcome, base: Path, code: str) -> None:
    assert outcome.status == "failed"
    assert outcome.code == code
    assert gateway.failures == [
        {"code": code, "stage": "execute", "authorization": f"Bearer {SESSION_TOKEN}"}
    ]
    assert gateway.results == []
    assert list(base.iterdir()) == [], "the workspace must be wiped"


def test_a_job_runs_and_only_the_result_recipient_can_open_its_output(tmp_path: Path) -> None:
    gateway = _gateway()
    outcome = _run(gateway, tmp_path / "ws")
    assert outcome.status == "completed", outcome
    assert list((tmp_path / "ws").iterdir()) == []
    assert gateway.failures == []
    [(envelope, receipt)] = gateway.results
    assert receipt.receipt.exit_code == 0
    assert [i.artefact_id for i in receipt.receipt.inputs] == ["art_data", "art_model"]
    assert DATASET[:20] not in envelope, "the result travels encrypted"
    [sealed] = gateway.sealed_result_keys
    key = open_data_key(sealed, bytes(gateway.recipient), SealContext.result(JOB_ID))
    archive = b"".join(decrypt_stream([envelope], key, f"result-{JOB_ID}"))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        summary = tar.extractfile("output/summary.json")
        stdout = tar.extractfile("logs/stdout.txt")
        assert summary is not None
        assert stdout is not None
        assert json.loads(summary.read()) == {"rows": 1000}
        assert stdout.read() == b"summarised 1000\n"


UNSAFE_BUNDLES: list[tuple[str, TarMember, str]] = [
    ("a path-traversal member", file_member("../../escape.py", b"x"), "bundle.path_traversal"),
    ("an absolute member", file_member("/etc/cron.d/evil", b"x"), "bundle.path_traversal"),
    ("a symlink to /etc", special_member("etc", tarfile.SYMTYPE, "/etc"), "bundle.link_outside"),
    ("a device node", special_member("null", tarfile.CHRTYPE), "bundle.special_file"),
    (
        "a 10 GB sparse member",
        sparse_member("weights.bin", 10 * 10**9),
        "bundle.too_large",
    ),
]


@pytest.mark.parametrize(("case", "member", "code"), UNSAFE_BUNDLES, ids=[c for c, _, _ in UNSAFE_BUNDLES])
def test_an_unsafe_bundle_is_a_reported_failure(
    tmp_path: Path, case: str, member: TarMember, code: str
) -> None:
    gateway = _gateway(READ_AND_SUMMARISE, member)
    outcome = _run(gateway, tmp_path / "ws")
    _assert_failed_cleanly(gateway, outcome, tmp_path / "ws", code)
    assert not (tmp_path / "escape.py").exists()


def test_a_tampered_ciphertext_is_refused_before_decryption(tmp_path: Path) -> None:
    gateway = _gateway()
    # The store serves other bytes than the ones whose digest the manifest pinned.
    gateway.dataset.ciphertext = gateway.dataset.ciphertext[:-1] + bytes([gateway.dataset.ciphertext[-1] ^ 1])
    outcome = _run(gateway, tmp_path / "ws")
    _assert_failed_cleanly(gateway, outcome, tmp_path / "ws", InputError.code)
    assert gateway.downloads == ["art_data"], "nothing after the tampered input was fetched"


def test_keys_sealed_to_another_public_key_do_not_open(tmp_path: Path) -> None:
    gateway = _gateway(seal_to=bytes(nacl.public.PrivateKey.generate().public_key))
    outcome = _run(gateway, tmp_path / "ws")
    _assert_failed_cleanly(gateway, outcome, tmp_path / "ws", InputError.code)


def test_a_job_past_its_runtime_is_killed(tmp_path: Path) -> None:
    gateway = _gateway("import time\ntime.sleep(60)\n", max_runtime_seconds=1)
    outcome = _run(gateway, tmp_path / "ws")
    _assert_failed_cleanly(gateway, outcome, tmp_path / "ws", "job.timeout")


@pytest.mark.parametrize(
    "target",
    [
        'os.environ["CCGATE_MODEL"], "job.py"',
        'os.environ["CCGATE_INPUTS"], "art_data"',
        'os.environ["CCGATE_OUTPUT"], "..", "planted"',
    ],
    ids=["its own bundle", "an input", "the workspace root"],
)
def test_a_job_writing_outside_its_output_fails(tmp_path: Path, target: str) -> None:
    script = f"import os, pathlib\npathlib.Path(os.path.join({target})).write_text('changed')\n"
    gateway = _gateway(script)
    outcome = _run(gateway, tmp_path / "ws")
    _assert_failed_cleanly(gateway, outcome, tmp_path / "ws", "job.output_invalid")


def test_a_missing_workspace_base_is_a_reported_failure(tmp_path: Path) -> None:
    gateway = _gateway()
    with contextlib.closing(gateway.client()) as client:
        outcome = run_one(
            client, JOB_ID, FakeCpuAttester(), None, RunnerConfig(workspace_base=tmp_path / "missing")
        )
    assert outcome.code == "workspace.unavailable"
    assert [f["code"] for f in gateway.failures] == ["workspace.unavailable"]
