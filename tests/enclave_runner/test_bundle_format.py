"""The bundle format both sides share: what ``write_bundle`` writes, the runner unpacks and can run."""

import os
import tarfile
from pathlib import Path

import pytest

from enclave_runner.bundle import bundle_command, unpack_bundle
from enclave_runner.protocol.bundle_format import MANIFEST_NAME, BundleManifest, write_bundle
from enclave_runner.protocol.errors import BundleFormatError


def test_files_from_disk_and_memory_round_trip(tmp_path: Path) -> None:
    weights = tmp_path / "weights.bin"
    weights.write_bytes(os.urandom(70_000))
    script = tmp_path / "train.py"
    script.write_text("print('hi')\n")
    script.chmod(0o700)
    archive = tmp_path / "model.tar"
    manifest = BundleManifest({"train": ("python3", "train.py")}, {"SEED": "7"}, "results")
    write_bundle(archive, {"model/weights.bin": weights, "train.py": script, "notes.txt": b"v1"}, manifest)
    with tarfile.open(archive) as tar:
        assert tar.getnames()[0] == MANIFEST_NAME
        members = {member.name: member for member in tar.getmembers()}
    assert members["train.py"].mode == 0o755
    assert members["model/weights.bin"].mode == 0o644
    assert members["model/weights.bin"].uid == 0
    destination = tmp_path / "out"
    destination.mkdir()
    unpacked = unpack_bundle(archive, destination)
    assert unpacked == manifest
    assert (destination / "model" / "weights.bin").read_bytes() == weights.read_bytes()
    assert bundle_command(unpacked, "train", ("3",)) == ("python3", "train.py", "3")


@pytest.mark.parametrize("name", ["/etc/passwd", "../up.py", "a/../../b", "", MANIFEST_NAME])
def test_member_names_the_runner_would_refuse_are_refused_when_writing(tmp_path: Path, name: str) -> None:
    with pytest.raises(BundleFormatError):
        write_bundle(tmp_path / "b.tar", {name: b"x"}, BundleManifest({"run": ("true",)}))
    assert not (tmp_path / "b.tar").exists()


def test_a_link_on_disk_is_refused(tmp_path: Path) -> None:
    (tmp_path / "passwd").symlink_to("/etc/passwd")
    with pytest.raises(BundleFormatError, match="regular file"):
        write_bundle(tmp_path / "b.tar", {"passwd": tmp_path / "passwd"}, BundleManifest({"run": ("true",)}))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["passwd"]


@pytest.mark.parametrize(
    "manifest",
    [
        BundleManifest({}),
        BundleManifest({"run": ()}),
        BundleManifest({"run": ("true",)}, {"CCGATE_OUTPUT": "/etc"}),
    ],
    ids=["no entrypoint", "an empty command", "overriding CCGATE_*"],
)
def test_a_manifest_the_runner_would_refuse_is_not_written(tmp_path: Path, manifest: BundleManifest) -> None:
    with pytest.raises(BundleFormatError):
        write_bundle(tmp_path / "b.tar", {"a": b"x"}, manifest)
    assert not (tmp_path / "b.tar").exists()
