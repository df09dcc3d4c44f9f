"""Comparing the report's measurement blocks with the RIMs' golden values, and choosing the RIM.

RIM index i (0-based) is SPDM block i + 1. Every ACTIVE golden measurement is compared, and any of
its alternatives matches; all-zero golden values are real values. RIM index 35 is skipped when the
report says NVDEC0 is disabled (0x55), because that block then holds no meaningful value. An active
index whose block is absent from the report is a mismatch.

Several RIMs may answer to one RIM id (NVIDIA re-issues them). The candidate chosen is the first
whose digest, signature and chain verify and that matches, preferring a version match; when none
matches, the verified candidate with the fewest mismatches is reported.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from attestation.errors import AttestationError, ReferenceIntegrityError
from attestation.nvidia.errors import RimMissingError
from attestation.nvidia.memo import BoundedMemo
from attestation.nvidia.opaque import STATUS_DISABLED
from attestation.nvidia.rim import RimDocument
from attestation.nvidia.rim_signature import VerifiedRim, verify_rim
from attestation.nvidia.spdm import SpdmMeasurementReport
from attestation.result import MeasurementMismatch

NVDEC0_RIM_INDEX = 35


@dataclass(frozen=True, slots=True)
class Comparison:
    """The outcome of comparing one RIM with one report."""

    mismatches: tuple[MeasurementMismatch, ...]
    compared: tuple[int, ...]
    skipped: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RimSelection:
    """The RIM chosen for an id, with its comparison and the expiry of its signing chain."""

    rim_id: str
    rim: VerifiedRim
    expiration: datetime
    comparison: Comparison
    version_match: bool


def skips_nvdec0(nvdec0_status: int | None) -> bool:
    """Whether RIM index 35 is skipped: only when the report says NVDEC0 is disabled (0x55)."""
    return nvdec0_status == STATUS_DISABLED


def compare_measurements(rim: RimDocument, report: SpdmMeasurementReport, *, skip_nvdec0: bool) -> Comparison:
    """Compare every active golden measurement of ``rim`` with the report's blocks."""
    mismatches = []
    compared = []
    skipped = []
    for golden in rim.active:
        if skip_nvdec0 and golden.index == NVDEC0_RIM_INDEX:
            skipped.append(golden.index)
            continue
        compared.append(golden.index)
        runtime = report.digest_at(golden.index + 1)
        if runtime is None or runtime not in golden.values:
            mismatches.append(
                MeasurementMismatch(
                    index=golden.index,
                    golden_values=tuple(value.hex() for value in golden.values),
                    runtime_value="" if runtime is None else runtime.hex(),
                )
            )
    return Comparison(tuple(mismatches), tuple(compared), tuple(skipped))


def _compare(
    verified: VerifiedRim,
    report: SpdmMeasurementReport,
    skip_nvdec0: bool,
    memo: BoundedMemo[tuple[bytes, bytes, bool], Comparison] | None,
) -> Comparison:
    def compare() -> Comparison:
        return compare_measurements(verified.document, report, skip_nvdec0=skip_nvdec0)

    if memo is None:
        return compare()
    return memo.get_or_compute((report.measurements_key, verified.digest, skip_nvdec0), compare)


def index_conflicts(driver: RimDocument, vbios: RimDocument) -> tuple[int, ...]:
    """RIM indexes that both the driver and the VBIOS RIM mark active (they must be disjoint)."""
    driver_active = {golden.index for golden in driver.active}
    return tuple(sorted(driver_active & {golden.index for golden in vbios.active}))


def versions_equal(rim_version: str, report_version: str) -> bool:
    """RIM ``colloquialVersion`` against the report's version; VBIOS hex digits compare case-insensitively."""
    return rim_version.strip().lower() == report_version.strip().lower()


def _worst(errors: Sequence[AttestationError]) -> AttestationError:
    # A candidate that is forged or badly chained outranks one that is merely expired: the
    # former says the store holds a bad document, the latter only that it needs a refresh.
    for error in errors:
        if isinstance(error, ReferenceIntegrityError):
            return error
    return errors[0]


def select_rim(
    rim_id: str,
    candidates: Sequence[bytes],
    report_version: str,
    report: SpdmMeasurementReport,
    *,
    skip_nvdec0: bool,
    rim_root: x509.Certificate,
    now: datetime,
    rims: BoundedMemo[tuple[bytes, bytes], VerifiedRim],
    links: BoundedMemo[tuple[bytes, bytes], bool],
    comparisons: BoundedMemo[tuple[bytes, bytes, bool], Comparison] | None = None,
    rim_root_print: bytes | None = None,
) -> RimSelection:
    """Verify every candidate for ``rim_id`` and choose the one to judge the report by.

    ``comparisons`` memoises a comparison by the report's measurements, the RIM document and the
    NVDEC0 rule: it depends on nothing else. ``rim_root_print`` is the root's fingerprint when the
    caller holds it.

    Raises:
        RimMissingError: there is no candidate for the id.
        ReferenceIntegrityError: (a subclass) no candidate verifies and one of them is forged,
            edited or badly chained.
        RimExpiredError: no candidate verifies, and they all failed only on validity at ``now``.
    """
    if not candidates:
        raise RimMissingError(f"the collateral has no RIM {rim_id}")
    selections = []
    errors: list[AttestationError] = []
    for document in candidates:
        try:
            verified, expiration = verify_rim(
                document, rim_root, now, rims=rims, links=links, root_print=rim_root_print
            )
        except AttestationError as exc:
            errors.append(exc)
            continue
        comparison = _compare(verified, report, skip_nvdec0, comparisons)
        match = versions_equal(verified.document.colloquial_version, report_version)
        selections.append(RimSelection(rim_id, verified, expiration, comparison, match))
    if not selections:
        raise _worst(errors)
    return min(
        selections,
        key=lambda selection: (len(selection.comparison.mismatches), not selection.version_match),
    )
