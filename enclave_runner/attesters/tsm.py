"""AMD SEV-SNP and Intel TDX Evidence through Linux configfs-tsm (``/sys/kernel/config/tsm/report``).

The kernel ABI (Documentation/ABI/testing/configfs-tsm): ``mkdir`` an entry under ``report/``, write
the 64-byte report data to ``inblob``, read the report (SNP) or quote (TDX) from ``outblob`` and, for
SNP, the certificate table from ``auxblob``; ``provider`` names the TEE (``sev_guest`` / ``tdx_guest``)
and ``generation`` must not change between writing and reading, or another process raced us.
The file operations go through ``TsmFilesystem`` so tests can substitute a fake kernel.
"""

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, Protocol

from enclave_runner.errors import AttesterError, AttesterUnavailableError
from enclave_runner.protocol.messages import CpuEvidenceMessage, b64encode

TSM_REPORT_ROOT: Final = Path("/sys/kernel/config/tsm/report")
PROVIDERS: Final[dict[str, Literal["snp", "tdx"]]] = {"sev_guest": "snp", "tdx_guest": "tdx"}


class TsmFilesystem(Protocol):
    """The few configfs operations the attester needs."""

    def make_entry(self, root: Path, name: str) -> Path:
        """Create a report entry and return its path."""
        ...

    def remove_entry(self, entry: Path) -> None:
        """Remove a report entry."""
        ...

    def write(self, path: Path, data: bytes) -> None:
        """Write an attribute."""
        ...

    def read(self, path: Path) -> bytes:
        """Read an attribute (empty bytes when it does not exist)."""
        ...


class KernelTsm:
    """The real configfs."""

    def make_entry(self, root: Path, name: str) -> Path:
        """``mkdir`` under the report root: the kernel populates the attributes."""
        entry = root / name
        entry.mkdir()
        return entry

    def remove_entry(self, entry: Path) -> None:
        """``rmdir`` the entry (configfs entries are removed with rmdir, not unlink)."""
        os.rmdir(entry)

    def write(self, path: Path, data: bytes) -> None:
        """Write one attribute in a single write call, as configfs requires."""
        with open(path, "wb", buffering=0) as handle:
            handle.write(data)

    def read(self, path: Path) -> bytes:
        """Read one attribute."""
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return b""


@dataclass
class TsmAttester:
    """CPU Evidence from configfs-tsm."""

    root: Path = TSM_REPORT_ROOT
    filesystem: TsmFilesystem | None = None

    def collect(self, report_data: bytes) -> CpuEvidenceMessage:
        """Collect an SNP report or TDX quote binding ``report_data``.

        Raises:
            AttesterUnavailableError: configfs-tsm is not mounted or the kernel has no TSM provider.
            AttesterError: the report could not be generated or another process raced this one.
        """
        if len(report_data) != 64:
            raise AttesterError("configfs-tsm report data is 64 bytes")
        fs = self.filesystem or KernelTsm()
        if not self.root.is_dir():
            raise AttesterUnavailableError(
                f"{self.root} does not exist: this is not a confidential VM with configfs-tsm "
                "(Linux 6.7+, mount -t configfs none /sys/kernel/config)"
            )
        try:
            entry = fs.make_entry(self.root, f"ccgate-{secrets.token_hex(8)}")
        except OSError as exc:
            raise AttesterUnavailableError(f"cannot create a configfs-tsm report entry: {exc}") from exc
        try:
            provider = fs.read(entry / "provider").decode("ascii", "replace").strip()
            tee = PROVIDERS.get(provider)
            if tee is None:
                raise AttesterUnavailableError(f"unknown configfs-tsm provider {provider!r}")
            generation = fs.read(entry / "generation")
            fs.write(entry / "inblob", report_data)
            report = fs.read(entry / "outblob")
            certificates = fs.read(entry / "auxblob") if tee == "snp" else b""
            expected = str(int(generation.decode() or "0") + 1).encode()
            if fs.read(entry / "generation").strip() != expected:
                raise AttesterError("another process wrote this configfs-tsm entry concurrently")
            if not report:
                raise AttesterError("configfs-tsm returned an empty report")
        except OSError as exc:
            raise AttesterError(f"configfs-tsm failed: {exc}") from exc
        finally:
            with contextlib.suppress(OSError):
                fs.remove_entry(entry)
        return CpuEvidenceMessage(type=tee, report=b64encode(report), certificates=b64encode(certificates))
