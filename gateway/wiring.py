"""Builds the gateway's Verifier from settings: the collateral store, and simulated trust when allowed.

Kept out of ``app.py`` so the composition root reads as a list; this is the one place that reads a
simulated site from disk, and it does so only when the settings enable the simulated TEE.
"""

import warnings

from attestation.simulated.roots import SimulatedRoots, SimulatedTeeWarning
from gateway.collateral.store import CollateralStore
from gateway.errors import ConfigurationError
from gateway.evidence_verifier import SimulationTrust, StoreEvidenceVerifier
from gateway.settings import Settings
from gateway.simulation import RIMS_DIRECTORY, ROOTS_DIRECTORY


def default_evidence_verifier(settings: Settings) -> StoreEvidenceVerifier:
    """The Verifier the gateway runs with: Endorsements from its collateral store; a simulated site's
    roots and RIMs only when the simulated TEE is allowed and a site is configured.

    Raises:
        ConfigurationError: a simulated site is configured without allowing the simulated TEE, or
            its roots cannot be read.
    """
    store = CollateralStore(settings.collateral)
    if settings.simulated_site is None:
        return StoreEvidenceVerifier(store)
    if not settings.allow_simulated_tee:
        raise ConfigurationError(
            "CCGATE_SIMULATED_SITE needs CCGATE_ALLOW_SIMULATED_TEE=true (development only)"
        )
    roots_dir = settings.simulated_site / ROOTS_DIRECTORY
    try:
        with warnings.catch_warnings():
            # Settings.check already warned that the simulated TEE is on; say it once.
            warnings.simplefilter("ignore", SimulatedTeeWarning)
            roots = SimulatedRoots.from_pem(
                (roots_dir / "device-root.pem").read_bytes(),
                (roots_dir / "rim-root.pem").read_bytes(),
                (roots_dir / "cpu-root.pem").read_bytes(),
            )
    except OSError as exc:
        raise ConfigurationError(f"cannot read the simulated site's roots in {roots_dir}: {exc}") from exc
    rims = {
        path.stem: path.read_bytes()
        for path in sorted((settings.simulated_site / RIMS_DIRECTORY).glob("*.xml"))
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SimulatedTeeWarning)
        trust = SimulationTrust.from_site(roots, rims)
    return StoreEvidenceVerifier(store, simulation=trust)
