"""The EAR appraisal status of each device (``ear.status`` in the attestation token's ``submods``).

The Verifier's claims carry no judgement; the token adds one coarse status per device, in the IETF
EAR vocabulary, so a Relying Party that reads only the token can tell at a glance whether anything
needs its attention. Policies still decide releases from the claims themselves. The mapping, from
the worst finding down:

``contraindicated`` (known bad; a release policy should deny):
  CPU: a debuggable guest; TCB ``OutOfDate``, ``OutOfDateConfigurationNeeded`` or ``Revoked``; a
  certificate chain that is revoked or not ``valid``; report data not verified against the binding.
  GPU: measurements not ``success`` or any mismatched index; nonce, signature or FWID not matching;
  secure boot off or debug not ``disabled``; a RIM version that is not the report's; driver and VBIOS
  RIMs claiming the same index; any certificate chain (device, driver RIM, VBIOS RIM) revoked or not
  ``valid``.

``warning`` (nothing known bad, but not fully affirmed):
  Either: the device is simulated; a certificate chain's revocation was ``stale`` or ``not-checked``.
  CPU also: TCB ``SWHardeningNeeded``, ``ConfigurationNeeded`` or ``ConfigurationAndSWHardeningNeeded``;
  security advisories listed. GPU also: the report carried no FWID, so it was not compared.

``affirming``: everything else.
"""

from collections.abc import Iterable
from enum import StrEnum
from typing import Final

from attestation.result import (
    BindingStatus,
    CertChainClaims,
    CpuClaims,
    GpuClaims,
    RevocationStatus,
    TcbStatus,
)

MEASUREMENTS_MATCH: Final = "success"
DEBUG_DISABLED: Final = "disabled"
CHAIN_VALID: Final = "valid"


class EarStatus(StrEnum):
    """IETF EAR ``ear.status`` values, best first."""

    AFFIRMING = "affirming"
    WARNING = "warning"
    CONTRAINDICATED = "contraindicated"


_BAD_TCB: Final = frozenset(
    {TcbStatus.OUT_OF_DATE, TcbStatus.OUT_OF_DATE_CONFIGURATION_NEEDED, TcbStatus.REVOKED}
)
_WEAK_TCB: Final = frozenset(
    {
        TcbStatus.SW_HARDENING_NEEDED,
        TcbStatus.CONFIGURATION_NEEDED,
        TcbStatus.CONFIGURATION_AND_SW_HARDENING_NEEDED,
    }
)
_UNCERTAIN_REVOCATION: Final = frozenset({RevocationStatus.STALE, RevocationStatus.NOT_CHECKED})


def _chains_bad(chains: Iterable[CertChainClaims]) -> bool:
    return any(c.status != CHAIN_VALID or c.ocsp_status is RevocationStatus.CHECKED_REVOKED for c in chains)


def _chains_uncertain(chains: Iterable[CertChainClaims]) -> bool:
    return any(chain.ocsp_status in _UNCERTAIN_REVOCATION for chain in chains)


def cpu_status(claims: CpuClaims) -> EarStatus:
    """The EAR status of ``cpu0`` (see the module docstring for the mapping)."""
    if (
        claims.debug
        or claims.tcb_status in _BAD_TCB
        or claims.report_data_binding is not BindingStatus.VERIFIED
        or _chains_bad([claims.cert_chain])
    ):
        return EarStatus.CONTRAINDICATED
    if (
        claims.simulated
        or claims.tcb_status in _WEAK_TCB
        or claims.advisory_ids
        or _chains_uncertain([claims.cert_chain])
    ):
        return EarStatus.WARNING
    return EarStatus.AFFIRMING


def gpu_status(claims: GpuClaims) -> EarStatus:
    """The EAR status of one ``gpuN`` (see the module docstring for the mapping)."""
    chains = (claims.cert_chain, claims.driver_rim_cert_chain, claims.vbios_rim_cert_chain)
    if (
        claims.measres != MEASUREMENTS_MATCH
        or claims.mismatches
        or not claims.nonce_match
        or not claims.signature_verified
        or claims.fwid_match is False
        or not claims.secboot
        or claims.dbgstat != DEBUG_DISABLED
        or not claims.driver_rim_version_match
        or not claims.vbios_rim_version_match
        or not claims.vbios_index_no_conflict
        or _chains_bad(chains)
    ):
        return EarStatus.CONTRAINDICATED
    if claims.simulated or claims.fwid_match is None or _chains_uncertain(chains):
        return EarStatus.WARNING
    return EarStatus.AFFIRMING
