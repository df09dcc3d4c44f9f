"""What the caller hands the NVIDIA Verifier: trust anchors, RIMs by id, and cached OCSP responses.

The Verifier never fetches: the gateway's collateral store (or the CLI, from files) builds an
``NvidiaCollateral`` and passes it in. Roots are parameters, not constants, so that the simulated
TEE can run the real verification code; but a root is accepted only when its SHA-256 fingerprint
is the pinned NVIDIA one, or when the caller explicitly allows simulated roots, in which case every
result says ``simulated`` (STYLE 8: insecure conveniences say so and are fenced).
"""

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography import x509

from attestation.nvidia.errors import RootNotPinnedError
from attestation.nvidia.links import fingerprint
from attestation.pki import load_certificate
from attestation.roots import PINNED_ROOT_SHA256, PinnedRoot, der_sha256


class SimulatedRootsWarning(UserWarning):
    """Simulated NVIDIA roots were accepted: Evidence verified under them proves nothing about hardware."""


@dataclass(frozen=True, slots=True)
class NvidiaTrustAnchors:
    """The device identity root and the RIM signing root, and whether either is simulated."""

    device_root: x509.Certificate
    rim_root: x509.Certificate
    simulated: bool
    # The roots' SHA-256 fingerprints, computed once: every GPU's chain and RIMs are keyed by them.
    device_root_print: bytes = field(init=False)
    rim_root_print: bytes = field(init=False)

    def __post_init__(self) -> None:
        # A frozen dataclass sets its derived fields through object.__setattr__.
        object.__setattr__(self, "device_root_print", fingerprint(self.device_root))
        object.__setattr__(self, "rim_root_print", fingerprint(self.rim_root))


def _is_pinned(certificate: x509.Certificate, role: PinnedRoot) -> bool:
    return der_sha256(certificate) == PINNED_ROOT_SHA256[role]


def nvidia_trust_anchors(
    device_root: bytes, rim_root: bytes, *, allow_simulated_roots: bool = False
) -> NvidiaTrustAnchors:
    """Build the trust anchors from the two root certificates (PEM or DER).

    Each root must be the pinned NVIDIA root for its role (device identity, RIM signing). With
    ``allow_simulated_roots=True`` other roots are accepted too, a ``SimulatedRootsWarning`` is
    issued, and the anchors (and so every GPU claim verified under them) are marked simulated.

    Raises:
        EvidenceMalformedError: a root is not a certificate.
        RootNotPinnedError: a root is not pinned and simulated roots are not allowed.
    """
    device = load_certificate(device_root)
    rim = load_certificate(rim_root)
    pinned = _is_pinned(device, PinnedRoot.NVIDIA_DEVICE) and _is_pinned(rim, PinnedRoot.NVIDIA_RIM)
    if not pinned:
        if not allow_simulated_roots:
            raise RootNotPinnedError(
                "the NVIDIA device root or RIM root is not the pinned NVIDIA root "
                f"(device {der_sha256(device)[:16]}…, RIM {der_sha256(rim)[:16]}…)"
            )
        warnings.warn(
            "accepting simulated NVIDIA roots: GPU Evidence verified under them proves nothing",
            SimulatedRootsWarning,
            stacklevel=2,
        )
    return NvidiaTrustAnchors(device_root=device, rim_root=rim, simulated=not pinned)


@dataclass(frozen=True, slots=True)
class NvidiaCollateral:
    """Endorsements for NVIDIA GPU Evidence.

    ``rims`` maps a RIM id (e.g. ``NV_GPU_DRIVER_GH100_545.00``) to every candidate document the store
    holds for it: several genuine RIMs may share an id, and the Verifier picks the one that verifies
    and matches. ``ocsp_responses`` are DER OCSP responses, in any order; each is used only for the
    certificate its CertID names. ``ocsp_by_serial`` holds more of them by the serial number of the
    certificate they answer for, and only the serials of the chains being verified are looked up: a
    store keeps one response per GPU of a fleet, and a verification must not read them all.
    """

    anchors: NvidiaTrustAnchors
    rims: Mapping[str, tuple[bytes, ...]] = field(default_factory=dict)
    ocsp_responses: tuple[bytes, ...] = ()
    ocsp_by_serial: Mapping[int, bytes] | None = None
