"""Token keys: one algorithm per key type, RFC 7638 key ids, and a JWK Set that verifies tokens offline."""

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from attestation.errors import TokenAlgorithmError, TokenMalformedError
from attestation.token import sign_attestation_token, verify_attestation_token
from attestation.token_keys import (
    TokenAlgorithm,
    TokenSigningKey,
    TokenVerificationKey,
    jwk_thumbprint,
    jwks,
    keys_from_jwks,
)
from tests.attestation import token_fixtures as f


def test_the_thumbprint_matches_rfc_8037_s_example() -> None:
    # RFC 8037 Appendix A.2/A.3: this Ed25519 public key has this RFC 7638 thumbprint.
    public = ed25519.Ed25519PublicKey.from_public_bytes(
        bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    )
    assert jwk_thumbprint(public) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


@pytest.mark.parametrize(
    ("algorithm", "kty", "crv"),
    [(TokenAlgorithm.EDDSA, "OKP", "Ed25519"), (TokenAlgorithm.ES256, "EC", "P-256")],
    ids=["EdDSA", "ES256"],
)
def test_generated_keys_publish_as_jwks_with_kid_alg_and_use(
    algorithm: TokenAlgorithm, kty: str, crv: str
) -> None:
    key = TokenSigningKey.generate(algorithm)
    (document,) = jwks([key.verification_key()])["keys"]
    assert (document["kty"], document["crv"], document["alg"], document["use"]) == (
        kty,
        crv,
        str(algorithm),
        "sig",
    )
    assert document["kid"] == key.kid == jwk_thumbprint(key.private_key.public_key())
    assert "d" not in document


def test_a_jwks_round_trip_verifies_tokens_offline() -> None:
    eddsa, es256 = TokenSigningKey.generate(), TokenSigningKey.generate(TokenAlgorithm.ES256)
    published = jwks([eddsa.verification_key(), es256.verification_key()])
    loaded = keys_from_jwks(published)
    assert loaded == (eddsa.verification_key(), es256.verification_key())
    for key in (eddsa, es256):
        token = sign_attestation_token(
            f.result(gpus=0),
            key=key,
            issuer=f.ISSUER,
            nonce=f.NONCE,
            report_data=f.REPORT_DATA,
            bound_keys=f.BOUND_KEYS,
            manifest_digest=f.MANIFEST_DIGEST,
            now=f.NOW,
        )
        assert verify_attestation_token(token, keys=loaded, issuer=f.ISSUER, now=f.NOW).gpus == ()


def test_two_keys_with_one_kid_cannot_be_published() -> None:
    key = TokenSigningKey.generate()
    twin = TokenVerificationKey(kid=key.kid, public_key=ed25519.Ed25519PrivateKey.generate().public_key())
    with pytest.raises(ValueError):
        jwks([key.verification_key(), twin])


def _rsa_jwk() -> dict[str, object]:
    document = RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 2048).public_key(), as_dict=True)
    return {**document, "kid": "rsa"}


def _p384_jwk() -> dict[str, object]:
    return {
        **ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1()).public_key(), as_dict=True),
        "kid": "p384",
    }


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ({"keys": "none"}, TokenMalformedError),
        ({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AA"}]}, TokenMalformedError),
        ({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "!!", "kid": "k"}]}, TokenMalformedError),
        (
            {"keys": [{**TokenSigningKey.generate().verification_key().to_jwk(), "alg": "ES256"}]},
            TokenMalformedError,
        ),
        ({"keys": [_rsa_jwk()]}, TokenAlgorithmError),
        ({"keys": [_p384_jwk()]}, TokenAlgorithmError),
    ],
    ids=[
        "keys is not a list",
        "a key without kid",
        "a key that does not load",
        "an alg member that is not the key's",
        "an RSA key",
        "a P-384 key",
    ],
)
def test_a_bad_jwks_is_refused(document: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        keys_from_jwks(document)
