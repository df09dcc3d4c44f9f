"""The fence around the SIMULATED TEE (NOT SECURITY): its warning class and the explicit simulated roots.

A Verifier accepts simulated Evidence only when its caller hands it a ``SimulatedRoots``: there is no
default, no environment switch and no way to reach these roots by accident. Building one warns (as
sigstore's ``UnsafeNoOp`` does), and a pinned vendor root is refused, so real and simulated trust can
never be mixed in one set.
"""

import warnings
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from attestation.errors import SimulatedEvidenceRefusedError
from attestation.pki import load_certificate, verify_issued_by
from attestation.roots import pinned_root_name

SIMULATED_WARNING_TEXT: Final = (
    "the simulated TEE is in use: its roots were generated locally and its Evidence proves nothing "
    "about any hardware; use it for development and demos only"
)


class SimulatedTeeWarning(UserWarning):
    """Simulated TEE roots or Evidence are in use: nothing verified with them is security."""


def warn_simulated(stacklevel: int = 3) -> None:
    """Emit ``SimulatedTeeWarning`` at the caller's caller (the code that chose simulation)."""
    warnings.warn(SIMULATED_WARNING_TEXT, SimulatedTeeWarning, stacklevel=stacklevel)


def _require_simulated_root(certificate: x509.Certificate, what: str) -> None:
    if pinned_root_name(certificate) is not None:
        raise SimulatedEvidenceRefusedError(
            f"the {what} is a pinned vendor root; a real root is never accepted as a simulated one"
        )
    if certificate.subject != certificate.issuer:
        raise SimulatedEvidenceRefusedError(f"the {what} is not self-issued, so it is not a root")
    verify_issued_by(certificate, certificate, f"the {what}")


@dataclass(frozen=True, slots=True)
class SimulatedRoots:
    """The three roots of one simulated vendor: GPU device identity, RIM signing, and CPU.

    Constructing it warns (``SimulatedTeeWarning``).

    Raises:
        SimulatedEvidenceRefusedError: a root is a pinned vendor root, or is not self-issued.
        CertificateChainError: a root's self-signature does not verify.
    """

    device_root: x509.Certificate
    rim_root: x509.Certificate
    cpu_root: x509.Certificate

    def __post_init__(self) -> None:
        warn_simulated(stacklevel=4)
        _require_simulated_root(self.device_root, "simulated GPU device root")
        _require_simulated_root(self.rim_root, "simulated RIM root")
        _require_simulated_root(self.cpu_root, "simulated CPU root")

    @classmethod
    def from_pem(cls, device_root: bytes, rim_root: bytes, cpu_root: bytes) -> "SimulatedRoots":
        """Load the three roots from PEM (or DER).

        Raises:
            EvidenceMalformedError: a value is not a certificate.
            SimulatedEvidenceRefusedError: as the constructor.
        """
        return cls(load_certificate(device_root), load_certificate(rim_root), load_certificate(cpu_root))

    def to_pem(self) -> dict[str, bytes]:
        """The roots as PEM keyed ``device-root``, ``rim-root``, ``cpu-root`` (the gateway's collateral)."""
        return {
            "device-root": self.device_root.public_bytes(Encoding.PEM),
            "rim-root": self.rim_root.public_bytes(Encoding.PEM),
            "cpu-root": self.cpu_root.public_bytes(Encoding.PEM),
        }
