"""A throwaway AMD-shaped PKI (RSA-2048 ARK/ASK/ASVK signing with RSA-PSS, P-384 VCEK/VLEK) and reports
signed in the test, for rejection paths that no real vector reaches.

RSA-2048 instead of AMD's RSA-4096 keeps key generation fast; the verifier checks the PSS parameters,
not the modulus size. One PKI per product per test session (``functools.cache``).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from attestation.binary_layout import Field
from attestation.snp import SnpCollateral, layout
from tests.attestation import der_writer as der

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 6, 1, tzinfo=UTC)
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
AMD = "1.3.6.1.4.1.3704.1"
CHIP_ID = bytes(range(64))
# Milan layout: bl byte 0, tee byte 1, snp byte 6, microcode byte 7.
MILAN_TCB = bytes([3, 0, 0, 0, 0, 0, 8, 115])
# Turin layout: fmc byte 0, bl byte 1, tee byte 2, snp byte 3, microcode byte 7.
TURIN_TCB = bytes([1, 3, 0, 8, 0, 0, 0, 115])


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Advanced Micro Devices"),
        ]
    )


def _rsa_certificate(
    subject: str, key: rsa.RSAPrivateKey, issuer: str, issuer_key: rsa.RSAPrivateKey, serial: int
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(EPOCH)
        .not_valid_after(EPOCH + timedelta(days=9000))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA384(), rsa_padding=PSS)
    )


@dataclass(frozen=True)
class AmdPki:
    product: str
    ark_key: rsa.RSAPrivateKey
    ark: x509.Certificate
    ask_key: rsa.RSAPrivateKey
    ask: x509.Certificate
    asvk_key: rsa.RSAPrivateKey
    asvk: x509.Certificate

    def collateral(self, crl: x509.CertificateRevocationList | None = None) -> SnpCollateral:
        return SnpCollateral(ark=self.ark, ask=self.ask, asvk=self.asvk, crl=crl, allow_simulated_root=True)

    def crl(
        self, revoked: tuple[int, ...] = (), next_update: datetime = NOW + timedelta(days=30)
    ) -> x509.CertificateRevocationList:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.ark.subject)
            .last_update(NOW - timedelta(days=1))
            .next_update(next_update)
        )
        for serial in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(EPOCH).build()
            )
        return builder.sign(self.ark_key, hashes.SHA384(), rsa_padding=PSS)


@cache
def amd_pki(product: str = "Milan") -> AmdPki:
    keys = [rsa.generate_private_key(65537, 2048) for _ in range(3)]
    ark = _rsa_certificate(f"ARK-{product}", keys[0], f"ARK-{product}", keys[0], 0x10000)
    ask = _rsa_certificate(f"SEV-{product}", keys[1], f"ARK-{product}", keys[0], 0x10001)
    asvk = _rsa_certificate(f"SEV-VLEK-{product}", keys[2], f"ARK-{product}", keys[0], 0x10101)
    return AmdPki(product, keys[0], ark, keys[1], ask, keys[2], asvk)


def _spl(oid: str, value: int) -> x509.UnrecognizedExtension:
    return x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), der.integer(value))


@dataclass(frozen=True)
class KeySpec:
    """The VCEK/VLEK to issue: product name, TCB SPLs, hwID (None: no extension) and encoding."""

    product_name: str = "Milan-B0"
    boot_loader: int = 3
    tee: int = 0
    snp: int = 8
    microcode: int = 115
    fmc: int | None = None
    hw_id: bytes | None = CHIP_ID
    hw_id_as_octet_string: bool = False
    vlek: bool = False
    not_after: datetime = EPOCH + timedelta(days=2000)


def issue_key(pki: AmdPki, spec: KeySpec = KeySpec()) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    """A P-384 VCEK/VLEK issued by the ASK/ASVK; returns its key and its DER."""
    key = ec.generate_private_key(ec.SECP384R1())
    issuer, issuer_key = (pki.asvk, pki.asvk_key) if spec.vlek else (pki.ask, pki.ask_key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name("SEV-VLEK" if spec.vlek else "SEV-VCEK"))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(EPOCH)
        .not_valid_after(spec.not_after)
        .add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier(f"{AMD}.2"), der.ia5(spec.product_name)),
            critical=False,
        )
        .add_extension(_spl(f"{AMD}.3.1", spec.boot_loader), critical=False)
        .add_extension(_spl(f"{AMD}.3.2", spec.tee), critical=False)
        .add_extension(_spl(f"{AMD}.3.3", spec.snp), critical=False)
        .add_extension(_spl(f"{AMD}.3.8", spec.microcode), critical=False)
    )
    if spec.fmc is not None:
        builder = builder.add_extension(_spl(f"{AMD}.3.9", spec.fmc), critical=False)
    if spec.hw_id is not None:
        value = der.octet_string(spec.hw_id) if spec.hw_id_as_octet_string else spec.hw_id
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier(f"{AMD}.4"), value), critical=False
        )
    certificate = builder.sign(issuer_key, hashes.SHA384(), rsa_padding=PSS)
    return key, certificate.public_bytes(Encoding.DER)


@dataclass(frozen=True)
class ReportSpec:
    version: int = 2
    policy: int = 0x30000
    vmpl: int = 0
    reported_tcb: bytes = MILAN_TCB
    chip_id: bytes = CHIP_ID
    report_data: bytes = bytes(range(100, 164))
    vlek: bool = False
    cpuid: tuple[int, int, int] = (0x19, 0x01, 0x01)
    mit_vectors: tuple[int, int] = (5, 7)


def make_report(key: ec.EllipticCurvePrivateKey, spec: ReportSpec = ReportSpec()) -> bytes:
    """An attestation report with ``spec``'s fields, signed by ``key`` the way the AMD PSP signs."""
    raw = bytearray(layout.REPORT_SIZE)

    def put(field: Field, value: bytes | int) -> None:
        data = value.to_bytes(field.size, "little") if isinstance(value, int) else value
        assert len(data) == field.size, field.name
        raw[field.offset : field.end] = data

    put(layout.VERSION, spec.version)
    put(layout.GUEST_SVN, 1)
    put(layout.POLICY, spec.policy)
    put(layout.VMPL, spec.vmpl)
    put(layout.SIGNATURE_ALGO, layout.ECDSA_P384_SHA384)
    for field in (layout.CURRENT_TCB, layout.REPORTED_TCB, layout.COMMITTED_TCB, layout.LAUNCH_TCB):
        put(field, spec.reported_tcb)
    put(layout.SIGNER_INFO, (1 if spec.vlek else 0) << 2)
    put(layout.REPORT_DATA, spec.report_data)
    put(layout.MEASUREMENT, b"\x5a" * 48)
    put(layout.CHIP_ID, spec.chip_id)
    put(layout.CURRENT_MAJOR, 1)
    put(layout.CURRENT_MINOR, 55)
    if spec.version >= 3:
        put(layout.CPUID_FAM_ID, spec.cpuid[0])
        put(layout.CPUID_MOD_ID, spec.cpuid[1])
        put(layout.CPUID_STEP, spec.cpuid[2])
    if spec.version >= 5:
        put(layout.LAUNCH_MIT_VECTOR, spec.mit_vectors[0])
        put(layout.CURRENT_MIT_VECTOR, spec.mit_vectors[1])
    r, s = decode_dss_signature(key.sign(bytes(raw[: layout.SIGNED_SIZE]), ec.ECDSA(hashes.SHA384())))
    put(layout.SIGNATURE_R, r)
    put(layout.SIGNATURE_S, s)
    return bytes(raw)
