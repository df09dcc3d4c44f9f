"""The model bundle format (``ccgate-bundle/v1``): what owners write and the runner reads.

A bundle is a tar (encrypted as an envelope like any artefact) whose member ``ccgate-bundle.json``
says how to run it::

    {"format": "ccgate-bundle/v1", "entrypoints": {"train": ["python3", "train.py"]},
     "env": {"OMP_NUM_THREADS": "2"}, "output_dir": "output"}

A job names one entrypoint and its arguments (both are part of the attested manifest); the runner
runs that entrypoint's command followed by the job's arguments. ``command[0]`` is resolved on the
runner's PATH or relative to the bundle; ``output_dir`` is informational: the runner always gives
the job ``$CCGATE_OUTPUT``. The format lives in the wire contract because both sides write or read
it: the owner's ``ccgate bundle create`` and the runner's defensive unpacking
(``enclave_runner.bundle``), which enforces the member rules this module does not.
"""

import io
import json
import os
import stat
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from enclave_runner.protocol.errors import BundleFormatError

MANIFEST_NAME: Final = "ccgate-bundle.json"
BUNDLE_FORMAT: Final = "ccgate-bundle/v1"
_FIELDS: Final = frozenset({"format", "entrypoints", "env", "output_dir"})


@dataclass(frozen=True)
class BundleManifest:
    """How to run a bundle: named entrypoints (each a command line), environment, output directory."""

    entrypoints: dict[str, tuple[str, ...]]
    env: dict[str, str] = field(default_factory=dict)
    output_dir: str = "output"

    def command(self, entrypoint: str, arguments: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The command line of ``entrypoint`` followed by the job's ``arguments``.

        Raises:
            BundleFormatError: the bundle declares no such entrypoint.
        """
        declared = self.entrypoints.get(entrypoint)
        if declared is None:
            names = ", ".join(sorted(self.entrypoints)) or "none"
            raise BundleFormatError(f"the bundle has no entrypoint {entrypoint!r} (it has: {names})")
        return (*declared, *arguments)

    def document(self) -> dict[str, object]:
        """The JSON document stored as ``ccgate-bundle.json``."""
        return {
            "format": BUNDLE_FORMAT,
            "entrypoints": {name: list(command) for name, command in self.entrypoints.items()},
            "env": self.env,
            "output_dir": self.output_dir,
        }


def parse_bundle_manifest(raw: bytes) -> BundleManifest:
    """Parse and check ``ccgate-bundle.json``.

    Raises:
        BundleFormatError: not JSON, another format, unknown fields, or a field of the wrong shape.
    """
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise BundleFormatError(f"{MANIFEST_NAME} is not JSON") from exc
    if not isinstance(document, dict) or document.get("format") != BUNDLE_FORMAT:
        raise BundleFormatError(f"{MANIFEST_NAME} must be an object with format {BUNDLE_FORMAT!r}")
    unknown = set(document) - _FIELDS
    if unknown:
        raise BundleFormatError(f"{MANIFEST_NAME} has unknown fields: {sorted(unknown)}")
    raw_entrypoints = document.get("entrypoints")
    if not isinstance(raw_entrypoints, dict) or not raw_entrypoints:
        raise BundleFormatError("entrypoints must name at least one command")
    entrypoints: dict[str, tuple[str, ...]] = {}
    for name, command in raw_entrypoints.items():
        if not isinstance(command, list) or not command or not all(isinstance(p, str) and p for p in command):
            raise BundleFormatError(f"entrypoint {name!r} must be a non-empty list of strings")
        entrypoints[str(name)] = tuple(command)
    env = document.get("env", {})
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise BundleFormatError("env must map strings to strings")
    if any(key.startswith("CCGATE_") for key in env):
        raise BundleFormatError("env may not set CCGATE_* variables; the runner sets them")
    output_dir = document.get("output_dir", "output")
    if not isinstance(output_dir, str):
        raise BundleFormatError("output_dir must be a string")
    return BundleManifest(entrypoints, dict(env), output_dir)


def _add_file(tar: tarfile.TarFile, name: str, content: bytes | Path) -> None:
    if isinstance(content, bytes):
        info = tarfile.TarInfo(name)
        info.size = len(content)
        info.mode = 0o755 if name.endswith((".sh", ".py")) else 0o644
        tar.addfile(info, io.BytesIO(content))
        return
    mode = content.lstat().st_mode
    if not stat.S_ISREG(mode):
        raise BundleFormatError(f"{content} is not a regular file; bundles hold regular files only")
    info = tar.gettarinfo(str(content), arcname=name)
    # Owner, group and times of the owner's machine say nothing the runner needs.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o755 if mode & stat.S_IXUSR else 0o644
    with open(content, "rb") as handle:
        tar.addfile(info, handle)


def write_bundle(archive: Path, files: Mapping[str, bytes | Path], manifest: BundleManifest) -> None:
    """Write a bundle tar: the manifest, then ``files`` (name → bytes, or a path streamed from disk).

    Raises:
        BundleFormatError: a manifest the runner would refuse; a name that is absolute, climbs with
            ``..`` or is the manifest's; or a path that is not a regular file.
        OSError: a file cannot be read or the archive written.
    """
    manifest_bytes = json.dumps(manifest.document(), indent=2).encode()
    # Written only if the runner's own parser accepts it, so a bundle made here runs there.
    parse_bundle_manifest(manifest_bytes)
    for name in files:
        parts = name.split("/")
        if name.startswith("/") or ".." in parts or name == MANIFEST_NAME or not name:
            raise BundleFormatError(f"{name!r} cannot be a member name of a bundle")
    # Written beside the target and renamed when complete, so a refused member leaves no half bundle.
    partial = archive.with_name(f".{archive.name}.partial")
    try:
        with tarfile.open(partial, mode="w") as tar:
            _add_file(tar, MANIFEST_NAME, manifest_bytes)
            for name, content in sorted(files.items()):
                _add_file(tar, name, content)
        os.replace(partial, archive)
    finally:
        partial.unlink(missing_ok=True)
