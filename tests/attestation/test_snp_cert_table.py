"""The SNP extended-report certificate table: parsed strictly, round-tripped, and refused when malformed."""

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attestation.errors import EvidenceMalformedError
from attestation.snp.cert_table import (
    ARK_GUID,
    ASK_GUID,
    VCEK_GUID,
    VLEK_GUID,
    build_cert_table,
    parse_cert_table,
    signing_key_certificate,
)


def test_round_trip_and_vcek_extraction() -> None:
    table = build_cert_table({VCEK_GUID: b"\x30\x82vcek", ASK_GUID: b"ask", ARK_GUID: b"ark"})
    assert parse_cert_table(table) == {VCEK_GUID: b"\x30\x82vcek", ASK_GUID: b"ask", ARK_GUID: b"ark"}
    assert signing_key_certificate(table) == b"\x30\x82vcek"


def test_a_vlek_is_found_too() -> None:
    assert signing_key_certificate(build_cert_table({VLEK_GUID: b"vlek"})) == b"vlek"


def test_bare_certificates_pass_through() -> None:
    assert signing_key_certificate(b"-----BEGIN CERTIFICATE-----x") == b"-----BEGIN CERTIFICATE-----x"


@pytest.mark.parametrize(
    "table",
    [
        build_cert_table({ASK_GUID: b"ask"}),
        build_cert_table({VCEK_GUID: b"v"})[:-1][:24],
        VCEK_GUID.bytes_le + (9999).to_bytes(4, "little") + (4).to_bytes(4, "little") + bytes(24),
        b"\x01" * 10,
    ],
    ids=["no VCEK or VLEK", "no terminator", "an offset past the end", "shorter than an entry"],
)
def test_malformed_tables_are_refused(table: bytes) -> None:
    with pytest.raises(EvidenceMalformedError):
        signing_key_certificate(table)


def test_a_repeated_guid_is_refused() -> None:
    entry = VCEK_GUID.bytes_le + (72).to_bytes(4, "little") + (1).to_bytes(4, "little")
    with pytest.raises(EvidenceMalformedError, match="twice"):
        parse_cert_table(entry + entry + bytes(24) + b"x")


@given(st.binary(max_size=400))
def test_arbitrary_bytes_give_only_typed_errors(data: bytes) -> None:
    with contextlib.suppress(EvidenceMalformedError):
        parse_cert_table(data)
