"""The seam through which node enrolment Evidence is verified.

``EvidenceVerifier`` is what the gateway needs from the Verifier (``attestation``): Evidence, the
report data it must be bound to, and the gateway's ``now`` → an Attestation Result, or an
``AttestationError``. The per-TEE verifiers (``attestation.snp``, ``.tdx``, ``.nvidia``,
``.simulated``) are being built in parallel; until the lead wires them in, the gateway runs with
``UnavailableEvidenceVerifier``, which refuses every enrolment (fail closed) with a clear code.
"""

from datetime import datetime
from typing import Protocol

from attestation.evidence import EvidenceBundle
from attestation.result import AttestationResult
from gateway.errors import VerifierUnavailableError


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
