"""A throwaway Intel-shaped PKI and synthetic TDX quotes, signed in the test, for rejection paths that no
real vector can reach (a debug TD, a CRL that lists the PCK, expired or foreign-FMSPC collateral).

The shapes follow Intel's DCAP formats (quote v4, PCK SGX extension, TCB info v3, QE identity v2) so
that the real engine (dcap-qvl) verifies them against the throwaway root.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from attestation.tdx import TdxCollateral
from tests.attestation import der_writer as der

SGX_EXTENSION = "1.2.840.113741.1.13.1"
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 6, 1, tzinfo=UTC)
FMSPC = bytes.fromhex("00906ed50000")
PCE_ID = bytes.fromhex("0000")
QE_MRSIGNER = bytes(range(32))
INTEL_QE_VENDOR = bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Intel Corporation"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        ]
    )


def _raw_signature(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    serial: int,
    extension: bytes | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(EPOCH)
        .not_valid_after(EPOCH + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if extension is not None:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier(SGX_EXTENSION), extension), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def sgx_extension(cpu_svn: bytes, pce_svn: int, fmspc: bytes = FMSPC) -> bytes:
    components = [
        der.sequence(der.oid(f"{SGX_EXTENSION}.2.{index + 1}"), der.integer(cpu_svn[index]))
        for index in range(16)
    ]
    tcb = der.sequence(
        *components,
        der.sequence(der.oid(f"{SGX_EXTENSION}.2.17"), der.integer(pce_svn)),
        der.sequence(der.oid(f"{SGX_EXTENSION}.2.18"), der.octet_string(cpu_svn)),
    )
    return der.sequence(
        der.sequence(der.oid(f"{SGX_EXTENSION}.1"), der.octet_string(bytes(range(16, 32)))),
        der.sequence(der.oid(f"{SGX_EXTENSION}.2"), tcb),
        der.sequence(der.oid(f"{SGX_EXTENSION}.3"), der.octet_string(PCE_ID)),
        der.sequence(der.oid(f"{SGX_EXTENSION}.4"), der.octet_string(fmspc)),
        der.sequence(der.oid(f"{SGX_EXTENSION}.5"), der.enumerated(0)),
    )


@dataclass(frozen=True)
class IntelPki:
    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    ca_key: ec.EllipticCurvePrivateKey
    ca: x509.Certificate
    tcb_key: ec.EllipticCurvePrivateKey
    tcb_signer: x509.Certificate
    pck_key: ec.EllipticCurvePrivateKey
    pck: x509.Certificate


CPU_SVN = bytes([3, 3, 2, 2, 4, 1, 0, 5] + [0] * 8)
PCE_SVN = 11


@cache
def intel_pki() -> IntelPki:
    """One throwaway PKI per test session (P-256 keys are cheap, but certificates are reused)."""
    root_key, ca_key, tcb_key, pck_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(4))
    root = _certificate("Intel SGX Root CA", root_key, "Intel SGX Root CA", root_key, ca=True, serial=1)
    ca = _certificate("Intel SGX PCK Platform CA", ca_key, "Intel SGX Root CA", root_key, ca=True, serial=2)
    tcb = _certificate("Intel SGX TCB Signing", tcb_key, "Intel SGX Root CA", root_key, ca=False, serial=3)
    pck = _certificate(
        "Intel SGX PCK Certificate",
        pck_key,
        "Intel SGX PCK Platform CA",
        ca_key,
        ca=False,
        serial=0x1234,
        extension=sgx_extension(CPU_SVN, PCE_SVN),
    )
    return IntelPki(root_key, root, ca_key, ca, tcb_key, tcb, pck_key, pck)


def _pem(*certificates: x509.Certificate) -> str:
    return "".join(certificate.public_bytes(Encoding.PEM).decode() for certificate in certificates)


@dataclass(frozen=True)
class QuoteSpec:
    """What to put in a synthetic quote; defaults give a clean UpToDate, non-debug TD."""

    td_attributes: int = 0x10000000
    report_data: bytes = bytes(range(64))
    mrtd: bytes = b"\x11" * 48
    tee_tcb_svn: bytes = bytes([5, 0, 3] + [0] * 13)
    qe_isv_svn: int = 8


def _body(spec: QuoteSpec) -> bytes:
    return b"".join(
        [
            spec.tee_tcb_svn,
            b"\x22" * 48,  # MRSEAM
            bytes(48),  # MRSIGNERSEAM: zero for the Intel TDX module
            bytes(8),  # SEAM_ATTRIBUTES
            spec.td_attributes.to_bytes(8, "little"),
            (0xE7).to_bytes(8, "little"),  # XFAM
            spec.mrtd,
            bytes(48 * 3),  # MRCONFIGID, MROWNER, MROWNERCONFIG
            b"\x33" * 48 * 4,  # RTMR0..3
            spec.report_data,
        ]
    )


def _qe_report(spec: QuoteSpec, report_data: bytes) -> bytes:
    report = b"".join(
        [
            bytes(16),  # CPUSVN
            bytes(4),  # MISCSELECT
            bytes(28),
            (0x11).to_bytes(16, "little"),  # ATTRIBUTES
            b"\x44" * 32,  # MRENCLAVE
            bytes(32),
            QE_MRSIGNER,
            bytes(96),
            (2).to_bytes(2, "little"),  # ISVPRODID
            spec.qe_isv_svn.to_bytes(2, "little"),
            bytes(60),
            report_data,
        ]
    )
    assert len(report) == 384
    return report


def sign_quote(pki: IntelPki, signed: bytes, qe_report_for: Callable[[bytes], bytes], auth: bytes) -> bytes:
    """The signature data of a quote: a fresh attestation key signs ``signed``, certified by the PCK.

    ``qe_report_for`` makes the QE report around its REPORT_DATA, which binds the attestation key and
    ``auth``; the PCK signs that report, and the certification data carries the PCK chain (type 5).
    """
    attestation_key = ec.generate_private_key(ec.SECP256R1())
    public = attestation_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)[1:]
    qe_report = qe_report_for(hashlib.sha256(public + auth).digest() + bytes(32))
    chain = _pem(pki.pck, pki.ca, pki.root).encode()
    certification = b"".join(
        [
            qe_report,
            _raw_signature(pki.pck_key, qe_report),
            len(auth).to_bytes(2, "little"),
            auth,
            (5).to_bytes(2, "little"),
            len(chain).to_bytes(4, "little"),
            chain,
        ]
    )
    return b"".join(
        [
            _raw_signature(attestation_key, signed),
            public,
            (6).to_bytes(2, "little"),
            len(certification).to_bytes(4, "little"),
            certification,
        ]
    )


def make_quote(spec: QuoteSpec = QuoteSpec(), *, pki: IntelPki | None = None) -> bytes:
    """A v4 TDX quote signed by a fresh attestation key certified by the throwaway PCK."""
    pki = pki or intel_pki()
    header = b"".join(
        [
            (4).to_bytes(2, "little"),
            (2).to_bytes(2, "little"),
            (0x81).to_bytes(4, "little"),
            bytes(4),
            INTEL_QE_VENDOR,
            bytes(20),
        ]
    )
    body = _body(spec)
    signature_data = sign_quote(
        pki, header + body, lambda report_data: _qe_report(spec, report_data), bytes(32)
    )
    return header + body + len(signature_data).to_bytes(4, "little") + signature_data


def _components(values: list[int]) -> list[dict[str, int]]:
    return [{"svn": value} for value in values]


@dataclass(frozen=True)
class CollateralSpec:
    """What to put in the synthetic collateral; defaults are current at ``NOW`` and match the quote."""

    issue: datetime = NOW - timedelta(days=5)
    next_update: datetime = NOW + timedelta(days=25)
    fmspc: bytes = FMSPC
    revoked_serials: tuple[int, ...] = ()
    tcb_status: str = "UpToDate"
    advisory_ids: tuple[str, ...] = ()
    extra: dict[str, object] = field(default_factory=dict)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _signed(pki: IntelPki, member: str, document: dict[str, object]) -> str:
    text = json.dumps(document, separators=(",", ":"))
    signature = _raw_signature(pki.tcb_key, text.encode()).hex()
    return f'{{"{member}":{text},"signature":"{signature}"}}'


def _crl(
    issuer: x509.Certificate, key: ec.EllipticCurvePrivateKey, spec: CollateralSpec, serials: tuple[int, ...]
) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(spec.issue)
        .next_update(spec.next_update)
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
    )
    for serial in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(spec.issue).build()
        )
    return builder.sign(key, hashes.SHA256()).public_bytes(Encoding.DER)


def make_collateral(spec: CollateralSpec = CollateralSpec(), *, pki: IntelPki | None = None) -> TdxCollateral:
    pki = pki or intel_pki()
    level = {
        "tcb": {
            "sgxtcbcomponents": _components(list(CPU_SVN)),
            "pcesvn": PCE_SVN,
            "tdxtcbcomponents": _components([5, 0, 3] + [0] * 13),
        },
        "tcbDate": _stamp(EPOCH),
        "tcbStatus": spec.tcb_status,
    }
    if spec.advisory_ids:
        level["advisoryIDs"] = list(spec.advisory_ids)
    tcb_info = {
        "id": "TDX",
        "version": 3,
        "issueDate": _stamp(spec.issue),
        "nextUpdate": _stamp(spec.next_update),
        "fmspc": spec.fmspc.hex(),
        "pceId": PCE_ID.hex(),
        "tcbType": 0,
        "tcbEvaluationDataNumber": 17,
        "tdxModule": {
            "mrsigner": "00" * 48,
            "attributes": "0000000000000000",
            "attributesMask": "FFFFFFFFFFFFFFFF",
        },
        "tcbLevels": [level],
    }
    qe_identity = {
        "id": "TD_QE",
        "version": 2,
        "issueDate": _stamp(spec.issue),
        "nextUpdate": _stamp(spec.next_update),
        "tcbEvaluationDataNumber": 17,
        "miscselect": "00000000",
        "miscselectMask": "FFFFFFFF",
        "attributes": "11000000000000000000000000000000",
        "attributesMask": "FBFFFFFFFFFFFFFF0000000000000000",
        "mrsigner": QE_MRSIGNER.hex().upper(),
        "isvprodid": 2,
        "tcbLevels": [{"tcb": {"isvsvn": 4}, "tcbDate": _stamp(EPOCH), "tcbStatus": "UpToDate"}],
    }
    issuer_chain = _pem(pki.tcb_signer, pki.root)
    return TdxCollateral.from_pcs_responses(
        root_ca=pki.root.public_bytes(Encoding.PEM),
        tcb_info_response=_signed(pki, "tcbInfo", tcb_info),
        tcb_info_issuer_chain=issuer_chain,
        qe_identity_response=_signed(pki, "enclaveIdentity", qe_identity),
        qe_identity_issuer_chain=issuer_chain,
        pck_crl=_crl(pki.ca, pki.ca_key, spec, spec.revoked_serials),
        pck_crl_issuer_chain=_pem(pki.ca, pki.root),
        root_ca_crl=_crl(pki.root, pki.root_key, spec, ()),
        allow_simulated_root=True,
    )


__all__ = ["NOW", "CollateralSpec", "QuoteSpec", "intel_pki", "make_collateral", "make_quote", "replace"]
