"""The Verifier for SIMULATED CPU Evidence: NOT SECURITY, development and demos only.

It checks a simulated CPU report exactly as a real verifier checks an SEV-SNP report (strict parse,
certificate chain to the root the caller passes, signature, chip id against the certificate, report
data against the expected binding) so that everything downstream of it runs for real. But the root is
one the developer generated, so a pass means only "the simulated hardware signed this". It warns on
every use, runs only when handed a ``SimulatedRoots``, and its claims say ``tee=simulated``,
``simulated=true``.
"""

import hmac
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID

from attestation.claims import to_claims
from attestation.errors import (
    CertificateChainError,
    HardwareIdentityMismatchError,
    ReportDataMismatchError,
    SignatureInvalidError,
    SimulatedEvidenceRefusedError,
)
from attestation.evidence import TeeType
from attestation.pki import load_pem_chain, verify_chain
from attestation.result import (
    BindingStatus,
    CertChainClaims,
    CpuClaims,
    RevocationStatus,
    SimulatedCpuClaims,
    TcbStatus,
)
from attestation.simulated.cpu_report import REPORT_DATA_SIZE, SimulatedCpuReport, parse_simulated_cpu_report
from attestation.simulated.roots import SimulatedRoots, warn_simulated


def verify_simulated_cpu_report(
    report: bytes,
    *,
    certificates: bytes,
    roots: SimulatedRoots,
    expected_report_data: bytes,
    now: datetime,
) -> CpuClaims:
    """Verify a simulated CPU report and return its claims (``tee=simulated``, ``simulated=True``).

    ``certificates`` is the PEM chain the Attester sent (leaf first; a trailing self-issued root is
    ignored: only ``roots.cpu_root`` is trusted). ``now`` is an aware datetime. Warns with
    ``SimulatedTeeWarning`` on every call.

    Raises:
        SimulatedEvidenceRefusedError: ``roots`` is not a ``SimulatedRoots``.
        EvidenceMalformedError: the report or the certificates do not parse.
        UnsupportedEvidenceError: an unknown report version.
        CertificateChainError: the chain does not lead to the simulated CPU root, or its key is not P-384.
        CertificateExpiredError: a certificate is not valid at ``now``.
        SignatureInvalidError: the report signature does not verify under the chip's certificate.
        HardwareIdentityMismatchError: the report's chip id is not the certificate's.
        ReportDataMismatchError: the report data is not ``expected_report_data``.
    """
    warn_simulated()
    # The type is the switch: nothing but an explicitly built SimulatedRoots enables simulation.
    if not isinstance(roots, SimulatedRoots):
        raise SimulatedEvidenceRefusedError(
            "simulated Evidence is accepted only with explicit SimulatedRoots"
        )
    parsed = parse_simulated_cpu_report(report)
    chain = list(load_pem_chain(certificates))
    if len(chain) > 1 and chain[-1].subject == chain[-1].issuer:
        chain.pop()
    chain_expires = verify_chain(chain, roots.cpu_root, now, "simulated CPU")
    _verify_signature(parsed, chain[0])
    chip_id = parsed.chip_id.hex()
    certified = chain[0].subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if len(certified) != 1 or str(certified[0].value).lower() != chip_id:
        raise HardwareIdentityMismatchError("the report's chip id is not the one its certificate names")
    claims = CpuClaims(
        tee=TeeType.SIMULATED,
        simulated=True,
        debug=parsed.debug,
        measurement=parsed.measurement.hex(),
        report_data=parsed.report_data.hex(),
        report_data_binding=BindingStatus.VERIFIED,
        hardware_id=chip_id,
        # A simulated platform has no TCB to be out of date; policies deny `simulated` instead.
        tcb_status=TcbStatus.UP_TO_DATE,
        cert_chain=CertChainClaims(
            status="valid", ocsp_status=RevocationStatus.NOT_CHECKED, expiration_date=chain_expires
        ),
        sim=SimulatedCpuClaims(measurement=parsed.measurement.hex(), chip_id=chip_id),
    )
    if len(expected_report_data) != REPORT_DATA_SIZE or not hmac.compare_digest(
        parsed.report_data, expected_report_data
    ):
        # Everything but the binding was established; the claims say so for the ledger and the CLI.
        established = {
            name: value for name, value in _claims_document(claims).items() if name != "report_data_binding"
        }
        raise ReportDataMismatchError(
            "the simulated CPU report does not carry the expected report data", claims=established
        )
    return claims


def _claims_document(claims: CpuClaims) -> dict[str, object]:
    document = to_claims(claims)
    if not isinstance(document, dict):  # pragma: no cover - a dataclass always becomes a dict.
        raise TypeError("claims did not become a JSON object")
    return document


def _verify_signature(parsed: SimulatedCpuReport, leaf: x509.Certificate) -> None:
    public_key = leaf.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP384R1
    ):
        raise CertificateChainError("a simulated CPU certificate must hold an ECDSA P-384 key")
    half = len(parsed.signature) // 2
    signature = encode_dss_signature(
        int.from_bytes(parsed.signature[:half], "big"), int.from_bytes(parsed.signature[half:], "big")
    )
    try:
        public_key.verify(signature, parsed.signed_bytes, ec.ECDSA(hashes.SHA384()))
    except InvalidSignature as exc:
        raise SignatureInvalidError("the simulated CPU report signature does not verify") from exc
