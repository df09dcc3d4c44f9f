"""``ccgate bundle create`` as an owner uses it: a directory in, a bundle the runner accepts out."""

import json
from pathlib import Path

from enclave_runner.bundle import bundle_command, unpack_bundle
from tests.gateway.cli.cli_runner import ccgate


def test_a_directory_becomes_a_runnable_bundle(tmp_path: Path) -> None:
    source = tmp_path / "model"
    (source / "lib").mkdir(parents=True)
    (source / "train.py").write_text("print('training')\n")
    (source / "lib" / "layers.py").write_text("X = 1\n")
    done = ccgate(
        "bundle", "create", source, "-o", tmp_path / "model.tar",
        "--entrypoint", "train=python3 train.py --epochs 3",
        "--entrypoint", "evaluate=python3 train.py --evaluate",
        "--env", "OMP_NUM_THREADS=2",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert b"2 files" in done.stdout
    destination = tmp_path / "unpacked"
    destination.mkdir()
    manifest = unpack_bundle(tmp_path / "model.tar", destination)
    assert bundle_command(manifest, "train", ("--seed", "1")) == (
        "python3", "train.py", "--epochs", "3", "--seed", "1",
    )  # fmt: skip
    assert manifest.env == {"OMP_NUM_THREADS": "2"}
    assert (destination / "lib" / "layers.py").read_text() == "X = 1\n"


def test_links_and_bad_options_are_refused(tmp_path: Path) -> None:
    source = tmp_path / "model"
    source.mkdir()
    (source / "etc").symlink_to("/etc")
    linked = ccgate("bundle", "create", source, "-o", tmp_path / "b.tar", "--entrypoint", "run=true")
    assert linked.returncode == 1
    assert b"bundle.special_file" in linked.stderr
    (source / "etc").unlink()
    reserved = ccgate(
        "bundle", "create", source, "-o", tmp_path / "b.tar", "--entrypoint", "run=true",
        "--env", "CCGATE_OUTPUT=/etc",
    )  # fmt: skip
    assert reserved.returncode == 1
    assert b"bundle.manifest_invalid" in reserved.stderr
    malformed = ccgate("bundle", "create", source, "-o", tmp_path / "b.tar", "--entrypoint", "run")
    assert malformed.returncode == 2
    assert not (tmp_path / "b.tar").exists()


def test_create_json_names_the_files_entrypoints_and_output_directory(tmp_path: Path) -> None:
    source = tmp_path / "model"
    source.mkdir()
    (source / "train.py").write_text("print('training')\n")
    done = ccgate(
        "bundle", "create", source, "-o", tmp_path / "model.tar",
        "--entrypoint", "train=python3 train.py --epochs 3", "--output-dir", "out", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "bundle": str(tmp_path / "model.tar"),
        "files": ["train.py"],
        "entrypoints": {"train": ["python3", "train.py", "--epochs", "3"]},
        "output_dir": "out",
    }
