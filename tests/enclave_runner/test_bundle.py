"""Model bundles unpack only when every member is safe; each unsafe member has its own code."""

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from enclave_runner.bundle import BundleLimits, bundle_command, unpack_bundle
from enclave_runner.errors import (
    BundleError,
    BundleLinkError,
    BundleManifestError,
    BundlePathError,
    BundleSizeError,
    BundleSpecialFileError,
)
from enclave_runner.protocol.bundle_format import MANIFEST_NAME, BundleManifest, write_bundle

MANIFEST = json.dumps(
    {"format": "ccgate-bundle/v1", "entrypoints": {"train": ["python3", "train.py"]}}
).encode()


def _tar(path: Path, add: Callable[[tarfile.TarFile], None], manifest: bytes | None = MANIFEST) -> Path:
    with tarfile.open(path, "w") as tar:
        if manifest is not None:
            info = tarfile.TarInfo(MANIFEST_NAME)
            info.size = len(manifest)
            tar.addfile(info, io.BytesIO(manifest))
        add(tar)
    return path


def _file(name: str, data: bytes = b"x") -> Callable[[tarfile.TarFile], None]:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))

    return add


def _entry(name: str, kind: bytes, linkname: str = "", size: int = 0) -> Callable[[tarfile.TarFile], None]:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = linkname
        info.size = size
        if size:
            tar.addfile(info, io.BytesIO(b"\x00" * min(size, 16)))  # header says more than follows
        else:
            tar.addfile(info)

    return add


def test_a_good_bundle_unpacks(tmp_path: Path) -> None:
    archive = tmp_path / "b.tar"
    write_bundle(
        archive,
        {"train.py": b"print('hi')\n"},
        BundleManifest({"train": ("python3", "train.py")}, {"A": "1"}),
    )
    destination = tmp_path / "out"
    destination.mkdir()
    manifest = unpack_bundle(archive, destination)
    assert bundle_command(manifest, "train", ("--epochs", "2")) == ("python3", "train.py", "--epochs", "2")
    with pytest.raises(BundleManifestError, match="no entrypoint"):
        bundle_command(manifest, "evaluate", ())
    assert manifest.env == {"A": "1"}
    assert (destination / "train.py").read_bytes() == b"print('hi')\n"


UNSAFE: list[tuple[str, Callable[[tarfile.TarFile], None], type[BundleError]]] = [
    ("an absolute path", _file("/etc/cron.d/evil"), BundlePathError),
    ("a path climbing out with ..", _file("../../escape.py"), BundlePathError),
    ("a symlink to /etc", _entry("etc", tarfile.SYMTYPE, "/etc"), BundleLinkError),
    ("a relative symlink out of the workspace", _entry("up", tarfile.SYMTYPE, "../../.."), BundleLinkError),
    ("a hard link out of the workspace", _entry("h", tarfile.LNKTYPE, "/etc/passwd"), BundleLinkError),
    ("a character device", _entry("null", tarfile.CHRTYPE), BundleSpecialFileError),
    ("a block device", _entry("sda", tarfile.BLKTYPE), BundleSpecialFileError),
    ("a FIFO", _entry("pipe", tarfile.FIFOTYPE), BundleSpecialFileError),
]


@pytest.mark.parametrize(("case", "add", "error"), UNSAFE, ids=[case for case, _, _ in UNSAFE])
def test_unsafe_members_are_refused(
    tmp_path: Path, case: str, add: Callable[[tarfile.TarFile], None], error: type[BundleError]
) -> None:
    destination = tmp_path / "out"
    destination.mkdir()
    with pytest.raises(error):
        unpack_bundle(_tar(tmp_path / "b.tar", add), destination)
    assert not (tmp_path / "escape.py").exists()


def test_a_10_gb_sparse_member_is_refused_from_its_header(tmp_path: Path) -> None:
    # A header that declares 10 GB (as a sparse member's would), followed by nothing: the size check
    # must refuse it from the header alone, before any byte is written.
    manifest = tarfile.TarInfo(MANIFEST_NAME)
    manifest.size = len(MANIFEST)
    padded = MANIFEST + b"\x00" * (-len(MANIFEST) % 512)
    huge = tarfile.TarInfo("weights.bin")
    huge.size = 10 * 10**9
    archive = tmp_path / "sparse.tar"
    archive.write_bytes(
        manifest.tobuf(format=tarfile.GNU_FORMAT) + padded + huge.tobuf(format=tarfile.GNU_FORMAT)
    )
    destination = tmp_path / "out"
    destination.mkdir()
    with pytest.raises(BundleSizeError):
        unpack_bundle(archive, destination)
    assert list(destination.iterdir()) == []


def test_too_many_bytes_in_total_is_refused(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "b.tar", _file("a.bin", b"x" * 2000))
    destination = tmp_path / "out"
    destination.mkdir()
    with pytest.raises(BundleSizeError):
        unpack_bundle(archive, destination, BundleLimits(max_total_bytes=1000))


@pytest.mark.parametrize(
    "manifest",
    [
        None,
        b"not json",
        json.dumps({"format": "other", "entrypoints": {"x": ["x"]}}).encode(),
        json.dumps({"format": "ccgate-bundle/v1", "entrypoints": {"x": []}}).encode(),
        json.dumps(
            {"format": "ccgate-bundle/v1", "entrypoints": {"x": ["x"]}, "env": {"CCGATE_OUTPUT": "/"}}
        ).encode(),
        json.dumps({"format": "ccgate-bundle/v1", "entrypoints": {"x": ["x"]}, "surprise": 1}).encode(),
    ],
    ids=[
        "missing",
        "not JSON",
        "another format",
        "an empty command",
        "overriding CCGATE_*",
        "unknown fields",
    ],
)
def test_bad_manifests_are_refused(tmp_path: Path, manifest: bytes | None) -> None:
    destination = tmp_path / "out"
    destination.mkdir()
    with pytest.raises(BundleManifestError):
        unpack_bundle(_tar(tmp_path / "b.tar", _file("train.py"), manifest), destination)


def test_not_a_tar_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "b.tar"
    archive.write_bytes(b"\x00" * 100 + b"garbage")
    with pytest.raises(BundleError):
        unpack_bundle(archive, tmp_path)
