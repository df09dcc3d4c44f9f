"""The seam through which Evidence is verified, and the gateway's rule on simulated Evidence.

``EvidenceVerifier`` is what the gateway needs from the Verifier (``attestation``): Evidence, the
report data it must be bound to, and the gateway's ``now`` → an Attestation Result, or an
``AttestationError``. ``UnavailableEvidenceVerifier`` stands in when no Verifier is wired in and
refuses everything (fail closed) with a clear code. ``refuse_simulated`` is the one place enrolment
and attestation ask whether this gateway accepts the simulated TEE.
"""

from datetime import datetime
from typing import Protocol

from attestation.evidence import EvidenceBundle
from attestation.result import AttestationResult
from gateway.errors import GatewayError, SimulatedTeeRefusedError, VerifierUnavailableError
from gateway.settings import Settings


class EvidenceVerifier(Protocol):
    """Verifies an Evidence bundle bound to ``expected_report_data`` at ``now``."""

    def verify(
        self, bundle: EvidenceBundle, *, expected_report_data: bytes, now: datetime
    ) -> AttestationResult:
        """Return the Attestation Result.

        Raises:
            attestation.errors.AttestationError: the Evidence does not verify (or collateral is missing).
        """
        ...


class UnavailableEvidenceVerifier:
    """No Verifier is wired in: every enrolment is refused with ``verifier.unavailable``."""

    def verify(
        self, bundle: EvidenceBundle, *, expected_report_data: bytes, now: datetime
    ) -> AttestationResult:
        """Always refuse.

        Raises:
            VerifierUnavailableError: always.
        """
        raise VerifierUnavailableError(
            f"no Evidence verifier for {bundle.cpu.tee} is configured on this gateway"
        )


def refuse_simulated(
    simulated: bool,
    settings: Settings,
    what: str = "Evidence",
    refusal: type[GatewayError] = SimulatedTeeRefusedError,
) -> None:
    """Refuse simulated ``what`` (Evidence, or a node) on a gateway that does not accept the simulated TEE.

    ``refusal`` names the step: enrolment (the default) or a release's attestation.

    Raises:
        SimulatedTeeRefusedError: (or ``refusal``) ``simulated`` is true and the settings do not
            allow the simulated TEE.
    """
    if simulated and not settings.allow_simulated_tee:
        raise refusal(f"this gateway does not accept simulated {what}")
