"""``ccgate evidence verify nras-eat``: judge an NRAS Attestation Result (detached EAT) offline.

ccgate never needs NRAS, but a security team handed an NRAS result checks it here like any other
Attestation Result: the structure and submod digests, every ES384 signature under NRAS's keys
(``--jwks``: NRAS's published key set, saved as collateral), the issuer, the validity window at
``--at`` and the expected nonce. Exit 0 when it verifies and NRAS's overall verdict is true; 1 when
it is rejected or NRAS's verdict is false; 2 on a usage error.
"""

from pathlib import Path
from typing import Annotated

import typer

from attestation.errors import AttestationError
from attestation.nvidia.nras_eat import NRAS_ISSUER, nras_keys_from_jwks, parse_nras_eat, verify_nras_eat
from gateway.cli.evidence_commands import emit_verdict, parse_at
from gateway.cli.evidence_nvidia import ExistingFile, parse_nonce

NEGATIVE_VERDICT = "attestation.nvidia.nras_verdict_negative"


def verify_nras(
    eat: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The detached EAT (JSON).")
    ],
    nonce: Annotated[str, typer.Option("--nonce", help="The expected eat_nonce (hex).")],
    jwks: Annotated[
        ExistingFile | None, typer.Option("--jwks", help="NRAS's JWKS (its signing keys).")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Verify at this RFC 3339 time (default: now).")
    ] = None,
    issuer: Annotated[str, typer.Option("--issuer", help="The expected iss.")] = NRAS_ISSUER,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Verify an NRAS detached EAT: digests, ES384 signatures (--jwks), issuer, time and nonce."""
    expected = parse_nonce(nonce)
    now = parse_at(at)
    document = eat.read_bytes()
    claims: dict[str, object] = {}
    try:
        parsed = parse_nras_eat(document)
        claims["submods-digest-match"] = True
        claims["gpu-count"] = len(parsed.gpus)
        keys = nras_keys_from_jwks(jwks.read_bytes()) if jwks is not None else {}
        result = verify_nras_eat(document, keys=keys, expected_nonce=expected, now=now, issuer=issuer)
    except AttestationError as exc:
        emit_verdict(claims, exc.code, str(exc), as_json)
        return
    claims.update(
        {
            "x-nvidia-overall-att-result": result.overall_result,
            "iss": result.issuer,
            "kid": result.key_id,
            "exp": f"{result.expires_at:%Y-%m-%dT%H:%M:%SZ}",
        }
    )
    for gpu in result.gpus:
        claims[gpu.name] = {
            "measres": gpu.measurement_result,
            "secboot": gpu.secure_boot,
            "dbgstat": gpu.debug_status,
            "x-nvidia-gpu-driver-version": gpu.driver_version,
            "x-nvidia-gpu-vbios-version": gpu.vbios_version,
            "ueid": gpu.ueid,
            "hwmodel": gpu.hardware_model,
        }
    if not result.overall_result:
        emit_verdict(claims, NEGATIVE_VERDICT, "NRAS's overall attestation result is false", as_json)
    emit_verdict(claims, None, None, as_json)
