"""The SPDM parser: strict bounds, one typed error per malformation, nothing else ever escapes."""

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attestation.errors import AttestationError
from attestation.nvidia import spdm
from attestation.nvidia.errors import (
    SpdmCodeError,
    SpdmMalformedError,
    SpdmMeasurementBlockError,
    SpdmRequestError,
    SpdmTrailingBytesError,
    SpdmTruncatedError,
    SpdmVersionError,
)
from attestation.nvidia.opaque import parse_opaque_data
from attestation.nvidia.spdm import REQUEST_SIZE, parse_measurement_report
from tests.attestation.nvidia import vectors as v
from tests.attestation.nvidia.spdm_builder import DEFAULT_NONCE, ReportParts, block


def test_a_well_formed_report_parses_into_its_fields() -> None:
    parts = ReportParts()
    report = parse_measurement_report(parts.build())
    assert report.nonce == DEFAULT_NONCE
    assert len(report.blocks) == 64
    assert report.digest_at(1) == bytes([1]) * 48
    assert report.digest_at(65) is None
    assert report.signed_bytes == parts.unsigned()
    assert report.opaque_data == parts.opaque


def _with(**changes: object) -> bytes:
    parts = ReportParts()
    for name, value in changes.items():
        setattr(parts, name, value)
    return parts.build()


@pytest.mark.parametrize(
    ("report", "error"),
    [
        pytest.param(
            _with(request_header=bytes([0x12, 0xE0, 1, 0xFF])), SpdmVersionError, id="request is SPDM 1.2"
        ),
        pytest.param(
            _with(response_header=bytes([0x10, 0x60, 0, 0])), SpdmVersionError, id="response is SPDM 1.0"
        ),
        pytest.param(
            _with(request_header=bytes([0x11, 0x81, 1, 0xFF])),
            SpdmCodeError,
            id="request is not GET_MEASUREMENTS",
        ),
        pytest.param(
            _with(response_header=bytes([0x11, 0x7F, 0, 0])), SpdmCodeError, id="response is an ERROR"
        ),
        pytest.param(
            _with(request_header=bytes([0x11, 0xE0, 0, 0xFF])), SpdmRequestError, id="no signature requested"
        ),
        pytest.param(
            _with(request_header=bytes([0x11, 0xE0, 1, 0x01])),
            SpdmRequestError,
            id="one measurement requested",
        ),
        pytest.param(_with(slot=8), SpdmRequestError, id="slot 8 does not exist"),
        pytest.param(
            _with(response_header=bytes([0x11, 0x60, 0, 1])), SpdmRequestError, id="response for another slot"
        ),
        pytest.param(
            _with(number_of_blocks=0, blocks=b"", digests=[]), SpdmMeasurementBlockError, id="no block"
        ),
        pytest.param(
            _with(number_of_blocks=63), SpdmMeasurementBlockError, id="record longer than its blocks"
        ),
        pytest.param(_with(number_of_blocks=65), SpdmTruncatedError, id="more blocks than the record holds"),
        pytest.param(_with(record_length=5000), SpdmTruncatedError, id="record length past the end"),
        pytest.param(_with(opaque_length=5000), SpdmTruncatedError, id="opaque length past the end"),
        pytest.param(_with(signature=bytes(95)), SpdmTruncatedError, id="signature cut short"),
        pytest.param(_with(signature=bytes(97)), SpdmTrailingBytesError, id="one trailing byte"),
        pytest.param(
            _with(digests=[b"x" * 48], blocks=block(1, b"x" * 48, spec=2)),
            SpdmMeasurementBlockError,
            id="not DMTF",
        ),
        pytest.param(
            _with(digests=[b"x" * 48], blocks=block(1, b"x" * 48, value_type=0x81)),
            SpdmMeasurementBlockError,
            id="raw bit stream instead of a digest",
        ),
        pytest.param(
            _with(digests=[b"x" * 32], blocks=block(1, b"x" * 32)),
            SpdmMeasurementBlockError,
            id="SHA-256 sized value",
        ),
        pytest.param(
            _with(digests=[b"x" * 48], blocks=block(1, b"x" * 48, size=52) + b"\x00"),
            SpdmMeasurementBlockError,
            id="MeasurementSize disagrees with the value size",
        ),
        pytest.param(
            _with(digests=[b"x" * 48] * 2, blocks=block(1, b"x" * 48) + block(1, b"y" * 48)),
            SpdmMeasurementBlockError,
            id="a repeated index",
        ),
        pytest.param(
            _with(digests=[b"x" * 48], blocks=block(0, b"x" * 48)), SpdmMeasurementBlockError, id="index 0"
        ),
    ],
)
def test_each_malformation_has_its_typed_error(report: bytes, error: type[SpdmMalformedError]) -> None:
    with pytest.raises(error):
        parse_measurement_report(report)


@pytest.mark.vectors
def test_every_truncation_of_a_real_report_is_refused_with_a_typed_error() -> None:
    report = v.report_bytes(v.HOPPER_545)
    for length in range(len(report)):
        with pytest.raises(SpdmMalformedError):
            parse_measurement_report(report[:length])


@pytest.mark.vectors
def test_a_real_report_with_one_trailing_zero_byte_is_refused() -> None:
    report = v.report_bytes(v.HOPPER_545)
    assert parse_measurement_report(report).signed_bytes == report[:-96]
    with pytest.raises(SpdmTrailingBytesError):
        parse_measurement_report(report + b"\x00")


def test_the_request_is_37_bytes() -> None:
    assert REQUEST_SIZE == 37


def _parse_everything(data: bytes) -> None:
    report = parse_measurement_report(data)
    parse_opaque_data(report.opaque_data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_typed_errors(data: bytes) -> None:
    with contextlib.suppress(AttestationError):
        _parse_everything(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_behind_a_valid_request_header_raise_only_typed_errors(tail: bytes) -> None:
    with contextlib.suppress(AttestationError):
        _parse_everything(bytes([0x11, 0xE0, 1, 0xFF]) + bytes(33) + bytes([0x11, 0x60, 0, 0]) + tail)


@pytest.mark.vectors
@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_real_reports_raise_only_typed_errors_or_parse(data: st.DataObject) -> None:
    report = bytearray(v.report_bytes(v.HOPPER_550))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(report) - 1))
        report[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(report)))
    with contextlib.suppress(AttestationError):
        _parse_everything(bytes(report[:cut]) + data.draw(st.binary(max_size=8)))


def _careful(record: bytes, count: int) -> tuple[object, ...] | type[Exception]:
    try:
        return spdm._parse_record(record, count, fast_path=False)
    except SpdmMalformedError as exc:
        return type(exc)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_the_fast_block_reader_agrees_with_the_careful_one(data: st.DataObject) -> None:
    # A well-formed record of 64 blocks, then random byte changes: the same blocks, or the same refusal.
    report = parse_measurement_report(ReportParts().build())
    record = b"".join(block(b.index, b.digest) for b in report.blocks)
    mutated = bytearray(record)
    for _ in range(data.draw(st.integers(0, 3))):
        mutated[data.draw(st.integers(0, len(record) - 1))] = data.draw(st.integers(0, 255))
    count = len(report.blocks)
    try:
        fast: tuple[object, ...] | type[Exception] = spdm._parse_record(bytes(mutated), count)
    except SpdmMalformedError as exc:
        fast = type(exc)
    assert fast == _careful(bytes(mutated), count)
