"""The on-disk layout of the collateral store, one file per item plus a JSON sidecar of metadata.

```
<store>/roots/<pinned-root>.pem                      vendor roots (each must match a pin in attestation.roots)
<store>/amd/<product>/{ask,asvk}.pem                 AMD intermediates, checked under the pinned ARK
<store>/amd/crl/<product>-{vcek,vlek}.der            AMD CRLs (signed by the ARK)
<store>/amd/keys/<chip-or-name>.der                  VCEK / VLEK certificates
<store>/intel/tcb-info/<fmspc>.json                  PCS TCB info response body (exact bytes)
<store>/intel/qe-identity/td_qe.json                 PCS QE identity response body (exact bytes)
<store>/intel/crl/{platform,processor,root}.der      PCK CRLs and the root CA CRL
<store>/intel/chains/{tcb-signing,pck-platform,pck-processor}.pem   issuer chains (without the root)
<store>/nvidia/rims/<rim-id>.xml                     NVIDIA reference integrity manifests, by RIM id
<store>/nvidia/ocsp/<serial-hex>.der                 cached OCSP responses, by certificate serial
```

Every item ``X`` has a sidecar ``X.meta.json``: ``{"kind", "key", "sha256", "fetched_at", "next_update",
"source"}``. Writes go to a temporary file and are renamed into place, so readers never see half an item.
"""

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from gateway.errors import GatewayError

META_SUFFIX = ".meta.json"


class CollateralStoreError(GatewayError):
    """The collateral store cannot read or accept an item."""

    code = "collateral.store_error"


class ItemKind(StrEnum):
    """What a stored item is; decides its place in the layout."""

    ROOT = "root"
    AMD_ASK = "amd-ask"
    AMD_ASVK = "amd-asvk"
    AMD_CRL = "amd-crl"
    AMD_KEY = "amd-key"
    INTEL_TCB_INFO = "intel-tcb-info"
    INTEL_QE_IDENTITY = "intel-qe-identity"
    INTEL_CRL = "intel-crl"
    INTEL_CHAIN = "intel-chain"
    NVIDIA_RIM = "nvidia-rim"
    NVIDIA_OCSP = "nvidia-ocsp"


_PLACES: dict[ItemKind, str] = {
    ItemKind.ROOT: "roots/{key}.pem",
    ItemKind.AMD_ASK: "amd/{key}/ask.pem",
    ItemKind.AMD_ASVK: "amd/{key}/asvk.pem",
    ItemKind.AMD_CRL: "amd/crl/{key}.der",
    ItemKind.AMD_KEY: "amd/keys/{key}.der",
    ItemKind.INTEL_TCB_INFO: "intel/tcb-info/{key}.json",
    ItemKind.INTEL_QE_IDENTITY: "intel/qe-identity/{key}.json",
    ItemKind.INTEL_CRL: "intel/crl/{key}.der",
    ItemKind.INTEL_CHAIN: "intel/chains/{key}.pem",
    ItemKind.NVIDIA_RIM: "nvidia/rims/{key}.xml",
    ItemKind.NVIDIA_OCSP: "nvidia/ocsp/{key}.der",
}


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_stamp(value: object) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Item:
    """One stored piece of collateral and what is known about its freshness."""

    kind: ItemKind
    key: str
    path: Path
    sha256: str
    fetched_at: datetime | None
    next_update: datetime | None
    source: str

    def is_stale(self, now: datetime) -> bool:
        """Whether ``now`` is past the item's nextUpdate (items without one never go stale)."""
        return self.next_update is not None and self.next_update < now


class CollateralStore:
    """A directory holding collateral in the layout above."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, kind: ItemKind, key: str) -> Path:
        """Where an item of ``kind`` with ``key`` lives.

        Raises:
            CollateralStoreError: the key would escape its folder.
        """
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise CollateralStoreError(f"invalid collateral key {key!r}")
        return self.root / _PLACES[kind].format(key=key)

    def put(
        self,
        kind: ItemKind,
        key: str,
        data: bytes,
        *,
        fetched_at: datetime,
        next_update: datetime | None,
        source: str,
    ) -> Item:
        """Store ``data`` (already validated by the caller) with its metadata, atomically."""
        path = self.path_for(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(data).hexdigest()
        meta = {
            "kind": kind.value,
            "key": key,
            "sha256": digest,
            "fetched_at": _stamp(fetched_at),
            "next_update": _stamp(next_update),
            "source": source,
        }
        _atomic_write(path, data)
        _atomic_write(
            path.with_name(path.name + META_SUFFIX), json.dumps(meta, indent=2, sort_keys=True).encode()
        )
        return Item(kind, key, path, digest, fetched_at, next_update, source)

    def get(self, kind: ItemKind, key: str) -> bytes | None:
        """The bytes of an item, or None when it is not held.

        Raises:
            CollateralStoreError: the bytes do not match the digest in the sidecar (tampered or torn).
        """
        path = self.path_for(kind, key)
        if not path.is_file():
            return None
        data = path.read_bytes()
        item = self._item(path)
        if item is not None and item.sha256 != hashlib.sha256(data).hexdigest():
            raise CollateralStoreError(f"{path} does not match its recorded digest")
        return data

    def items(self) -> Iterator[Item]:
        """Every item held, in path order."""
        if not self.root.is_dir():
            return
        for meta in sorted(self.root.rglob(f"*{META_SUFFIX}")):
            item = self._item(meta.with_name(meta.name.removesuffix(META_SUFFIX)))
            if item is not None:
                yield item

    def _item(self, path: Path) -> Item | None:
        meta_path = path.with_name(path.name + META_SUFFIX)
        if not meta_path.is_file():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            return Item(
                kind=ItemKind(meta["kind"]),
                key=str(meta["key"]),
                path=path,
                sha256=str(meta["sha256"]),
                fetched_at=_parse_stamp(meta.get("fetched_at")),
                next_update=_parse_stamp(meta.get("next_update")),
                source=str(meta.get("source", "")),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CollateralStoreError(f"{meta_path} is not valid collateral metadata: {exc}") from exc


def _atomic_write(path: Path, data: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
