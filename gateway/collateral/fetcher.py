"""Fetch collateral from the vendors' services (AMD KDS, Intel PCS, NVIDIA RIM and OCSP) into the store.

Only the gateway and the CLI call this; verifiers never fetch. Every request has a timeout and a
bounded number of retries (tenacity, exponential back-off) on transport errors and 5xx/429 answers;
4xx answers fail at once. Fetched items go through the same validation as ``collateral import``.
"""

import base64
import tempfile
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from gateway.collateral.importer import ImportReport, import_collateral
from gateway.collateral.store import CollateralStore
from gateway.errors import GatewayError

AMD_KDS = "https://kdsintf.amd.com"
INTEL_PCS = "https://api.trustedservices.intel.com"
NVIDIA_RIM = "https://rim.attestation.nvidia.com"
NVIDIA_OCSP = "https://ocsp.ndis.nvidia.com"


class CollateralFetchError(GatewayError):
    """A vendor service did not deliver an item after the allowed retries."""

    code = "collateral.fetch_failed"


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """Bounded network behaviour: per-request timeout and attempts (the first try included)."""

    timeout_seconds: float = 10.0
    attempts: int = 3
    backoff_seconds: float = 0.5


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, httpx.HTTPStatusError) and (
        exc.response.status_code >= 500 or exc.response.status_code == 429
    )


class VendorFetcher:
    """HTTP client for the vendor services, writing into a ``CollateralStore`` through import validation."""

    def __init__(
        self, store: CollateralStore, client: httpx.Client, settings: FetchSettings = FetchSettings()
    ) -> None:
        self.store = store
        self.client = client
        self.settings = settings

    def _get(
        self,
        url: str,
        *,
        method: str = "GET",
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        @retry(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(self.settings.attempts),
            wait=wait_exponential(multiplier=self.settings.backoff_seconds, max=8),
            reraise=True,
        )
        def attempt() -> httpx.Response:
            response = self.client.request(
                method, url, content=content, headers=headers, timeout=self.settings.timeout_seconds
            )
            response.raise_for_status()
            return response

        try:
            return attempt()
        except httpx.HTTPError as exc:
            raise CollateralFetchError(f"{url}: {exc}") from exc

    def _store(self, files: dict[str, bytes], now: datetime) -> ImportReport:
        with tempfile.TemporaryDirectory(prefix="ccgate-fetch-") as scratch:
            for name, data in files.items():
                (Path(scratch) / name).write_bytes(data)
            return import_collateral(self.store, Path(scratch), now=now)

    def amd_chain(self, product: str, *, vlek: bool, now: datetime) -> ImportReport:
        """ARK + ASK (or ASVK) for ``product`` and the matching CRL from the AMD KDS."""
        kind = "vlek" if vlek else "vcek"
        chain = self._get(f"{AMD_KDS}/{kind}/v1/{product}/cert_chain").content
        crl = self._get(f"{AMD_KDS}/{kind}/v1/{product}/crl").content
        return self._store({"cert_chain.pem": chain, "crl.der": crl}, now)

    def amd_vcek(self, product: str, chip_id: bytes, tcb: dict[str, int], *, now: datetime) -> ImportReport:
        """The VCEK of a chip at a TCB (``{"blSPL":…, "teeSPL":…, "snpSPL":…, "ucodeSPL":…}``)."""
        hardware_id = chip_id[:8] if product == "Turin" else chip_id
        query = urllib.parse.urlencode(tcb)
        vcek = self._get(f"{AMD_KDS}/vcek/v1/{product}/{hardware_id.hex()}?{query}").content
        return self._store({"vcek.der": vcek}, now)

    def intel_tdx(self, fmspc: str, *, now: datetime, ca: str = "platform") -> ImportReport:
        """TCB info for ``fmspc``, the TD QE identity, the PCK CRL of ``ca`` and their issuer chains."""
        tcb = self._get(f"{INTEL_PCS}/tdx/certification/v4/tcb?fmspc={fmspc}")
        qe = self._get(f"{INTEL_PCS}/tdx/certification/v4/qe/identity")
        crl = self._get(f"{INTEL_PCS}/sgx/certification/v4/pckcrl?ca={ca}&encoding=der")
        chain = urllib.parse.unquote(tcb.headers.get("TCB-Info-Issuer-Chain", ""))
        crl_chain = urllib.parse.unquote(crl.headers.get("SGX-PCK-CRL-Issuer-Chain", ""))
        return self._store(
            {
                f"tcb_info_{fmspc}.json": tcb.content,
                "qe_identity_td_qe.json": qe.content,
                f"pck_crl_{ca}.der": crl.content,
                "tcb_info_issuer_chain.pem": chain.encode(),
                "pck_crl_issuer_chain.pem": crl_chain.encode(),
            },
            now,
        )

    def intel_root_crl(self, url: str, *, now: datetime) -> ImportReport:
        """The Intel SGX Root CA CRL (its URL is in the root's CRL distribution point)."""
        return self._store({"root_ca_crl.der": self._get(url).content}, now)

    def nvidia_rim(self, rim_id: str, *, now: datetime) -> ImportReport:
        """A RIM by id from NVIDIA's RIM service (JSON with the base64 RIM in ``rim``)."""
        document = self._get(f"{NVIDIA_RIM}/v1/rim/{rim_id}").json()
        rim = base64.b64decode(str(document.get("rim", "")))
        return self._store({f"{rim_id}.xml": rim}, now)

    def nvidia_ocsp(self, request_der: bytes, *, now: datetime) -> ImportReport:
        """An OCSP response for ``request_der`` (built by the NVIDIA verifier) from NVIDIA's responder."""
        response = self._get(
            NVIDIA_OCSP,
            method="POST",
            content=request_der,
            headers={"Content-Type": "application/ocsp-request"},
        )
        return self._store({"response.ocsp": response.content}, now)
