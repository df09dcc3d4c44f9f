"""Build the typed collateral the verifiers take from what the store holds.

NVIDIA: the NVIDIA verifier defines its own collateral type; the store exposes raw getters for it
(``rim`` by RIM id, ``ocsp_response`` by certificate serial) so that its loader can be written there.
"""

from collections.abc import Iterator, Mapping

from cryptography.hazmat.primitives.serialization import Encoding

from attestation.errors import CollateralMissingError
from attestation.roots import PinnedRoot
from attestation.snp import SnpCollateral, SnpProduct, load_crl
from attestation.snp.certificates import load_amd_certificate
from attestation.tdx import TdxCollateral
from gateway.collateral.store import CollateralStore, ItemKind

_ARKS = {
    SnpProduct.MILAN: PinnedRoot.AMD_ARK_MILAN,
    SnpProduct.GENOA: PinnedRoot.AMD_ARK_GENOA,
    SnpProduct.TURIN: PinnedRoot.AMD_ARK_TURIN,
}


def _need(store: CollateralStore, kind: ItemKind, key: str) -> bytes:
    data = store.get(kind, key)
    if data is None:
        raise CollateralMissingError(f"the collateral store has no {kind.value} {key!r}")
    return data


def load_snp_collateral(store: CollateralStore, product: SnpProduct) -> SnpCollateral:
    """The ARK, ASK, ASVK (when held) and CRL (when held) of ``product``.

    Raises:
        CollateralMissingError: the store has no ARK or no ASK/ASVK at all for the product.
    """
    ark = load_amd_certificate(_need(store, ItemKind.ROOT, _ARKS[product].value))
    key = product.value.lower()
    ask, asvk = store.get(ItemKind.AMD_ASK, key), store.get(ItemKind.AMD_ASVK, key)
    if ask is None and asvk is None:
        raise CollateralMissingError(f"the collateral store has no ASK or ASVK for {product}")
    crl = store.get(ItemKind.AMD_CRL, key)
    return SnpCollateral(
        ark=ark,
        ask=None if ask is None else load_amd_certificate(ask),
        asvk=None if asvk is None else load_amd_certificate(asvk),
        crl=None if crl is None else load_crl(crl),
    )


def load_vcek(store: CollateralStore, key: str) -> bytes:
    """A stored VCEK/VLEK (DER) by its store key (see ``importer.vcek_key``).

    Raises:
        CollateralMissingError: not held.
    """
    return _need(store, ItemKind.AMD_KEY, key)


def load_tdx_collateral(store: CollateralStore, fmspc: str, ca: str = "platform") -> TdxCollateral:
    """Intel collateral for ``fmspc`` whose PCK was issued by the ``ca`` ("platform" or "processor") CA.

    Raises:
        CollateralMissingError: the TCB info for the FMSPC, the QE identity, a CRL or a chain is not held.
    """
    root = _need(store, ItemKind.ROOT, PinnedRoot.INTEL_SGX_ROOT.value)
    signing = _need(store, ItemKind.INTEL_CHAIN, "tcb-signing").decode()
    pck_ca = _need(store, ItemKind.INTEL_CHAIN, f"pck-{ca}").decode()
    root_pem = root.decode() if root.lstrip().startswith(b"-----") else ""
    if not root_pem:
        root_pem = load_amd_certificate(root).public_bytes(Encoding.PEM).decode()
    return TdxCollateral.from_pcs_responses(
        root_ca=root,
        tcb_info_response=_need(store, ItemKind.INTEL_TCB_INFO, fmspc.lower()).decode(),
        tcb_info_issuer_chain=signing + root_pem,
        qe_identity_response=_need(store, ItemKind.INTEL_QE_IDENTITY, "td_qe").decode(),
        qe_identity_issuer_chain=signing + root_pem,
        pck_crl=_need(store, ItemKind.INTEL_CRL, ca),
        pck_crl_issuer_chain=pck_ca + root_pem,
        root_ca_crl=_need(store, ItemKind.INTEL_CRL, "root"),
    )


def rim_candidates(store: CollateralStore, rim_id: str) -> tuple[bytes, ...]:
    """Every RIM document the store holds for ``rim_id`` (several genuine RIMs may share an id).

    Raises:
        CollateralStoreError: a stored RIM does not match its recorded digest.
    """
    folder = store.path_for(ItemKind.NVIDIA_RIM, "probe").parent
    if not folder.is_dir():
        return ()
    found = []
    for path in sorted(folder.glob(f"{rim_id}@*.xml")):
        data = store.get(ItemKind.NVIDIA_RIM, path.stem)
        if data is not None:
            found.append(data)
    return tuple(found)


class StoreRims(Mapping[str, tuple[bytes, ...]]):
    """RIMs by id, read from the store on demand (the NVIDIA verifier asks only for the ids it needs).

    One instance serves one verification: the eight GPUs of a node ask for the same two ids, which are
    read once and kept for the instance's life (a later verification gets a new instance, and so sees
    what was imported meanwhile).
    """

    def __init__(self, store: CollateralStore) -> None:
        self._store = store
        self._read: dict[str, tuple[bytes, ...]] = {}

    def __getitem__(self, rim_id: str) -> tuple[bytes, ...]:
        candidates = self._read.get(rim_id)
        if candidates is None:
            candidates = rim_candidates(self._store, rim_id)
            self._read[rim_id] = candidates
        if not candidates:
            raise KeyError(rim_id)
        return candidates

    def __iter__(self) -> Iterator[str]:
        folder = self._store.path_for(ItemKind.NVIDIA_RIM, "probe").parent
        names = (
            sorted({path.stem.split("@", 1)[0] for path in folder.glob("*@*.xml")}) if folder.is_dir() else []
        )
        return iter(names)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def ocsp_response(store: CollateralStore, serial: int) -> bytes | None:
    """The cached DER OCSP response for the certificate with ``serial``, or None."""
    return store.get(ItemKind.NVIDIA_OCSP, format(serial, "x"))


class StoreOcsp(Mapping[int, bytes]):
    """OCSP responses by certificate serial, read from the store on demand.

    The store keeps one response per certificate, so one per GPU of a fleet: the Verifier asks only
    for the serials of the chains it verifies, and a release reads a handful of files, not them all.
    """

    def __init__(self, store: CollateralStore) -> None:
        self._store = store

    def __getitem__(self, serial: int) -> bytes:
        response = ocsp_response(self._store, serial)
        if response is None:
            raise KeyError(serial)
        return response

    def __iter__(self) -> Iterator[int]:
        return (int(item.key, 16) for item in self._store.items() if item.kind is ItemKind.NVIDIA_OCSP)

    def __len__(self) -> int:
        return sum(1 for _ in self)
