"""Unpacking a model bundle defensively (the format itself is ``protocol.bundle_format``).

Unpacking refuses absolute paths, ``..``, links leaving the workspace, device files and FIFOs (the
standard library's ``data`` filter, PEP 706), and enforces member-count and size limits before
writing a byte, so a 10 GB sparse member is refused from its header alone.
"""

import tarfile
from dataclasses import dataclass
from pathlib import Path

from enclave_runner.errors import (
    BundleError,
    BundleLinkError,
    BundleManifestError,
    BundlePathError,
    BundleSizeError,
    BundleSpecialFileError,
)
from enclave_runner.protocol.bundle_format import MANIFEST_NAME, BundleManifest, parse_bundle_manifest
from enclave_runner.protocol.errors import BundleFormatError


@dataclass(frozen=True)
class BundleLimits:
    """Bounds on what a bundle may unpack to."""

    max_members: int = 10_000
    max_member_bytes: int = 2 << 30
    max_total_bytes: int = 8 << 30


def _parse_manifest(raw: bytes) -> BundleManifest:
    try:
        return parse_bundle_manifest(raw)
    except BundleFormatError as exc:
        raise BundleManifestError(str(exc)) from exc


def bundle_command(manifest: BundleManifest, entrypoint: str, arguments: tuple[str, ...]) -> tuple[str, ...]:
    """The command line the job runs.

    Raises:
        BundleManifestError: the bundle declares no such entrypoint.
    """
    try:
        return manifest.command(entrypoint, arguments)
    except BundleFormatError as exc:
        raise BundleManifestError(str(exc)) from exc


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
