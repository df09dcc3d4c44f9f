"""Hardware attesters against a fake configfs-tsm kernel and a fake NVML, both made here."""

import base64
import ctypes
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from enclave_runner.attesters.nvml import NvmlAttester
from enclave_runner.attesters.tsm import TsmAttester
from enclave_runner.errors import AttesterError, AttesterUnavailableError


@dataclass
class FakeTsmKernel:
    """Behaves like configfs-tsm: mkdir makes an entry, writing inblob produces outblob."""

    provider: str = "sev_guest"
    racing: bool = False
    entries: dict[Path, dict[str, bytes]] = field(default_factory=dict)
    removed: list[Path] = field(default_factory=list)

    def make_entry(self, root: Path, name: str) -> Path:
        entry = root / name
        self.entries[entry] = {"provider": self.provider.encode() + b"\n", "generation": b"0\n"}
        return entry

    def remove_entry(self, entry: Path) -> None:
        self.removed.append(entry)
        del self.entries[entry]

    def write(self, path: Path, data: bytes) -> None:
        attributes = self.entries[path.parent]
        attributes[path.name] = data
        bump = 2 if self.racing else 1
        attributes["generation"] = f"{int(attributes['generation']) + bump}\n".encode()
        attributes["outblob"] = b"REPORT:" + data
        attributes["auxblob"] = b"VCEK-CERTS"

    def read(self, path: Path) -> bytes:
        return self.entries[path.parent].get(path.name, b"")


def test_snp_evidence_through_configfs(tmp_path: Path) -> None:
    kernel = FakeTsmKernel()
    evidence = TsmAttester(root=tmp_path, filesystem=kernel).collect(b"\x07" * 64)
    assert evidence.type == "snp"
    assert base64.b64decode(evidence.report) == b"REPORT:" + b"\x07" * 64
    assert base64.b64decode(evidence.certificates) == b"VCEK-CERTS"
    assert kernel.entries == {}, "the report entry must be removed"


def test_tdx_quotes_carry_no_aux_certificates(tmp_path: Path) -> None:
    evidence = TsmAttester(root=tmp_path, filesystem=FakeTsmKernel(provider="tdx_guest")).collect(
        b"\x01" * 64
    )
    assert evidence.type == "tdx"
    assert evidence.certificates == ""


def test_a_missing_configfs_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AttesterUnavailableError, match="configfs-tsm"):
        TsmAttester(root=tmp_path / "absent", filesystem=FakeTsmKernel()).collect(b"\x00" * 64)


def test_an_unknown_provider_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AttesterUnavailableError, match="provider"):
        TsmAttester(root=tmp_path, filesystem=FakeTsmKernel(provider="arm_cca")).collect(b"\x00" * 64)


def test_a_concurrent_writer_is_detected(tmp_path: Path) -> None:
    kernel = FakeTsmKernel(racing=True)
    with pytest.raises(AttesterError, match="concurrently"):
        TsmAttester(root=tmp_path, filesystem=kernel).collect(b"\x00" * 64)
    assert kernel.entries == {}


def test_report_data_must_be_64_bytes(tmp_path: Path) -> None:
    with pytest.raises(AttesterError):
        TsmAttester(root=tmp_path, filesystem=FakeTsmKernel()).collect(b"\x00" * 32)


class _Report(ctypes.Structure):
    _fields_ = [("attestationReportSize", ctypes.c_uint), ("attestationReport", ctypes.c_uint8 * 64)]


class _Certificate(ctypes.Structure):
    _fields_ = [("attestationCertChainSize", ctypes.c_uint), ("attestationCertChain", ctypes.c_uint8 * 64)]


@dataclass
class FakeNvml:
    """NVML with N GPUs whose reports echo the nonce; shaped like pynvml's ctypes structures."""

    architectures: tuple[int, ...] = (9, 9)
    initialised: bool = False
    shut_down: bool = False

    def nvmlInit(self) -> None:
        self.initialised = True

    def nvmlShutdown(self) -> None:
        self.shut_down = True

    def nvmlDeviceGetCount(self) -> int:
        return len(self.architectures)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> object:
        return index

    def nvmlDeviceGetArchitecture(self, handle: object) -> int:
        assert isinstance(handle, int)
        return self.architectures[handle]

    def nvmlDeviceGetConfComputeGpuAttestationReport(self, handle: object, nonce: bytes) -> object:
        report = _Report()
        data = b"SPDM" + bytes([int(str(handle))]) + nonce
        report.attestationReportSize = len(data)
        ctypes.memmove(report.attestationReport, data, len(data))
        return report

    def nvmlDeviceGetConfComputeGpuCertificate(self, handle: object) -> object:
        certificate = _Certificate()
        data = b"-----BEGIN CERTIFICATE-----"
        certificate.attestationCertChainSize = len(data)
        ctypes.memmove(certificate.attestationCertChain, data, len(data))
        return certificate


def test_every_gpu_answers_the_nonce() -> None:
    nvml = FakeNvml()
    evidence = NvmlAttester(nvml).collect(b"\x05" * 32)
    assert [e.arch for e in evidence] == ["hopper", "hopper"]
    assert base64.b64decode(evidence[1].evidence) == b"SPDM\x01" + b"\x05" * 32
    assert base64.b64decode(evidence[0].certificate) == b"-----BEGIN CERTIFICATE-----"
    assert nvml.shut_down


def test_an_unknown_architecture_is_refused() -> None:
    with pytest.raises(AttesterError, match="GPU 1"):
        NvmlAttester(FakeNvml(architectures=(9, 7))).collect(b"\x00" * 32)


def test_no_gpu_is_unavailable() -> None:
    with pytest.raises(AttesterUnavailableError):
        NvmlAttester(FakeNvml(architectures=())).collect(b"\x00" * 32)


def test_the_nonce_must_be_32_bytes() -> None:
    with pytest.raises(AttesterError):
        NvmlAttester(FakeNvml()).collect(b"\x00" * 31)
