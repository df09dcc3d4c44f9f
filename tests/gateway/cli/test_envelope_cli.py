"""``ccgate keygen / encrypt / decrypt`` as a user sees them: files, pipes, JSON and one-line errors."""

import base64
import json
import os
from pathlib import Path

import pytest

from tests.gateway.cli.cli_runner import ccgate


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    path = tmp_path / "patients.csv"
    path.write_bytes(os.urandom(3 * (1 << 20) + 123))
    return path


def test_encrypt_creates_a_0600_key_and_decrypt_round_trips(tmp_path: Path, plain: Path) -> None:
    key = tmp_path / "data.key"
    done = ccgate("encrypt", plain, tmp_path / "p.ccge", "--artefact-id", "ds-1", "--key-file", key)
    assert done.returncode == 0, done.stderr
    assert key.stat().st_size == 32
    assert (key.stat().st_mode & 0o777) == 0o600
    done = ccgate(
        "decrypt", tmp_path / "p.ccge", tmp_path / "out.csv", "--artefact-id", "ds-1", "--key-file", key
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.csv").read_bytes() == plain.read_bytes()


def test_stdin_and_stdout(tmp_path: Path, plain: Path) -> None:
    key = tmp_path / "k"
    sealed = ccgate("encrypt", "-", "-", "--artefact-id", "a", "--key-file", key, stdin=plain.read_bytes())
    assert sealed.returncode == 0, sealed.stderr
    opened = ccgate("decrypt", "-", "-", "--artefact-id", "a", "--key-file", key, stdin=sealed.stdout)
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == plain.read_bytes()


def test_json_output(tmp_path: Path, plain: Path) -> None:
    done = ccgate(
        "encrypt", plain, tmp_path / "e", "--artefact-id", "a", "--key-file", tmp_path / "k", "--json"
    )
    document = json.loads(done.stdout)
    assert document["operation"] == "encrypted"
    assert document["bytes"] == plain.stat().st_size
    assert document["key_created"] is True


def test_keygen_writes_a_private_key_0600_and_the_public_key(tmp_path: Path) -> None:
    done = ccgate("keygen", "--out", tmp_path / "me.key", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert ((tmp_path / "me.key").stat().st_mode & 0o777) == 0o600
    assert len(base64.b64decode(document["public_key"])) == 32
    assert (tmp_path / "me.key.pub").read_text().strip() == document["public_key"]
    again = ccgate("keygen", "--out", tmp_path / "me.key")
    assert again.returncode == 1
    assert again.stderr.decode().startswith("ccgate: keyfile.exists:")


def _encrypted(tmp_path: Path, plain: Path) -> tuple[Path, Path]:
    key = tmp_path / "k"
    assert ccgate("encrypt", plain, tmp_path / "e", "--artefact-id", "a", "--key-file", key).returncode == 0
    return tmp_path / "e", key


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path, plain: Path) -> None:
    envelope, key = _encrypted(tmp_path, plain)
    key.chmod(0o644)
    done = ccgate("decrypt", envelope, tmp_path / "o", "--artefact-id", "a", "--key-file", key)
    assert done.returncode == 1
    assert done.stderr.decode().startswith("ccgate: keyfile.permissions:")
    assert "Traceback" not in done.stderr.decode()


def test_a_key_file_of_the_wrong_length_is_refused(tmp_path: Path, plain: Path) -> None:
    envelope, _ = _encrypted(tmp_path, plain)
    short = tmp_path / "short.key"
    short.write_bytes(b"\x00" * 31)
    short.chmod(0o600)
    done = ccgate("decrypt", envelope, tmp_path / "o", "--artefact-id", "a", "--key-file", short)
    assert done.returncode == 1
    assert done.stderr.decode().startswith("ccgate: keyfile.length:")


def test_a_truncated_envelope_is_one_clear_line(tmp_path: Path, plain: Path) -> None:
    envelope, key = _encrypted(tmp_path, plain)
    envelope.write_bytes(envelope.read_bytes()[:-1000])
    done = ccgate("decrypt", envelope, tmp_path / "o", "--artefact-id", "a", "--key-file", key)
    assert done.returncode == 1
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ccgate: envelope.truncated:")
    assert not (tmp_path / "o").exists()


def test_a_wrong_artefact_id_through_a_pipe(tmp_path: Path, plain: Path) -> None:
    envelope, key = _encrypted(tmp_path, plain)
    done = ccgate("decrypt", "-", "-", "--artefact-id", "b", "--key-file", key, stdin=envelope.read_bytes())
    assert done.returncode == 1
    assert done.stderr.decode().startswith("ccgate: envelope.wrong_artefact_id:")
    assert done.stdout == b""


def test_a_missing_input_is_an_io_error(tmp_path: Path) -> None:
    done = ccgate(
        "encrypt", tmp_path / "nope", tmp_path / "e", "--artefact-id", "a", "--key-file", tmp_path / "k"
    )
    assert done.returncode == 1
    assert done.stderr.decode().startswith("ccgate: io.error:")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    done = ccgate("encrypt", tmp_path / "x")
    assert done.returncode == 2


def test_tink_unwrap_and_wrap_round_trip_through_the_cli(tmp_path: Path, plain: Path) -> None:
    key = tmp_path / "k"
    assert (
        ccgate("encrypt", plain, tmp_path / "a.ccge", "--artefact-id", "art_1", "--key-file", key).returncode
        == 0
    )
    out = ccgate(
        "tink",
        "unwrap",
        tmp_path / "a.ccge",
        tmp_path / "a.tink",
        "--artefact-id",
        "art_1",
        "--key-file",
        key,
        "--json",
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["segment_size"] == 1 << 20
    wrapped = ccgate(
        "tink", "wrap", tmp_path / "a.tink", tmp_path / "b.ccge", "--artefact-id", "art_1", "--key-file", key
    )
    assert wrapped.returncode == 0, wrapped.stderr
    done = ccgate(
        "decrypt", tmp_path / "b.ccge", tmp_path / "b.csv", "--artefact-id", "art_1", "--key-file", key
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "b.csv").read_bytes() == plain.read_bytes()
    refused = ccgate(
        "tink", "wrap", tmp_path / "a.tink", tmp_path / "c.ccge", "--artefact-id", "art_2", "--key-file", key
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith(b"ccgate: envelope.")
    assert not (tmp_path / "c.ccge").exists()
