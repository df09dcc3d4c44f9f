"""``ccgate collateral import``: recognise vendor files by content, validate them, then store them.

Accepted inputs (a directory, searched recursively, or a .tar.gz of one, such as an export):
PEM/DER certificates (pinned roots, AMD ASK/ASVK/VCEK/VLEK, Intel TCB Signing and PCK CAs), DER/PEM
CRLs (AMD, Intel PCK and root), Intel PCS TCB info and QE identity response bodies, dcap-qvl
QuoteCollateralV3 JSON, NVIDIA RIMs (SWID XML) and DER OCSP responses. Certificates are taken in
first, so later items can be checked against them. Any item that fails validation rejects the whole
import and nothing is written; files that are not collateral are skipped and listed.
"""

import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from attestation.errors import AttestationError
from attestation.roots import PinnedRoot
from attestation.snp.certificates import common_name, load_amd_certificate, read_key_extensions
from attestation.tdx.collateral import SignedDocument
from gateway.collateral.store import META_SUFFIX, CollateralStore, ItemKind
from gateway.collateral.validation import (
    CollateralRejectedError,
    check_amd_crl,
    check_amd_issued,
    check_crl_signed,
    check_intel_signed,
    check_issued,
    check_rim,
    json_members,
    require_pinned_root,
    rim_id_for,
    rim_key,
)

_AMD_ROOTS = {
    PinnedRoot.AMD_ARK_MILAN: "milan",
    PinnedRoot.AMD_ARK_GENOA: "genoa",
    PinnedRoot.AMD_ARK_TURIN: "turin",
}
_INTEL_CHAINS = {
    "Intel SGX TCB Signing": "tcb-signing",
    "Intel SGX PCK Platform CA": "pck-platform",
    "Intel SGX PCK Processor CA": "pck-processor",
}
_INTEL_CRLS = {
    "Intel SGX PCK Platform CA": "platform",
    "Intel SGX PCK Processor CA": "processor",
    "Intel SGX Root CA": "root",
}
_PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"


@dataclass(frozen=True, slots=True)
class Staged:
    """An item validated and waiting to be written."""

    kind: ItemKind
    key: str
    data: bytes
    next_update: datetime | None
    source: str


@dataclass
class ImportPlan:
    """What an import will store, and the files it skipped."""

    staged: list[Staged] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    certificates: dict[tuple[ItemKind, str], x509.Certificate] = field(default_factory=dict)


def _files(source: Path) -> Iterator[Path]:
    for path in sorted(source.rglob("*")):
        if path.is_file() and not path.name.endswith(META_SUFFIX) and not path.name.startswith("."):
            yield path


def _certificates(data: bytes) -> list[x509.Certificate]:
    if data.lstrip()[:1] == b"{":
        return []
    if _PEM_CERTIFICATE in data:
        blocks = data.split(_PEM_CERTIFICATE)[1:]
        try:
            return [load_amd_certificate(_PEM_CERTIFICATE + block) for block in blocks]
        except AttestationError as exc:
            raise CollateralRejectedError(f"a PEM certificate does not parse: {exc}") from exc
    if data[:1] == b"\x30":
        try:
            return [load_amd_certificate(data)]
        except AttestationError:
            return []
    return []


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(Encoding.PEM)


class Importer:
    """Validates files against pinned roots and what the store (or this import) already holds."""

    def __init__(self, store: CollateralStore) -> None:
        self.store = store
        self.plan = ImportPlan()

    def certificate(self, kind: ItemKind, key: str) -> x509.Certificate | None:
        """A certificate from this import, else from the store."""
        if (kind, key) in self.plan.certificates:
            return self.plan.certificates[(kind, key)]
        data = self.store.get(kind, key)
        return None if data is None else _certificates(data)[0]

    def _stage(
        self, kind: ItemKind, key: str, data: bytes, next_update: datetime | None, source: str
    ) -> None:
        self.plan.staged.append(Staged(kind, key, data, next_update, source))

    def _stage_certificate(
        self, kind: ItemKind, key: str, certificate: x509.Certificate, source: str
    ) -> None:
        self.plan.certificates[(kind, key)] = certificate
        data = certificate.public_bytes(Encoding.DER) if kind is ItemKind.AMD_KEY else _pem(certificate)
        self._stage(kind, key, data, certificate.not_valid_after_utc, source)

    def take_certificates(self, path: Path, certificates: list[x509.Certificate]) -> None:
        """Pass 1, roots: stage every pinned self-signed root."""
        for certificate in certificates:
            if certificate.issuer == certificate.subject:
                pinned = require_pinned_root(certificate, str(path))
                self._stage_certificate(ItemKind.ROOT, pinned.value, certificate, str(path))

    def take_intermediates(self, path: Path, certificates: list[x509.Certificate]) -> bool:
        """Pass 1, intermediates and keys: validate each against its pinned root; False if none were used."""
        used = False
        for certificate in certificates:
            if certificate.issuer == certificate.subject:
                used = True
                continue
            name = common_name(certificate)
            if name in _INTEL_CHAINS:
                root = self.certificate(ItemKind.ROOT, PinnedRoot.INTEL_SGX_ROOT.value)
                if root is None:
                    raise CollateralRejectedError(f"{path}: import the Intel SGX Root CA before {name}")
                check_issued(certificate, root, name)
                self._stage_certificate(ItemKind.INTEL_CHAIN, _INTEL_CHAINS[name], certificate, str(path))
                used = True
            elif name.startswith("SEV-"):
                used = self._take_amd(path, certificate, name) or used
        return used

    def _take_amd(self, path: Path, certificate: x509.Certificate, name: str) -> bool:
        issuer = str(certificate.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value)
        if name in ("SEV-VCEK", "SEV-VLEK"):
            product = issuer.removeprefix("SEV-VLEK-").removeprefix("SEV-").lower()
            kind = ItemKind.AMD_ASVK if issuer.startswith("SEV-VLEK-") else ItemKind.AMD_ASK
            parent = self.certificate(kind, product)
            if parent is None:
                raise CollateralRejectedError(f"{path}: import the {issuer} certificate before this {name}")
            check_amd_issued(certificate, parent, name)
            key = amd_key_name(certificate)
            self._stage_certificate(ItemKind.AMD_KEY, key, certificate, str(path))
            return True
        product = name.removeprefix("SEV-VLEK-").removeprefix("SEV-").lower()
        pinned = {value: key for key, value in _AMD_ROOTS.items()}.get(product)
        if pinned is None:
            return False
        ark = self.certificate(ItemKind.ROOT, pinned.value)
        if ark is None:
            raise CollateralRejectedError(f"{path}: import the ARK of {product} before {name}")
        check_amd_issued(certificate, ark, name)
        kind = ItemKind.AMD_ASVK if name.startswith("SEV-VLEK-") else ItemKind.AMD_ASK
        self._stage_certificate(kind, product, certificate, str(path))
        return True

    def take_crl(self, path: Path, crl: x509.CertificateRevocationList, data: bytes) -> None:
        """Pass 2: an AMD CRL (signed by its ARK) or an Intel PCK / root CRL (signed by its CA)."""
        issuer = str(crl.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value)
        if issuer.startswith("ARK-"):
            product = issuer.removeprefix("ARK-").lower()
            pinned = {value: key for key, value in _AMD_ROOTS.items()}.get(product)
            ark = None if pinned is None else self.certificate(ItemKind.ROOT, pinned.value)
            if ark is None:
                raise CollateralRejectedError(f"{path}: no pinned ARK for the CRL issuer {issuer}")
            check_amd_crl(crl, ark, str(path))
            self._stage(ItemKind.AMD_CRL, product, data, crl.next_update_utc, str(path))
            return
        if issuer not in _INTEL_CRLS:
            raise CollateralRejectedError(f"{path}: a CRL from an unknown issuer {issuer}")
        key = _INTEL_CRLS[issuer]
        signer = (
            self.certificate(ItemKind.ROOT, PinnedRoot.INTEL_SGX_ROOT.value)
            if key == "root"
            else self.certificate(ItemKind.INTEL_CHAIN, f"pck-{key}")
        )
        if signer is None:
            raise CollateralRejectedError(f"{path}: import the issuer {issuer} before its CRL")
        check_crl_signed(crl, signer, str(path))
        self._stage(ItemKind.INTEL_CRL, key, data, crl.next_update_utc, str(path))

    def take_signed_json(self, path: Path, data: bytes, member: str) -> None:
        """Pass 2: a PCS TCB info or QE identity response, signed by the TCB Signing certificate."""
        what = "TCB info" if member == "tcbInfo" else "QE identity"
        try:
            document = SignedDocument.from_pcs_response(data.decode(), member, f"{path}: {what}")
        except (AttestationError, UnicodeDecodeError) as exc:
            raise CollateralRejectedError(str(exc)) from exc
        signer = self.certificate(ItemKind.INTEL_CHAIN, "tcb-signing")
        if signer is None:
            raise CollateralRejectedError(
                f"{path}: import the Intel SGX TCB Signing certificate before the {what}"
            )
        check_intel_signed(document, signer, f"{path}: {what}")
        if member == "tcbInfo":
            if document.fmspc is None:
                raise CollateralRejectedError(f"{path}: the TCB info has no FMSPC")
            self._stage(ItemKind.INTEL_TCB_INFO, document.fmspc, data, document.next_update, str(path))
        else:
            self._stage(
                ItemKind.INTEL_QE_IDENTITY,
                document.identity.lower() or "td_qe",
                data,
                document.next_update,
                str(path),
            )

    def take_qvl_json(self, path: Path, members: dict[str, object]) -> None:
        """Pass 1+2: split a dcap-qvl QuoteCollateralV3 document into store items."""
        try:
            chains = [str(members[key]).encode() for key in ("tcb_info_issuer_chain", "pck_crl_issuer_chain")]
            pieces = {
                "tcbInfo": (str(members["tcb_info"]), str(members["tcb_info_signature"])),
                "enclaveIdentity": (str(members["qe_identity"]), str(members["qe_identity_signature"])),
            }
            crls = [bytes.fromhex(str(members[key])) for key in ("root_ca_crl", "pck_crl")]
        except (KeyError, ValueError) as exc:
            raise CollateralRejectedError(f"{path}: incomplete QuoteCollateralV3 JSON: {exc}") from exc
        for chain in chains:
            certificates = _certificates(chain)
            self.take_certificates(path, certificates)
            self.take_intermediates(path, certificates)
        for crl_data in crls:
            self.take_crl(path, x509.load_der_x509_crl(crl_data), crl_data)
        for member, (text, signature) in pieces.items():
            body = f'{{"{member}":{text},"signature":"{signature}"}}'.encode()
            self.take_signed_json(path, body, member)

    def take_other(self, path: Path, data: bytes) -> None:
        """Pass 2: everything that is not a certificate."""
        members = json_members(data)
        if members is not None:
            if "tcbInfo" in members or "enclaveIdentity" in members:
                self.take_signed_json(path, data, "tcbInfo" if "tcbInfo" in members else "enclaveIdentity")
            elif "tcb_info" in members and "pck_crl" in members:
                self.take_qvl_json(path, members)
            else:
                self.plan.skipped.append((str(path), "JSON that is not PCS or dcap-qvl collateral"))
            return
        if data.lstrip()[:1] == b"<":
            check_rim(data, str(path))
            self._stage(ItemKind.NVIDIA_RIM, rim_key(rim_id_for(path), data), data, None, str(path))
            return
        crl = _crl(data)
        if crl is not None:
            self.take_crl(path, crl, data)
            return
        response = _ocsp(data)
        if response is not None:
            serial = format(response.serial_number, "x")
            self._stage(ItemKind.NVIDIA_OCSP, serial, data, response.next_update_utc, str(path))
            return
        self.plan.skipped.append((str(path), "not recognised as collateral"))


def _crl(data: bytes) -> x509.CertificateRevocationList | None:
    try:
        if b"-----BEGIN X509 CRL-----" in data:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError:
        return None


def _ocsp(data: bytes) -> ocsp.OCSPResponse | None:
    try:
        response = ocsp.load_der_ocsp_response(data)
    except ValueError:
        return None
    return response if response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL else None


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What one import stored and skipped."""

    stored: tuple[Staged, ...]
    skipped: tuple[tuple[str, str], ...]


def amd_key_name(certificate: x509.Certificate) -> str:
    """The store key of a VCEK (``vcek-<CHIP_ID[0:8]>-<bl>-<tee>-<snp>-<ucode>``) or VLEK (by fingerprint).

    Raises:
        CollateralRejectedError: the VCEK's AMD extensions do not parse.
    """
    try:
        extensions = read_key_extensions(certificate)
    except AttestationError as exc:
        raise CollateralRejectedError(str(exc)) from exc
    if extensions.hw_id is None:
        return f"vlek-{certificate.fingerprint(hashes.SHA256()).hex()[:16]}"
    return vcek_key(
        extensions.hw_id, extensions.boot_loader, extensions.tee, extensions.snp, extensions.microcode
    )


def vcek_key(chip_id: bytes, boot_loader: int, tee: int, snp: int, microcode: int) -> str:
    """The store key of the VCEK for a chip (its first 8 bytes identify it on every product) and TCB."""
    return f"vcek-{chip_id[:8].hex()}-{boot_loader}-{tee}-{snp}-{microcode}"


def _rank(certificate: x509.Certificate) -> int:
    """Roots first, then what roots issued (ASK, ASVK, Intel CAs), then the rest (VCEK, VLEK)."""
    if certificate.issuer == certificate.subject:
        return 0
    issuer = certificate.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    name = str(issuer[0].value) if issuer else ""
    return 1 if name.startswith("ARK-") or name == "Intel SGX Root CA" else 2


def _plan(store: CollateralStore, source: Path) -> ImportPlan:
    importer = Importer(store)
    files = [(path, path.read_bytes()) for path in _files(source)]
    found = [(path, certificate) for path, data in files for certificate in _certificates(data)]
    for path, certificate in sorted(found, key=lambda entry: _rank(entry[1])):
        if _rank(certificate) == 0:
            importer.take_certificates(path, [certificate])
        else:
            importer.take_intermediates(path, [certificate])
    for path, data in files:
        if not _certificates(data):
            importer.take_other(path, data)
    return importer.plan


def import_collateral(store: CollateralStore, source: Path, *, now: datetime) -> ImportReport:
    """Validate every item under ``source`` (a directory or a .tar.gz) and store them all, or none.

    Raises:
        CollateralRejectedError: an item failed validation (an unpinned root, a bad vendor signature,
            a malformed RIM...); the store is unchanged.
    """
    if source.is_dir():
        plan = _plan(store, source)
    else:
        with tempfile.TemporaryDirectory(prefix="ccgate-import-") as scratch:
            try:
                with tarfile.open(source, "r:*") as archive:
                    archive.extractall(scratch, filter="data")
            except (tarfile.TarError, OSError) as exc:
                raise CollateralRejectedError(
                    f"{source} is neither a directory nor a readable tarball: {exc}"
                ) from exc
            plan = _plan(store, Path(scratch))
    for item in plan.staged:
        store.put(
            item.kind, item.key, item.data, fetched_at=now, next_update=item.next_update, source=item.source
        )
    return ImportReport(tuple(plan.staged), tuple(plan.skipped))


def export_collateral(store: CollateralStore, target: Path) -> int:
    """Write the whole store (items and sidecars) into a .tar.gz; return the number of items.

    Raises:
        CollateralRejectedError: the store is empty.
    """
    items = list(store.items())
    if not items:
        raise CollateralRejectedError(f"the collateral store at {store.root} is empty")
    with tarfile.open(target, "w:gz") as archive:
        for item in items:
            for path in (item.path, item.path.with_name(item.path.name + META_SUFFIX)):
                archive.add(path, arcname=str(path.relative_to(store.root)))
    return len(items)
