"""Build ``TdxCollateral`` from the real Intel collateral in ../shared/testvectors/tdx."""

import json
from pathlib import Path

from attestation.tdx import TdxCollateral
from tests.conftest import vector_dir


def tdx_dir() -> Path:
    return vector_dir("tdx")


def root_pem() -> bytes:
    return (tdx_dir() / "roots" / "intel_sgx_root_ca.pem").read_bytes()


def near_mpc_collateral() -> TdxCollateral:
    return TdxCollateral.from_qvl_json(
        (tdx_dir() / "near-mpc-2026-04" / "collateral.json").read_text(), root_ca=root_pem()
    )


def collateral_2023() -> TdxCollateral:
    folder = tdx_dir() / "collateral-2023-06-gotdxguest"
    return TdxCollateral.from_pcs_responses(
        root_ca=root_pem(),
        tcb_info_response=(folder / "tcb_info_50806f000000.json").read_text(),
        tcb_info_issuer_chain=(folder / "tcb_info_issuer_chain.pem").read_text(),
        qe_identity_response=(folder / "qe_identity_td_qe.json").read_text(),
        qe_identity_issuer_chain=(folder / "qe_identity_issuer_chain.pem").read_text(),
        pck_crl=(folder / "pck_crl_platform.der").read_bytes(),
        pck_crl_issuer_chain=(folder / "pck_crl_issuer_chain.pem").read_text(),
        root_ca_crl=(folder / "root_ca_crl.der").read_bytes(),
    )


def with_near_mpc_crls(tcb_info: Path, qe_identity: Path, signer: Path) -> TdxCollateral:
    """TCB info / QE identity from a vector folder, with the signature-valid 2026 CRLs of near-mpc.

    PROVENANCE: no CRLs from those windows exist; CRLs issued later are accepted (revocation is
    permanent, so a later list that omits the PCK proves it was not revoked earlier).
    """
    near = json.loads((tdx_dir() / "near-mpc-2026-04" / "collateral.json").read_text())
    chain = signer.read_text() + root_pem().decode()
    return TdxCollateral.from_pcs_responses(
        root_ca=root_pem(),
        tcb_info_response=tcb_info.read_text(),
        tcb_info_issuer_chain=chain,
        qe_identity_response=qe_identity.read_text(),
        qe_identity_issuer_chain=chain,
        pck_crl=bytes.fromhex(near["pck_crl"]),
        pck_crl_issuer_chain=near["pck_crl_issuer_chain"],
        root_ca_crl=bytes.fromhex(near["root_ca_crl"]),
    )


def outofdate_collateral() -> TdxCollateral:
    folder = tdx_dir() / "outofdate-v4-trustee"
    return with_near_mpc_crls(
        folder / "tcb_info_00a06d080000.json",
        folder / "qe_identity_td_qe.json",
        folder / "intel_sgx_tcb_signing_2025-05-06_to_2032-05-06.pem",
    )


def v5_collateral() -> TdxCollateral:
    folder = tdx_dir() / "v5-gotdxguest"
    return with_near_mpc_crls(
        folder / "tcb_info_90c06f000000.json",
        tdx_dir() / "collateral-2023-06-gotdxguest" / "qe_identity_td_qe.json",
        folder / "intel_sgx_tcb_signing_2025-05-06_to_2032-05-06.pem",
    )
