"""Every TDX vector in ../shared/testvectors/tdx gives the verdict its PROVENANCE.md states."""

from datetime import UTC, datetime

import dcap_qvl
import pytest

from attestation.errors import CollateralStaleError
from attestation.result import BindingStatus, TcbStatus
from attestation.tdx import parse_quote, verify_tdx_quote
from attestation.tdx.errors import TdxCollateralMismatchError, TdxTcbLevelNotFoundError
from tests.attestation.tdx_vectors import (
    collateral_2023,
    near_mpc_collateral,
    outofdate_collateral,
    tdx_dir,
    v5_collateral,
)

pytestmark = pytest.mark.vectors
QUOTES = [
    "near-mpc-2026-04",
    "spr-v4-gotdxguest",
    "v5-gotdxguest",
    "cos-v4-padded-gotdxguest",
    "outofdate-v4-trustee",
]


def _quote(name: str) -> bytes:
    return (tdx_dir() / name / "quote.dat").read_bytes()


def test_near_mpc_verifies_up_to_date_at_2026_04_15() -> None:
    expected = bytes.fromhex(
        "00014ee5e70e861db29a95224e48a47c016ab03c61238333319af7614593cd155ba531073edd69921742beb1c510ff433948"
    ) + bytes(14)
    claims = verify_tdx_quote(
        _quote("near-mpc-2026-04"),
        collateral=near_mpc_collateral(),
        expected_report_data=expected,
        now=datetime(2026, 4, 15, tzinfo=UTC),
    )
    tdx = claims.tdx
    assert tdx is not None
    assert (claims.tcb_status, tdx.qe_tcb_status, claims.debug, claims.simulated) == (
        TcbStatus.UP_TO_DATE,
        TcbStatus.UP_TO_DATE,
        False,
        False,
    )
    assert claims.report_data_binding is BindingStatus.VERIFIED
    assert claims.advisory_ids == ()
    assert (tdx.td_attributes, tdx.xfam, tdx.fmspc, tdx.quote_version) == (
        "0000001000000000",
        "e702060000000000",
        "b0c06f000000",
        4,
    )
    assert tdx.mrtd == (
        "f06dfda6dce1cf904d4e2bab1dc370634cf95cefa2ceb2de2eee127c9382698090d7a4a13e14c536ec6c9c3c8fa87077"
    )
    assert tdx.rtmr3.startswith("b7662ac19c27af648a939be0")
    assert tdx.mrconfigid.startswith("01cb9b2d6204f5e4")
    assert tdx.tcb_date == datetime(2024, 11, 13, tzinfo=UTC)
    assert claims.measurement == tdx.mrtd
    assert claims.hardware_id == tdx.ppid


def test_near_mpc_collateral_is_stale_at_now() -> None:
    with pytest.raises(CollateralStaleError) as caught:
        verify_tdx_quote(
            _quote("near-mpc-2026-04"),
            collateral=near_mpc_collateral(),
            expected_report_data=None,
            now=datetime(2026, 11, 26, tzinfo=UTC),
        )
    assert caught.value.retryable
    assert caught.value.claims["fmspc"] == "b0c06f000000"


def test_spr_has_no_matching_tcb_level() -> None:
    with pytest.raises(TdxTcbLevelNotFoundError) as caught:
        verify_tdx_quote(
            _quote("spr-v4-gotdxguest"),
            collateral=collateral_2023(),
            expected_report_data=None,
            now=datetime(2023, 7, 1, 1, tzinfo=UTC),
        )
    assert caught.value.code == "attestation.tdx.tcb_level_not_found"
    assert str(caught.value.claims["measurement"]).startswith("6363b8043668a3ad")
    assert caught.value.claims["debug"] is False


def test_outofdate_platform_is_a_claim_not_an_error() -> None:
    claims = verify_tdx_quote(
        _quote("outofdate-v4-trustee"),
        collateral=outofdate_collateral(),
        expected_report_data=None,
        now=datetime(2025, 11, 1, tzinfo=UTC),
    )
    assert claims.tdx is not None
    assert claims.tcb_status is TcbStatus.OUT_OF_DATE
    assert claims.tdx.qe_tcb_status is TcbStatus.UP_TO_DATE
    assert claims.tdx.tcb_date == datetime(2018, 1, 4, tzinfo=UTC)
    assert claims.tdx.mrtd.startswith("21e8dead92d6c69d")


def test_v5_with_only_the_2023_qe_identity_is_stale() -> None:
    with pytest.raises(CollateralStaleError, match="QE identity"):
        verify_tdx_quote(
            _quote("v5-gotdxguest"),
            collateral=v5_collateral(),
            expected_report_data=None,
            now=datetime(2026, 2, 15, tzinfo=UTC),
        )


def test_cos_quote_has_no_collateral_for_its_fmspc() -> None:
    with pytest.raises(TdxCollateralMismatchError) as caught:
        verify_tdx_quote(
            _quote("cos-v4-padded-gotdxguest"),
            collateral=near_mpc_collateral(),
            expected_report_data=None,
            now=datetime(2026, 4, 15, tzinfo=UTC),
        )
    assert "00806f050000" in str(caught.value)
    assert caught.value.claims["report_data"] == "00" * 64


def test_v5_quote_parses_the_tdx_1_5_body() -> None:
    quote = parse_quote(_quote("v5-gotdxguest"))
    assert (quote.version, quote.body_type) == (5, 3)
    assert quote.body.tee_tcb_svn2 is not None
    assert quote.body.tee_tcb_svn2.hex().startswith("0d010400")
    assert quote.body.mrservicetd == bytes(48)
    assert quote.body.td_attributes.hex() == "0000001000000000"


@pytest.mark.parametrize("name", QUOTES)
def test_our_parse_agrees_with_dcap_qvl(name: str) -> None:
    data = _quote(name)
    ours = parse_quote(data)
    theirs = dcap_qvl.parse_quote(data)
    assert ours.version == theirs.header.version
    assert ours.body.mrtd == theirs.report.mr_td
    assert ours.body.td_attributes == theirs.report.td_attributes
    assert ours.body.rtmr0 == theirs.report.rt_mr0
    assert ours.body.report_data == theirs.report.report_data
    assert ours.body.debug is False
