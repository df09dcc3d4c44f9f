"""``ccgate evidence verify nvidia``: verify one NVIDIA GPU's Evidence offline.

RIMs come from ``--rim`` files and/or a ``--rim-dir``:

* ``--rim-dir DIR`` is a collateral store keyed by RIM id: ``DIR/<RIM id>.xml`` (or ``.swidtag``)
  holds one RIM for that id, and a sub-directory ``DIR/<RIM id>/`` holds any number of candidates
  for it (NVIDIA re-issues RIMs under the same id). The RIM XML does not contain its id, so the
  file name is the binding, exactly as it is for the gateway's store.
* ``--rim FILE`` names a RIM the operator vouches for this Evidence. Its id cannot be computed from
  its content (a VBIOS RIM does not name its project and SKUs), so ccgate reads its
  ``colloquialVersion``: a VBIOS version (``96.00.5E.00.01``) makes it a candidate for the report's
  VBIOS RIM id, anything else for the report's driver RIM id. The version is then checked against the
  report like any other RIM's (``*-rim-version-match``), so a wrong file is caught, not trusted.

Exit 0: verified and every measurement (and RIM version) matches; 1: rejected, with ``error.code``
and the claims established so far; 2: usage error.
"""

import re
from collections import defaultdict
from pathlib import Path
from typing import Annotated

import typer
from cryptography.x509.oid import NameOID

from attestation.claims import to_claims
from attestation.errors import AttestationError
from attestation.evidence import GpuArch, GpuEvidence
from attestation.nvidia import (
    NvidiaCollateral,
    expected_rim_ids,
    nvidia_trust_anchors,
    require_measurements_match,
    verify_gpu_evidence,
)
from attestation.nvidia.rim import peek_colloquial_version
from attestation.pki import load_pem_chain
from gateway.cli.evidence_commands import emit_verdict, parse_at

RIM_SUFFIXES = (".xml", ".swidtag")
VBIOS_VERSION = re.compile(r"^[0-9A-Fa-f]{2}(\.[0-9A-Fa-f]{2}){4}$")
HEX_TEXT = re.compile(rb"^[0-9A-Fa-f\s]+$")
CHIP_NAME = re.compile(r"\b(GH|GB)\d{3}\b")
CHIP_FAMILIES = {"GH": GpuArch.HOPPER, "GB": GpuArch.BLACKWELL}

ExistingFile = Annotated[Path, typer.Option(exists=True, dir_okay=False, readable=True)]


def read_report(path: Path) -> bytes:
    """The report bytes from hex text (as NVIDIA's samples are) or raw binary."""
    data = path.read_bytes()
    if data.strip() and HEX_TEXT.match(data):
        text = b"".join(data.split())
        if len(text) % 2 == 0:
            return bytes.fromhex(text.decode("ascii"))
    return data


def parse_nonce(value: str) -> bytes:
    """The expected GPU nonce from hex.

    Raises:
        typer.BadParameter: the value is not an even number of hex digits.
    """
    try:
        nonce = bytes.fromhex(value)
    except ValueError as exc:
        raise typer.BadParameter("the nonce must be hex", param_hint="--nonce") from exc
    if not nonce:
        raise typer.BadParameter("the nonce is empty", param_hint="--nonce")
    return nonce


def detect_arch(chain_pem: bytes) -> GpuArch:
    """The architecture the device certificates name (a ``GHnnn`` chip is Hopper, ``GBnnn`` Blackwell).

    Raises:
        typer.BadParameter: no certificate names a known chip; pass ``--arch``.
    """
    try:
        certificates = load_pem_chain(chain_pem)
    except AttestationError as exc:
        raise typer.BadParameter(str(exc), param_hint="--cert-chain") from exc
    for certificate in certificates:
        for attribute in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
            chip = CHIP_NAME.search(str(attribute.value))
            if chip is not None:
                return CHIP_FAMILIES[chip.group(1)]
    raise typer.BadParameter("the certificates name no known GPU chip; pass --arch", param_hint="--arch")


def rims_from_directory(directory: Path) -> dict[str, list[bytes]]:
    """RIM candidates by id from a store directory (see the module docstring)."""
    rims: dict[str, list[bytes]] = defaultdict(list)
    for entry in sorted(directory.iterdir()):
        if entry.is_dir():
            for document in sorted(entry.iterdir()):
                if document.is_file() and document.suffix in RIM_SUFFIXES:
                    rims[entry.name].append(document.read_bytes())
        elif entry.is_file() and entry.suffix in RIM_SUFFIXES:
            rims[entry.name.removesuffix(entry.suffix)].append(entry.read_bytes())
    return rims


def add_rim_files(rims: dict[str, list[bytes]], files: list[Path], evidence: GpuEvidence) -> None:
    """File each ``--rim`` under the report's driver or VBIOS RIM id, by the version it declares.

    Raises:
        AttestationError: the report does not parse or a file is not a RIM.
    """
    ids = expected_rim_ids(evidence)
    for path in files:
        document = path.read_bytes()
        is_vbios = VBIOS_VERSION.match(peek_colloquial_version(document)) is not None
        rims[ids.vbios if is_vbios else ids.driver].append(document)


def verify_nvidia(
    evidence: Annotated[
        Path, typer.Option("--evidence", exists=True, dir_okay=False, help="Report: hex or raw.")
    ],
    cert_chain: Annotated[
        Path, typer.Option("--cert-chain", exists=True, dir_okay=False, help="Device chain PEM.")
    ],
    nonce: Annotated[str, typer.Option("--nonce", help="The expected GPU nonce, hex.")],
    device_root: Annotated[Path, typer.Option("--device-root", exists=True, dir_okay=False)],
    rim_root: Annotated[Path, typer.Option("--rim-root", exists=True, dir_okay=False)],
    rim: Annotated[
        list[Path] | None, typer.Option("--rim", exists=True, dir_okay=False, help="A RIM file (repeatable).")
    ] = None,
    rim_dir: Annotated[
        Path | None, typer.Option("--rim-dir", exists=True, file_okay=False, help="RIM store keyed by id.")
    ] = None,
    ocsp: Annotated[
        list[Path] | None,
        typer.Option("--ocsp", exists=True, dir_okay=False, help="Cached DER OCSP response."),
    ] = None,
    arch: Annotated[
        GpuArch | None, typer.Option("--arch", help="Default: from the device certificates.")
    ] = None,
    allow_simulated_roots: Annotated[
        bool, typer.Option("--allow-simulated-roots", help="Accept non-NVIDIA roots (simulation only).")
    ] = False,
    at: Annotated[
        str | None, typer.Option("--at", help="Verification time, RFC 3339 (default: now).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Verify an NVIDIA GPU attestation report against pinned roots, RIMs and cached OCSP responses."""
    now = parse_at(at)
    expected_nonce = parse_nonce(nonce)
    chain_pem = cert_chain.read_bytes()
    gpu = GpuEvidence(arch or detect_arch(chain_pem), read_report(evidence), chain_pem)
    try:
        anchors = nvidia_trust_anchors(
            device_root.read_bytes(), rim_root.read_bytes(), allow_simulated_roots=allow_simulated_roots
        )
        rims = rims_from_directory(rim_dir) if rim_dir is not None else defaultdict(list)
        add_rim_files(rims, rim or [], gpu)
        collateral = NvidiaCollateral(
            anchors=anchors,
            rims={rim_id: tuple(documents) for rim_id, documents in rims.items()},
            ocsp_responses=tuple(path.read_bytes() for path in ocsp or []),
        )
        claims = verify_gpu_evidence(gpu, expected_nonce=expected_nonce, collateral=collateral, now=now)
        require_measurements_match(claims)
    except AttestationError as exc:
        emit_verdict(exc.claims, exc.code, str(exc), as_json)
    document = to_claims(claims)
    emit_verdict(document if isinstance(document, dict) else {}, None, None, as_json)
