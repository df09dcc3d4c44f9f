"""The model bundle format: a tar archive with a manifest, unpacked defensively.

A bundle is a tar (encrypted as an envelope like any artefact) whose member ``ccgate-bundle.json``
says how to run it::

    {"format": "ccgate-bundle/v1", "entrypoints": {"train": ["python3", "train.py"]},
     "env": {"OMP_NUM_THREADS": "2"}, "output_dir": "output"}

A job names one entrypoint and its arguments (they are part of the attested manifest); the runner
runs that entrypoint's command followed by the job's arguments. ``command[0]`` is resolved on the
runner's PATH or relative to the bundle; ``output_dir`` is informational: the runner always gives the
job ``$CCGATE_OUTPUT``. Unpacking refuses absolute paths,
``..``, links leaving the workspace, device files and FIFOs (the standard library's ``data`` filter,
PEP 706), and enforces member-count and size limits before writing a byte, so a 10 GB sparse member
is refused from its header alone.
"""

import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from enclave_runner.errors import (
    BundleError,
    BundleLinkError,
    BundleManifestError,
    BundlePathError,
    BundleSizeError,
    BundleSpecialFileError,
)

MANIFEST_NAME: Final = "ccgate-bundle.json"
BUNDLE_FORMAT: Final = "ccgate-bundle/v1"


@dataclass(frozen=True)
class BundleLimits:
    """Bounds on what a bundle may unpack to."""

    max_members: int = 10_000
    max_member_bytes: int = 2 << 30
    max_total_bytes: int = 8 << 30


@dataclass(frozen=True)
class BundleManifest:
    """How to run a bundle: named entrypoints (each a command line), environment, output directory."""

    entrypoints: dict[str, tuple[str, ...]]
    env: dict[str, str] = field(default_factory=dict)
    output_dir: str = "output"

    def command(self, entrypoint: str, arguments: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The command line of ``entrypoint`` followed by the job's ``arguments``.

        Raises:
            BundleManifestError: the bundle declares no such entrypoint.
        """
        declared = self.entrypoints.get(entrypoint)
        if declared is None:
            names = ", ".join(sorted(self.entrypoints)) or "none"
            raise BundleManifestError(f"the bundle has no entrypoint {entrypoint!r} (it has: {names})")
        return (*declared, *arguments)


def _parse_manifest(raw: bytes) -> BundleManifest:
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise BundleManifestError(f"{MANIFEST_NAME} is not JSON") from exc
    if not isinstance(document, dict) or document.get("format") != BUNDLE_FORMAT:
        raise BundleManifestError(f"{MANIFEST_NAME} must be an object with format {BUNDLE_FORMAT!r}")
    unknown = set(document) - {"format", "entrypoints", "env", "output_dir"}
    if unknown:
        raise BundleManifestError(f"{MANIFEST_NAME} has unknown fields: {sorted(unknown)}")
    raw_entrypoints = document.get("entrypoints")
    if not isinstance(raw_entrypoints, dict) or not raw_entrypoints:
        raise BundleManifestError("entrypoints must name at least one command")
    entrypoints: dict[str, tuple[str, ...]] = {}
    for name, command in raw_entrypoints.items():
        if not isinstance(command, list) or not command or not all(isinstance(p, str) and p for p in command):
            raise BundleManifestError(f"entrypoint {name!r} must be a non-empty list of strings")
        entrypoints[str(name)] = tuple(command)
    env = document.get("env", {})
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise BundleManifestError("env must map strings to strings")
    if any(key.startswith("CCGATE_") for key in env):
        raise BundleManifestError("env may not set CCGATE_* variables; the runner sets them")
    output_dir = document.get("output_dir", "output")
    if not isinstance(output_dir, str):
        raise BundleManifestError("output_dir must be a string")
    return BundleManifest(entrypoints, dict(env), output_dir)


def _check_member(member: tarfile.TarInfo, limits: BundleLimits) -> None:
    # The data filter would silently strip a leading "/"; an absolute name is refused outright instead.
    if member.name.startswith(("/", "\\")) or ".." in member.name.replace("\\", "/").split("/"):
        raise BundlePathError(f"member {member.name!r} has an absolute path or climbs out with ..")
    if member.size > limits.max_member_bytes:
        raise BundleSizeError(
            f"member {member.name!r} is {member.size} bytes; the limit is {limits.max_member_bytes}"
        )
    if member.ischr() or member.isblk() or member.isfifo() or member.isdev():
        raise BundleSpecialFileError(f"member {member.name!r} is a device or FIFO")


def _data_filter(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
    """The standard library's ``data`` filter (PEP 706), with its refusals mapped to our error codes."""
    try:
        return tarfile.data_filter(member, path)
    except (tarfile.AbsolutePathError, tarfile.OutsideDestinationError) as exc:
        raise BundlePathError(f"member {member.name!r} escapes the workspace") from exc
    except (tarfile.AbsoluteLinkError, tarfile.LinkOutsideDestinationError) as exc:
        raise BundleLinkError(f"member {member.name!r} links outside the workspace") from exc
    except tarfile.SpecialFileError as exc:
        raise BundleSpecialFileError(f"member {member.name!r} is a special file") from exc
    except tarfile.FilterError as exc:
        raise BundleError(f"member {member.name!r} was refused: {exc}") from exc


def unpack_bundle(archive: Path, destination: Path, limits: BundleLimits | None = None) -> BundleManifest:
    """Check every member of ``archive``, then unpack it into ``destination``; return its manifest.

    Raises:
        BundlePathError, BundleLinkError, BundleSpecialFileError, BundleSizeError: an unsafe member.
        BundleManifestError: no valid ``ccgate-bundle.json``.
        BundleError: the file is not a tar archive.
    """
    limits = limits or BundleLimits()
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            # Members are checked as each header is read, so a header declaring an absurd size is
            # refused before tarfile tries to skip past it.
            members: list[tarfile.TarInfo] = []
            total = 0
            while (member := tar.next()) is not None:
                _check_member(member, limits)
                members.append(member)
                total += member.size
                if len(members) > limits.max_members:
                    raise BundleSizeError(f"more than {limits.max_members} members")
                if total > limits.max_total_bytes:
                    raise BundleSizeError(f"the bundle unpacks to more than {limits.max_total_bytes} bytes")
            names = {member.name.lstrip("./") for member in members}
            if MANIFEST_NAME not in names:
                raise BundleManifestError(f"the bundle has no {MANIFEST_NAME}")
            # Every member was size-checked above and the data filter refuses traversal, links and devices.
            tar.extractall(destination, members=members, filter=_data_filter)  # noqa: S202
    except tarfile.ReadError as exc:
        raise BundleError(f"the model bundle is not a tar archive: {exc}") from exc
    manifest_path = destination / MANIFEST_NAME
    if manifest_path.is_symlink() or not manifest_path.is_file():
        raise BundleManifestError(f"{MANIFEST_NAME} must be a regular file")
    return _parse_manifest(manifest_path.read_bytes())


def write_bundle(archive: Path, files: dict[str, bytes], manifest: BundleManifest) -> None:
    """Write a bundle tar from in-memory files (for owners, the demo and tests)."""
    document = {
        "format": BUNDLE_FORMAT,
        "entrypoints": {name: list(command) for name, command in manifest.entrypoints.items()},
        "env": manifest.env,
        "output_dir": manifest.output_dir,
    }
    entries = {MANIFEST_NAME: json.dumps(document, indent=2).encode(), **files}
    with tarfile.open(archive, mode="w") as tar:
        for name, data in sorted(entries.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith((".sh", ".py")) else 0o644
            tar.addfile(info, io.BytesIO(data))
