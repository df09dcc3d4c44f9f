"""``SnpCollateral``: the AMD Endorsements one SEV-SNP verification needs, already parsed."""

import warnings
from dataclasses import dataclass

from cryptography import x509

from attestation.errors import CollateralMissingError, EvidenceMalformedError
from attestation.pki import load_pem_chain
from attestation.snp.certificates import common_name


@dataclass(frozen=True, slots=True)
class SnpCollateral:
    """The ARK, the ASK (VCEK chains) and/or ASVK (VLEK chains), and optionally the ARK's CRL.

    ``allow_simulated_root``: accept an ARK that is not pinned. Only the simulated TEE and tests set
    it; the claims then say ``simulated``, which every bundled baseline denies.
    """

    ark: x509.Certificate
    ask: x509.Certificate | None = None
    asvk: x509.Certificate | None = None
    crl: x509.CertificateRevocationList | None = None
    allow_simulated_root: bool = False

    def __post_init__(self) -> None:
        if self.allow_simulated_root:
            warnings.warn(
                "SnpCollateral(allow_simulated_root=True): an unpinned ARK will be trusted (simulation only)",
                stacklevel=3,
            )

    @classmethod
    def from_pem(
        cls, chain: bytes, *, crl: bytes | None = None, allow_simulated_root: bool = False
    ) -> "SnpCollateral":
        """Build from AMD's PEM bundle (ASK, ARK and/or ASVK in any order) and an optional DER/PEM CRL.

        The roles are told apart by common name: ``ARK-*`` is the root, ``SEV-VLEK-*`` the ASVK and
        any other ``SEV-*`` the ASK, as the AMD KDS names them.

        Raises:
            EvidenceMalformedError: a certificate or the CRL does not parse.
            CollateralMissingError: the bundle holds no ARK.
        """
        ark = ask = asvk = None
        for certificate in load_pem_chain(chain):
            name = common_name(certificate)
            if name.startswith("ARK-"):
                ark = certificate
            elif name.startswith("SEV-VLEK-"):
                asvk = certificate
            elif name.startswith("SEV-"):
                ask = certificate
        if ark is None:
            raise CollateralMissingError("the AMD certificate bundle has no ARK")
        return cls(
            ark=ark,
            ask=ask,
            asvk=asvk,
            crl=None if crl is None else load_crl(crl),
            allow_simulated_root=allow_simulated_root,
        )


def load_crl(data: bytes) -> x509.CertificateRevocationList:
    """Load a CRL from DER or PEM.

    Raises:
        EvidenceMalformedError: the bytes are not a CRL.
    """
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise EvidenceMalformedError(f"not a CRL: {exc}") from exc
