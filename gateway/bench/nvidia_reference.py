"""NVIDIA's own local verifier (nv-local-gpu-verifier) on one vector, in its own process.

Used by ``ccgate bench verify`` (the reference time) and by the cross-check test (the reference
verdict). It runs only where the ``[nvidia]`` extra is installed, always as a subprocess
(``python -m gateway.bench.nvidia_reference``): NVIDIA's verifier keeps global state, and these
patches must not leak into ccgate:

* OCSP is bypassed (no network here): the chain revocation check reports every chain as good, the
  only way NVIDIA's verifier can pass without its OCSP service (ccgate records ``not-checked``);
* the verification time is pinned: every OpenSSL certificate store NVIDIA's code or signxml verifies
  with is set to ``--at``, because the RIM chains of the public vectors have expired;
* the Evidence comes from files through NVIDIA's own no-GPU test handler, the RIMs from local files.

Prints one JSON document: ``{"verified": bool, "seconds": [per iteration], "version": str}``.
"""

import argparse
import json
import sys
import time
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any


def _pin_openssl_time(at: datetime) -> None:
    from OpenSSL import crypto  # noqa: PLC0415 - only importable with the [nvidia] extra.

    original = crypto.X509StoreContext.__init__

    def pinned(self: Any, store: Any, certificate: Any, chain: Any = None) -> None:
        store.set_time(at.replace(tzinfo=None))
        original(self, store, certificate, chain)

    crypto.X509StoreContext.__init__ = pinned


def run(arguments: argparse.Namespace) -> dict[str, object]:
    """Verify the vector ``arguments.iterations`` times with NVIDIA's verifier; time each run."""
    _pin_openssl_time(datetime.fromisoformat(arguments.at.replace("Z", "+00:00")))
    # These imports must follow the patch above; they only exist with the [nvidia] extra.
    from verifier import cc_admin  # noqa: PLC0415
    from verifier.cc_admin_utils import CcAdminUtils  # noqa: PLC0415
    from verifier.config import HopperSettings  # noqa: PLC0415
    from verifier.nvml.nvmlHandlerTest import NvmlHandlerTest  # noqa: PLC0415

    CcAdminUtils.ocsp_certificate_chain_validation = staticmethod(
        lambda chain, settings, mode: (True, "", "good", None)
    )
    HopperSettings.set_attestation_report_path(str(arguments.report))
    HopperSettings.set_gpu_attestation_certificates_path(str(arguments.chain))
    HopperSettings.set_driver_rim_path(str(arguments.driver_rim))
    options = {
        "verbose": False,
        "test_no_gpu": True,
        "driver_rim": str(arguments.driver_rim),
        "vbios_rim": str(arguments.vbios_rim),
        "user_mode": True,
        "allow_hold_cert": False,
        "service_key": None,
        "nonce": arguments.nonce,
        "rim_root_cert": None,
        "rim_service_url": None,
        "ocsp_url": None,
        "ocsp_nonce_disabled": True,
        "claims_version": "3.0",
    }
    seconds = []
    verified = True
    for _ in range(arguments.iterations):
        start = time.perf_counter()
        gpu = NvmlHandlerTest(settings=HopperSettings)
        gpu.DriverVersion = arguments.driver_version
        gpu.VbiosVersion = arguments.vbios_version.lower()
        outcome = cc_admin.attest(options, arguments.nonce, [gpu])
        seconds.append(time.perf_counter() - start)
        verified = verified and outcome is not None and outcome[0] is True
    return {"verified": verified, "seconds": seconds, "version": metadata.version("nv-local-gpu-verifier")}


def main() -> None:
    """Command-line entry: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--chain", type=Path, required=True)
    parser.add_argument("--driver-rim", type=Path, required=True)
    parser.add_argument("--vbios-rim", type=Path, required=True)
    parser.add_argument("--nonce", required=True)
    parser.add_argument("--driver-version", required=True)
    parser.add_argument("--vbios-version", required=True)
    parser.add_argument("--at", required=True)
    parser.add_argument("--iterations", type=int, default=1)
    arguments = parser.parse_args()
    # NVIDIA's verifier logs to stdout; the JSON result goes on the last line.
    result = run(arguments)
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
