"""The runner's whole lifecycle against a fake gateway: every bad input is a clean, reported failure,
and the workspace is gone afterwards whatever happened."""

import contextlib
import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import nacl.public
import pytest

from enclave_runner import lifecycle
from enclave_runner.errors import GatewayRefusedError, InputDigestError, InputError
from enclave_runner.executor import probe_network_sandbox
from enclave_runner.lifecycle import JobOutcome, RunnerConfig, run_one
from enclave_runner.protocol.bundle_format import BundleManifest
from enclave_runner.protocol.envelope import EnvelopeHeader, decrypt_file, decrypt_stream, encrypt_stream
from enclave_runner.protocol.messages import AttestationRequest, EvidenceMessage, FailureStage
from enclave_runner.protocol.receipts import Receipt
from enclave_runner.protocol.sealing import SealContext, open_data_key
from gateway.schemas.jobs import FailureReport
from tests.enclave_runner.fake_gateway import (
    JOB_ID,
    SESSION_TOKEN,
    FakeCpuAttester,
    FakeGateway,
    Fault,
    StoredArtefact,
    TarMember,
    bundle_bytes,
    file_member,
    sparse_member,
    special_member,
)
from tests.enclave_runner.sandbox_fakes import UnshareBehaviour, fake_unshare

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


def _run(gateway: FakeGateway, base: Path, config: RunnerConfig | None = None) -> JobOutcome:
    base.mkdir(exist_ok=True)
    with contextlib.closing(gateway.client()) as client:
        return run_one(client, JOB_ID, FakeCpuAttester(), None, config or RunnerConfig(workspace_base=base))


def _result(gateway: FakeGateway) -> tuple[Receipt, dict[str, bytes]]:
    """The one uploaded result, opened with the recipient's key: its receipt and its tar members."""
    [(envelope, signed)] = gateway.results
    [sealed] = gateway.sealed_result_keys
    key = open_data_key(sealed, bytes(gateway.recipient), SealContext.result(JOB_ID))
    archive = b"".join(decrypt_stream([envelope], key, f"result-{JOB_ID}"))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        members = {m.name: tar.extractfile(m) for m in tar.getmembers() if m.isfile()}
        return signed.receipt, {name: handle.read() for name, handle in members.items() if handle is not None}


def _assert_failed_cleanly(
    gateway: FakeGateway, outcome: JobOutcome, base: Path, stage: FailureStage, code: str
) -> None:
    assert (outcome.status, outcome.stage, outcome.code) == ("failed", stage, code)
    assert gateway.failures == [{"code": code, "stage": stage, "authorization": f"Bearer {SESSION_TOKEN}"}]
    assert gateway.results == []
    assert list(base.iterdir()) == [], "the workspace must be wiped"


def test_a_job_runs_and_only_the_result_recipient_can_open_its_output(tmp_path: Path) -> None:
    gateway = _gateway()
    outcome = _run(gateway, tmp_path / "ws")
    assert outcome.status == "completed", outcome
    assert list((tmp_path / "ws").iterdir()) == []
    assert gateway.failures == []
    [(envelope, _signed)] = gateway.results
    assert DATASET[:20] not in envelope, "the result travels encrypted"
    receipt, members = _result(gateway)
    assert receipt.exit_code == 0
    assert [i.artefact_id for i in receipt.inputs] == ["art_data", "art_model"]
    assert json.loads(members["output/summary.json"]) == {"rows": 1000}
    assert members["logs/stdout.txt"] == b"summarised 1000\n"


# ------------------------------------------------------------------ bad input: each a reported failure


def _tampered() -> FakeGateway:
    # The store serves other bytes than the ones whose digest the manifest pinned.
    gateway = _gateway()
    gateway.dataset.ciphertext = gateway.dataset.ciphertext[:-1] + bytes([gateway.dataset.ciphertext[-1] ^ 1])
    return gateway


def _undecryptable() -> FakeGateway:
    # The manifest pins these very bytes (the digest matches), but they do not authenticate.
    dataset = StoredArtefact.encrypt("art_data", "dataset", DATASET)
    flipped = dataset.ciphertext[:-1] + bytes([dataset.ciphertext[-1] ^ 1])
    broken = StoredArtefact("art_data", "dataset", dataset.key, flipped)
    return FakeGateway(broken, StoredArtefact.encrypt("art_model", "model", bundle_bytes(READ_AND_SUMMARISE)))


def _writes(target: str) -> Callable[[], FakeGateway]:
    return lambda: _gateway(
        f"import os, pathlib\npathlib.Path(os.path.join({target})).write_text('changed')\n"
    )


def _link_in_output() -> FakeGateway:
    return _gateway('import os\nos.symlink("/etc/passwd", os.path.join(os.environ["CCGATE_OUTPUT"], "p"))\n')


def _no_such_entrypoint() -> FakeGateway:
    bundle = bundle_bytes(READ_AND_SUMMARISE, manifest=BundleManifest({"other": ("python3", "job.py")}))
    return FakeGateway(
        StoredArtefact.encrypt("art_data", "dataset", DATASET),
        StoredArtefact.encrypt("art_model", "model", bundle),
    )


def _default_config(base: Path) -> RunnerConfig:
    return RunnerConfig(workspace_base=base)


@dataclass(frozen=True)
class BadInput:
    """One way a job goes wrong after its keys were released, and what the gateway must be told."""

    case: str
    gateway: Callable[[], FakeGateway]
    stage: FailureStage
    code: str
    config: Callable[[Path], RunnerConfig] = _default_config


BAD_INPUTS = [
    BadInput(
        "a release at another digest than the manifest pins",
        lambda: _gateway(released_digests={"art_data": "00" * 32}),
        FailureStage.ATTEST,
        "release.mismatch",
    ),
    BadInput(
        "a workspace base that does not exist",
        _gateway,
        FailureStage.WORKSPACE,
        "workspace.unavailable",
        lambda base: RunnerConfig(workspace_base=base / "missing"),
    ),
    BadInput("a tampered ciphertext", _tampered, FailureStage.DOWNLOAD, "input.digest_mismatch"),
    BadInput(
        "a download that fails on every attempt",
        lambda: _gateway(faults={"download:art_data": [503, httpx.ConnectError, "cut", 504]}),
        FailureStage.DOWNLOAD,
        "gateway.unreachable",
    ),
    BadInput(
        "keys sealed to another public key",
        lambda: _gateway(seal_to=bytes(nacl.public.PrivateKey.generate().public_key)),
        FailureStage.DECRYPT,
        "input.sealed_key_invalid",
    ),
    BadInput(
        "a ciphertext that does not authenticate", _undecryptable, FailureStage.DECRYPT, "input.invalid"
    ),
    BadInput(
        "a path-traversal member",
        lambda: _gateway(READ_AND_SUMMARISE, file_member("../../escape.py", b"x")),
        FailureStage.UNPACK,
        "bundle.path_traversal",
    ),
    BadInput(
        "an absolute member",
        lambda: _gateway(READ_AND_SUMMARISE, file_member("/etc/cron.d/evil", b"x")),
        FailureStage.UNPACK,
        "bundle.path_traversal",
    ),
    BadInput(
        "a symlink to /etc",
        lambda: _gateway(READ_AND_SUMMARISE, special_member("etc", tarfile.SYMTYPE, "/etc")),
        FailureStage.UNPACK,
        "bundle.link_outside",
    ),
    BadInput(
        "a device node",
        lambda: _gateway(READ_AND_SUMMARISE, special_member("null", tarfile.CHRTYPE)),
        FailureStage.UNPACK,
        "bundle.special_file",
    ),
    BadInput(
        "a 10 GB sparse member",
        lambda: _gateway(READ_AND_SUMMARISE, sparse_member("weights.bin", 10 * 10**9)),
        FailureStage.UNPACK,
        "bundle.too_large",
    ),
    BadInput(
        "a bundle without the entrypoint", _no_such_entrypoint, FailureStage.UNPACK, "bundle.manifest_invalid"
    ),
    BadInput(
        "a job past its runtime",
        lambda: _gateway("import time\ntime.sleep(60)\n", max_runtime_seconds=1),
        FailureStage.EXECUTE,
        "job.timeout",
    ),
    BadInput(
        "a job writing into its own bundle",
        _writes('os.environ["CCGATE_MODEL"], "job.py"'),
        FailureStage.EXECUTE,
        "job.output_invalid",
    ),
    BadInput(
        "a job writing into an input",
        _writes('os.environ["CCGATE_INPUTS"], "art_data"'),
        FailureStage.EXECUTE,
        "job.output_invalid",
    ),
    BadInput(
        "a job writing into the workspace root",
        _writes('os.environ["CCGATE_OUTPUT"], "..", "planted"'),
        FailureStage.EXECUTE,
        "job.output_invalid",
    ),
    BadInput(
        "a job leaving a link to /etc/passwd in its output",
        _link_in_output,
        FailureStage.ENCRYPT,
        "job.output_invalid",
    ),
    BadInput(
        "a result the gateway refuses",
        lambda: _gateway(faults={"result": [409]}),
        FailureStage.UPLOAD,
        "gateway.refused",
    ),
    BadInput(
        "an upload that may have arrived before the connection broke",
        lambda: _gateway(faults={"result": [httpx.ReadTimeout]}),
        FailureStage.UPLOAD,
        "gateway.unreachable",
    ),
]


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=[bad.case for bad in BAD_INPUTS])
def test_each_bad_input_is_reported_with_its_own_stage_and_code(tmp_path: Path, bad: BadInput) -> None:
    gateway = bad.gateway()
    base = tmp_path / "ws"
    outcome = _run(gateway, base, bad.config(base))
    _assert_failed_cleanly(gateway, outcome, base, bad.stage, bad.code)
    assert not (tmp_path / "escape.py").exists()


def test_every_stage_has_a_bad_input_and_every_stage_fits_the_gateways_failure_report() -> None:
    assert {bad.stage for bad in BAD_INPUTS} == set(FailureStage)
    for stage in FailureStage:
        assert FailureReport(code="job.failed", stage=stage).stage == stage.value


@pytest.mark.parametrize("tampered", [False, True], ids=["intact ciphertexts", "a tampered ciphertext"])
def test_a_tampered_ciphertext_is_refused_before_any_decryption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tampered: bool
) -> None:
    gateway = _gateway()
    if tampered:
        # A well-formed envelope under the right key and artefact id: only the digest check can stop it.
        other = b"patient-0,666\n"
        stream = encrypt_stream([other], gateway.dataset.key, "art_data", plaintext_length=len(other))
        gateway.dataset.ciphertext = b"".join(stream)
        assert hashlib.sha256(gateway.dataset.ciphertext).hexdigest() != gateway.dataset.digest
    # Recorders around the runner's real unsealing and decryption: they only note the artefact ids.
    unsealed: list[str | None] = []
    decrypted: list[str] = []

    def recording_open(sealed: bytes, private_key: bytes, context: SealContext) -> bytes:
        unsealed.append(context.artefact_id)
        return open_data_key(sealed, private_key, context)

    def recording_decrypt(source: Path, target: Path, key: bytes, artefact_id: str) -> EnvelopeHeader:
        decrypted.append(artefact_id)
        return decrypt_file(source, target, key, artefact_id)

    monkeypatch.setattr(lifecycle, "open_data_key", recording_open)
    monkeypatch.setattr(lifecycle, "decrypt_file", recording_decrypt)
    outcome = _run(gateway, tmp_path / "ws")
    if not tampered:
        assert outcome.status == "completed"
        assert unsealed == decrypted == ["art_data", "art_model"], "the recorders see a normal run"
        return
    _assert_failed_cleanly(gateway, outcome, tmp_path / "ws", FailureStage.DOWNLOAD, InputDigestError.code)
    assert InputDigestError.code != InputError.code
    assert unsealed == decrypted == [], "no key was unsealed and nothing was decrypted"
    assert gateway.downloads == ["art_data"], (
        "a digest mismatch is not retried, and nothing after it is fetched"
    )


# ------------------------------------------------------------------ retries: only where repeating is safe


@pytest.mark.parametrize(
    "faults",
    [
        [503, 503, 503],
        [httpx.ConnectError, httpx.ReadTimeout],
        ["cut"],
        [502, "cut", httpx.RemoteProtocolError],
    ],
    ids=["three 503s", "a refused connect and a read timeout", "a download cut halfway", "a mix"],
)
def test_a_download_that_fails_transiently_is_retried_and_succeeds(
    tmp_path: Path, faults: list[Fault]
) -> None:
    gateway = _gateway(faults={"download:art_data": list(faults)})
    outcome = _run(gateway, tmp_path / "ws")
    assert outcome.status == "completed", outcome
    assert gateway.attempts["download:art_data"] == len(faults) + 1
    receipt, members = _result(gateway)
    assert json.loads(members["output/summary.json"]) == {"rows": 1000}, "each attempt restarts the file"
    assert receipt.inputs[0].ciphertext_digest == gateway.dataset.digest


def test_a_download_is_tried_at_most_four_times(tmp_path: Path) -> None:
    gateway = _gateway(faults={"download:art_data": [503] * 10})
    outcome = _run(gateway, tmp_path / "ws")
    _assert_failed_cleanly(gateway, outcome, tmp_path / "ws", FailureStage.DOWNLOAD, "gateway.unreachable")
    assert gateway.attempts["download:art_data"] == 4
    assert gateway.attempts["download:art_model"] == 0


def test_an_upload_whose_connection_was_refused_is_retried(tmp_path: Path) -> None:
    gateway = _gateway(faults={"result": [httpx.ConnectError, httpx.ConnectError]})
    outcome = _run(gateway, tmp_path / "ws")
    assert outcome.status == "completed", outcome
    assert gateway.attempts["result"] == 3
    assert len(gateway.results) == 1
    assert list((tmp_path / "ws").iterdir()) == []


@pytest.mark.parametrize(
    "fault",
    [httpx.ReadTimeout, httpx.WriteError, httpx.RemoteProtocolError, 503],
    ids=["a read timeout", "a write error", "a dropped answer", "a 503"],
)
def test_an_upload_that_may_have_arrived_is_not_retried(tmp_path: Path, fault: Fault) -> None:
    gateway = _gateway(faults={"result": [fault]})
    outcome = _run(gateway, tmp_path / "ws")
    assert (outcome.status, outcome.stage) == ("failed", FailureStage.UPLOAD)
    assert gateway.attempts["result"] == 1
    assert [f["stage"] for f in gateway.failures] == ["upload"]


@pytest.mark.parametrize(
    "fault",
    [httpx.ReadTimeout, httpx.ConnectError, httpx.RemoteProtocolError, 503],
    ids=["a read timeout", "a refused connect", "a dropped answer", "a 503"],
)
def test_a_failed_attestation_is_never_retried_with_its_nonce(tmp_path: Path, fault: Fault) -> None:
    gateway = _gateway(faults={"attestation": [fault]})
    outcome = _run(gateway, tmp_path / "ws")
    assert (outcome.status, outcome.stage) == ("rejected", FailureStage.ATTEST)
    assert (gateway.attempts["challenge"], gateway.attempts["attestation"]) == (1, 1)
    assert gateway.attested == [], "the one attestation never got through"
    assert gateway.downloads == []
    assert gateway.failures == [], "with no session there is nothing to report in"


def test_an_answer_that_releases_nothing_ends_the_attempt_without_a_session(tmp_path: Path) -> None:
    gateway = _gateway(deny=("measurement.not_allowed",))
    outcome = _run(gateway, tmp_path / "ws")
    assert (outcome.status, outcome.stage, outcome.code) == (
        "rejected",
        FailureStage.ATTEST,
        "release.denied",
    )
    assert gateway.downloads == []
    assert gateway.failures == []
    assert list((tmp_path / "ws").iterdir()) == []


def test_the_fake_gateway_refuses_a_nonce_used_twice() -> None:
    # The test above relies on the fake enforcing single use, as the gateway does: a retried
    # attestation would be refused here, not silently accepted.
    gateway = _gateway()
    with contextlib.closing(gateway.client()) as client:
        manifest = client.claim(JOB_ID)
        keys, session_id, _response = lifecycle.attest(client, JOB_ID, manifest, FakeCpuAttester(), None)
        evidence = EvidenceMessage(cpu=FakeCpuAttester().collect(bytes(64)))
        again = AttestationRequest(session_id=session_id, keys=keys.wire(), evidence=evidence)
        with pytest.raises(GatewayRefusedError) as refused:
            client.attest(JOB_ID, again)
    assert refused.value.problem_code == "session.nonce_reused"
    assert gateway.attested == [session_id]


# ------------------------------------------------------------------ isolation and limits, as the receipt says


@pytest.mark.parametrize(
    ("unshare", "isolation"),
    [("refusing", "unavailable"), ("allowing", "namespace")],
    ids=["the kernel refuses a network namespace", "the kernel allows one"],
)
def test_the_receipt_says_whether_the_job_was_cut_off_from_the_network(
    tmp_path: Path, unshare: UnshareBehaviour, isolation: str
) -> None:
    log = tmp_path / "unshare.log"
    fake = fake_unshare(tmp_path / "bin", unshare, log)
    gateway = _gateway()
    base = tmp_path / "ws"
    config = RunnerConfig(workspace_base=base, network=probe_network_sandbox(str(fake)))
    outcome = _run(gateway, base, config)
    assert outcome.status == "completed", outcome
    receipt, members = _result(gateway)
    assert receipt.network_isolation == isolation
    assert json.loads(members["output/summary.json"]) == {"rows": 1000}, "the job runs either way"
    job_runs = [line for line in log.read_text().splitlines() if line.endswith("job.py")]
    assert len(job_runs) == (1 if isolation == "namespace" else 0), "the job ran through unshare iff isolated"


@pytest.mark.parametrize(
    ("limit", "script", "error"),
    [
        (
            RunnerConfig(max_address_space_bytes=256 << 20),
            "buffer = bytes(1 << 30)\n",
            b"MemoryError",
        ),
        (
            RunnerConfig(max_file_bytes=1 << 20),
            "import os\nopen(os.path.join(os.environ['CCGATE_OUTPUT'], 'big'), 'wb').write(bytes(2 << 20))\n",
            b"File too large",
        ),
    ],
    ids=["1 GiB under a 256 MiB address-space limit", "2 MiB under a 1 MiB file-size limit"],
)
def test_a_job_beyond_its_resource_limits_fails_and_its_signed_receipt_says_so(
    tmp_path: Path, limit: RunnerConfig, script: str, error: bytes
) -> None:
    gateway = _gateway(script)
    base = tmp_path / "ws"
    outcome = _run(gateway, base, replace(limit, workspace_base=base))
    # The job's own failure is its result: the owner gets the exit code, signed, and the stderr.
    assert (outcome.status, outcome.exit_code) == ("completed", 1)
    receipt, members = _result(gateway)
    assert receipt.exit_code == 1
    assert error in members["logs/stderr.txt"]
    assert len(members.get("output/big", b"")) <= 1 << 20
    assert gateway.failures == []
    assert list(base.iterdir()) == []
