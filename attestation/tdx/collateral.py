"""``TdxCollateral``: Intel PCS Endorsements for one TDX quote, kept byte-exact and parsed once.

TCB info and QE identity signatures cover the exact bytes of the ``tcbInfo`` / ``enclaveIdentity``
JSON value as Intel serves it, so those values are carried as the original text, cut out of the PCS
response without re-serialising; their dates and FMSPC are parsed here once for freshness checks.
"""

import json
import warnings
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from attestation.pki import load_certificate
from attestation.tdx.errors import TdxCollateralInvalidError

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


def split_signed_json(text: str) -> dict[str, str]:
    """Return the exact source text of each top-level member of a JSON object.

    ``{"tcbInfo": {...}, "signature": "..."}`` becomes ``{"tcbInfo": "{...}", "signature": '"..."'}``.

    Raises:
        TdxCollateralInvalidError: the text is not one JSON object.
    """
    members: dict[str, str] = {}
    try:
        position = len(text) - len(text.lstrip(_WHITESPACE))
        if text[position : position + 1] != "{":
            raise TdxCollateralInvalidError("a PCS response must be a JSON object")
        position += 1
        while True:
            position += len(text[position:]) - len(text[position:].lstrip(_WHITESPACE))
            if text[position : position + 1] == "}":
                break
            key, position = _DECODER.raw_decode(text, position)
            position += len(text[position:]) - len(text[position:].lstrip(_WHITESPACE))
            if text[position : position + 1] != ":" or not isinstance(key, str):
                raise TdxCollateralInvalidError("malformed JSON object in a PCS response")
            position += 1
            position += len(text[position:]) - len(text[position:].lstrip(_WHITESPACE))
            _, end = _DECODER.raw_decode(text, position)
            members[key] = text[position:end]
            position = end + len(text[end:]) - len(text[end:].lstrip(_WHITESPACE))
            if text[position : position + 1] == ",":
                position += 1
    except json.JSONDecodeError as exc:
        raise TdxCollateralInvalidError(f"a PCS response is not valid JSON: {exc}") from exc
    return members


def _timestamp(value: object, what: str) -> datetime:
    if not isinstance(value, str):
        raise TdxCollateralInvalidError(f"{what} is missing")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TdxCollateralInvalidError(f"{what} {value!r} is not a timestamp") from exc
    if parsed.tzinfo is None:
        raise TdxCollateralInvalidError(f"{what} {value!r} has no time zone")
    return parsed


@dataclass(frozen=True, slots=True)
class SignedDocument:
    """A TCB info or QE identity: the exact signed JSON text, its signature, and its parsed dates."""

    text: str
    signature: bytes
    issue_date: datetime
    next_update: datetime
    fmspc: str | None
    pce_id: str | None
    identity: str

    @classmethod
    def parse(cls, text: str, signature: bytes, what: str) -> "SignedDocument":
        """Parse the signed text's dates and ids.

        Raises:
            TdxCollateralInvalidError: not a JSON object with issueDate / nextUpdate.
        """
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TdxCollateralInvalidError(f"{what} is not JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise TdxCollateralInvalidError(f"{what} is not a JSON object")
        fmspc, pce_id, identity = document.get("fmspc"), document.get("pceId"), document.get("id")
        return cls(
            text=text,
            signature=signature,
            issue_date=_timestamp(document.get("issueDate"), f"{what} issueDate"),
            next_update=_timestamp(document.get("nextUpdate"), f"{what} nextUpdate"),
            fmspc=fmspc.lower() if isinstance(fmspc, str) else None,
            pce_id=pce_id.lower() if isinstance(pce_id, str) else None,
            identity=identity if isinstance(identity, str) else "",
        )

    @classmethod
    def from_pcs_response(cls, response: str, member: str, what: str) -> "SignedDocument":
        """Build from a PCS response body ``{"<member>": {...}, "signature": "<hex>"}``.

        Raises:
            TdxCollateralInvalidError: the member or the signature is missing or malformed.
        """
        members = split_signed_json(response)
        if member not in members or "signature" not in members:
            raise TdxCollateralInvalidError(f"{what}: the response lacks {member!r} or 'signature'")
        signature = json.loads(members["signature"])
        try:
            raw_signature = bytes.fromhex(signature) if isinstance(signature, str) else None
        except ValueError:
            raw_signature = None
        if raw_signature is None:
            raise TdxCollateralInvalidError(f"{what}: the signature is not hex")
        return cls.parse(members[member], raw_signature, what)


@dataclass(frozen=True, slots=True)
class TdxCollateral:
    """Everything DCAP verification needs besides the quote: Intel's root, CRLs, TCB info, QE identity.

    ``allow_simulated_root``: accept a root CA that is not the pinned Intel SGX Root CA. Only tests of
    synthetic quotes set it; the claims then say ``simulated``.
    """

    root_ca: x509.Certificate
    pck_crl_issuer_chain: str
    pck_crl: x509.CertificateRevocationList
    root_ca_crl: x509.CertificateRevocationList
    tcb_info_issuer_chain: str
    tcb_info: SignedDocument
    qe_identity_issuer_chain: str
    qe_identity: SignedDocument
    allow_simulated_root: bool = False

    def __post_init__(self) -> None:
        if self.allow_simulated_root:
            warnings.warn(
                "TdxCollateral(allow_simulated_root=True): an unpinned root CA will be trusted (tests only)",
                stacklevel=3,
            )

    @classmethod
    def from_qvl_json(
        cls, text: str, *, root_ca: bytes, allow_simulated_root: bool = False
    ) -> "TdxCollateral":
        """Build from dcap-qvl's ``QuoteCollateralV3`` JSON (hex CRLs and signatures) and a root CA.

        Raises:
            TdxCollateralInvalidError: a key is missing or a value is malformed.
            EvidenceMalformedError: the root CA does not parse.
        """
        try:
            document = json.loads(text)
            chains = {
                key: str(document[key])
                for key in ("pck_crl_issuer_chain", "tcb_info_issuer_chain", "qe_identity_issuer_chain")
            }
            binary = {
                key: bytes.fromhex(document[key])
                for key in ("root_ca_crl", "pck_crl", "tcb_info_signature", "qe_identity_signature")
            }
            tcb_info, qe_identity = str(document["tcb_info"]), str(document["qe_identity"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise TdxCollateralInvalidError(f"not dcap-qvl QuoteCollateralV3 JSON: {exc}") from exc
        return cls(
            root_ca=load_certificate(root_ca),
            pck_crl_issuer_chain=chains["pck_crl_issuer_chain"],
            pck_crl=load_crl(binary["pck_crl"], "the PCK CRL"),
            root_ca_crl=load_crl(binary["root_ca_crl"], "the root CA CRL"),
            tcb_info_issuer_chain=chains["tcb_info_issuer_chain"],
            tcb_info=SignedDocument.parse(tcb_info, binary["tcb_info_signature"], "the TCB info"),
            qe_identity_issuer_chain=chains["qe_identity_issuer_chain"],
            qe_identity=SignedDocument.parse(qe_identity, binary["qe_identity_signature"], "the QE identity"),
            allow_simulated_root=allow_simulated_root,
        )

    @classmethod
    def from_pcs_responses(
        cls,
        *,
        root_ca: bytes,
        tcb_info_response: str,
        tcb_info_issuer_chain: str,
        qe_identity_response: str,
        qe_identity_issuer_chain: str,
        pck_crl: bytes,
        pck_crl_issuer_chain: str,
        root_ca_crl: bytes,
        allow_simulated_root: bool = False,
    ) -> "TdxCollateral":
        """Build from Intel PCS response bodies and issuer-chain headers, as the collateral store holds them.

        Raises:
            TdxCollateralInvalidError: a response or CRL is malformed.
            EvidenceMalformedError: the root CA does not parse.
        """
        return cls(
            root_ca=load_certificate(root_ca),
            pck_crl_issuer_chain=pck_crl_issuer_chain,
            pck_crl=load_crl(pck_crl, "the PCK CRL"),
            root_ca_crl=load_crl(root_ca_crl, "the root CA CRL"),
            tcb_info_issuer_chain=tcb_info_issuer_chain,
            tcb_info=SignedDocument.from_pcs_response(tcb_info_response, "tcbInfo", "the TCB info"),
            qe_identity_issuer_chain=qe_identity_issuer_chain,
            qe_identity=SignedDocument.from_pcs_response(
                qe_identity_response, "enclaveIdentity", "the QE identity"
            ),
            allow_simulated_root=allow_simulated_root,
        )


def load_crl(data: bytes, what: str) -> x509.CertificateRevocationList:
    """Load a DER or PEM CRL.

    Raises:
        TdxCollateralInvalidError: the bytes are not a CRL.
    """
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise TdxCollateralInvalidError(f"{what} is not a CRL: {exc}") from exc
