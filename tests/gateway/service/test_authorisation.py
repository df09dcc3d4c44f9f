"""Every route of the OpenAPI schema × every role, bad tokens on every protected route, and tenant isolation.

``INTENDED`` is written here by hand, independently of the permission table in ``gateway.auth``: it is
what the product promises. A route that appears in the schema without a row here fails the test, so a
new route cannot ship without someone deciding who may call it.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.domain import Role
from gateway.keyvault import SigningPurpose
from tests.gateway.world import World, bearer

# One letter per role keeps the table below readable as a table.
A, O, P, S, N, X = Role.ADMIN, Role.OWNER, Role.PROVIDER, Role.SECURITY, Role.NODE, Role.SESSION  # noqa: E741
EVERYONE = frozenset(Role)
PUBLIC = "public"

INTENDED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/.well-known/jwks.json"): PUBLIC,
    ("GET", "/v1/whoami"): EVERYONE,
    ("POST", "/v1/tenants"): frozenset({A}),
    ("GET", "/v1/tenants"): frozenset({A}),
    ("GET", "/v1/tenants/{tenant_id}"): frozenset({A}),
    ("POST", "/v1/tenants/{tenant_id}/principals"): frozenset({A}),
    ("GET", "/v1/tenants/{tenant_id}/principals"): frozenset({A}),
    ("POST", "/v1/principals/{principal_id}/tokens"): frozenset({A}),
    ("DELETE", "/v1/tokens/{jti}"): frozenset({A}),
    ("POST", "/v1/providers"): frozenset({A}),
    ("GET", "/v1/providers"): frozenset({A}),
    ("PUT", "/v1/providers/{tenant_id}/kyc"): frozenset({A}),
    ("GET", "/v1/kek"): frozenset({O}),
    ("POST", "/v1/kek/rotate"): frozenset({A}),
    ("POST", "/v1/artefacts"): frozenset({O}),
    ("GET", "/v1/artefacts"): frozenset({O, S}),
    ("GET", "/v1/artefacts/{artefact_id}"): frozenset({O, S}),
    ("POST", "/v1/artefacts/{artefact_id}/versions"): frozenset({O}),
    ("PUT", "/v1/artefacts/{artefact_id}/versions/{version}/content"): frozenset({O}),
    ("PUT", "/v1/artefacts/{artefact_id}/versions/{version}/key"): frozenset({O}),
    ("GET", "/v1/artefacts/{artefact_id}/content"): frozenset({O}),
    ("GET", "/v1/artefacts/{artefact_id}/versions/{version}/content"): frozenset({O}),
    ("PUT", "/v1/artefacts/{artefact_id}/policy"): frozenset({O}),
    ("POST", "/v1/artefacts/{artefact_id}/retire"): frozenset({O}),
    ("POST", "/v1/nodes"): frozenset({P}),
    ("GET", "/v1/nodes"): frozenset({P, S}),
    ("GET", "/v1/nodes/{node_id}"): frozenset({P, S}),
    ("POST", "/v1/nodes/{node_id}/enrollment-challenge"): frozenset({P, N}),
    ("POST", "/v1/nodes/{node_id}/enrollment"): frozenset({P, N}),
    ("PUT", "/v1/nodes/{node_id}/state"): frozenset({S}),
    ("POST", "/v1/policies"): frozenset({S, O}),
    ("GET", "/v1/policies"): frozenset({S, O}),
    ("GET", "/v1/policies/{name}"): frozenset({S, O}),
    ("GET", "/v1/policies/{name}/diff"): frozenset({S, O}),
    ("POST", "/v1/reference-values"): frozenset({S}),
    ("GET", "/v1/reference-values"): frozenset({S, O}),
    ("GET", "/v1/reference-values/{name}"): frozenset({S, O}),
    ("GET", "/v1/reference-values/{name}/diff"): frozenset({S, O}),
    ("PUT", "/v1/baseline"): frozenset({S}),
    ("GET", "/v1/baseline"): frozenset({S, O}),
    ("GET", "/v1/ledger/tree-head"): frozenset({O, S, A}),
    ("POST", "/v1/ledger/tree-heads"): frozenset({O, S, A}),
    ("GET", "/v1/ledger/entries/{index}/inclusion"): frozenset({O, S, A}),
    ("GET", "/v1/ledger/consistency"): frozenset({O, S, A}),
    ("GET", "/v1/ledger/export"): frozenset({O, S, A}),
    ("POST", "/v1/jobs"): frozenset({O}),
    ("GET", "/v1/jobs"): frozenset({O, S}),
    ("GET", "/v1/jobs/{job_id}"): frozenset({O, S}),
    ("POST", "/v1/jobs/{job_id}/cancel"): frozenset({O}),
    ("GET", "/v1/jobs/{job_id}/result"): frozenset({O}),
    ("GET", "/v1/jobs/{job_id}/result-key"): frozenset({O}),
    ("GET", "/v1/jobs/{job_id}/proof"): frozenset({O}),
    ("GET", "/v1/artefacts/{artefact_id}/releases"): frozenset({O, S}),
    ("GET", "/v1/runner/jobs"): frozenset({N}),
    ("POST", "/v1/jobs/{job_id}/claim"): frozenset({N}),
    ("POST", "/v1/jobs/{job_id}/challenge"): frozenset({N}),
    ("POST", "/v1/jobs/{job_id}/attestation"): frozenset({N}),
    ("GET", "/v1/jobs/{job_id}/inputs/{artefact_id}"): frozenset({X}),
    ("PUT", "/v1/jobs/{job_id}/result"): frozenset({X}),
    ("POST", "/v1/jobs/{job_id}/failure"): frozenset({X}),
}

DOCUMENTS = {
    "ReleasePolicy": (
        "apiVersion: ccgate/v1\nkind: ReleasePolicy\nmetadata: {name: matrix}\n"
        "spec: {rules: [{id: r, require: {claim: cpu0.debug, equals: false}, message: m}]}\n"
    ),
    "ReferenceValues": (
        "apiVersion: ccgate/v1\nkind: ReferenceValues\nmetadata: {name: matrix, version: 1}\n"
        "spec: {type: strings, values: [a]}\n"
    ),
}


def _operations(world: World) -> list[tuple[str, str]]:
    schema = world.app.openapi()
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method != "parameters"
    )


class Fixtures:
    """Real objects of the acme tenant (and one cloud node) to put in every path."""

    def __init__(self, world: World) -> None:
        artefact, _key, _envelope = world.ready_artefact(world.acme, "matrix")
        for kind, collection, role in (
            ("ReleasePolicy", "policies", S),
            ("ReferenceValues", "reference-values", S),
        ):
            document = DOCUMENTS[kind]
            world.ok(
                world.client.post(
                    f"/v1/{collection}", json={"document": document}, headers=world.acme.as_(role)
                ),
                201,
            )
        registered = world.register_node("matrix-node", "c0ffee01", ["gpu-m-0"])
        world.ok(world.enroll(registered))
        job = world.submit_job(world.acme, [artefact["id"]])
        with world.services.db.transaction() as session:
            self.session_token = world.services.tokens.issue(
                session, "ses_" + "0" * 32, world.cloud.tenant_id, [X], timedelta(hours=1)
            ).token
        spare = world.client.post(
            f"/v1/tenants/{world.acme.tenant_id}/principals",
            json={"name": "spare", "roles": ["owner"]},
            headers=world.admin.as_(A),
        ).json()
        self.values = {
            "artefact_id": artefact["id"],
            "version": "1",
            "tenant_id": world.acme.tenant_id,
            "principal_id": spare["principal"]["id"],
            "jti": spare["token"]["jti"],
            "node_id": registered["node"]["id"],
            "name": "matrix",
            "index": "0",
            "job_id": job["id"],
        }
        self.node_token = registered["credential"]["token"]
        self.query = {
            "/v1/policies/{name}/diff": "?from=1&to=1",
            "/v1/reference-values/{name}/diff": "?from=1&to=1",
            "/v1/ledger/consistency": "?old=1",
        }

    def url(self, path: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: self.values[m.group(1)], path) + self.query.get(path, "")


def _headers_for(world: World, fixtures: Fixtures) -> dict[Role, dict[str, str]]:
    return {
        A: world.admin.as_(A),
        O: world.acme.as_(O),
        S: world.acme.as_(S),
        P: world.cloud.as_(P),
        N: bearer(fixtures.node_token),
        X: bearer(fixtures.session_token),
    }


def test_every_route_has_an_intended_access_rule(world: World) -> None:
    assert set(_operations(world)) == set(INTENDED), "a route was added or removed: decide who may call it"


def test_every_route_admits_exactly_its_intended_roles(world: World) -> None:
    fixtures = Fixtures(world)
    headers = _headers_for(world, fixtures)
    # Routes whose success changes what later calls see run last.
    order = sorted(
        _operations(world), key=lambda op: op[1].endswith(("/retire", "/rotate", "/state", "/tokens/{jti}"))
    )
    wrong: list[str] = []
    for method, path in order:
        intended = INTENDED[(method, path)]
        for role, header in headers.items():
            response = world.client.request(method, fixtures.url(path), headers=header)
            allowed = intended == PUBLIC or role in intended
            if allowed and response.status_code in {401, 403}:
                wrong.append(
                    f"{role} refused on {method} {path}: {response.status_code} {response.text[:120]}"
                )
            if not allowed and (response.status_code != 403 or response.json()["code"] != "auth.forbidden"):
                wrong.append(f"{role} not refused on {method} {path}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


def _claims(world: World, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": world.services.settings.token_issuer,
        "aud": "ccgate-api",
        "sub": "prn_" + "1" * 32,
        "tenant": world.acme.tenant_id,
        "roles": ["admin", "owner", "provider", "security"],
        "jti": "tok_" + "1" * 32,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
    }
    claims.update(changes)
    return claims


def _bad_tokens(world: World) -> dict[str, tuple[str, str]]:
    real_kid = next(iter(world.services.vault.verification_keys(SigningPurpose.API_TOKEN)))
    with world.services.db.transaction() as session:
        expired = world.services.tokens.issue(
            session, "prn_" + "2" * 32, world.acme.tenant_id, [O, S], timedelta(seconds=-5)
        )
        revoked = world.services.tokens.issue(
            session, "prn_" + "3" * 32, world.acme.tenant_id, [O, S], timedelta(hours=1)
        )
        world.services.tokens.revoke(session, revoked.jti)
    forged = jwt.encode(
        _claims(world), Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": real_kid}
    )
    # alg "none" takes no key: that is the attack under test.
    unsigned = jwt.encode(_claims(world), None, algorithm="none")  # type: ignore[arg-type]  # alg none takes no key: it is the attack under test
    hmac_with_public = jwt.encode(
        _claims(world),
        "an HMAC secret that is not the gateway key",
        algorithm="HS256",
        headers={"kid": real_kid},
    )
    return {
        "no token": ("", "auth.token_missing"),
        "expired": (expired.token, "auth.token_expired"),
        "revoked": (revoked.token, "auth.token_revoked"),
        "signed by another key": (forged, "auth.token_invalid"),
        "alg none": (unsigned, "auth.token_invalid"),
        "HS256": (hmac_with_public, "auth.token_invalid"),
        "not a JWT": ("definitely-not-a-jwt", "auth.token_invalid"),
        "valid signature but never issued": (
            world.services.vault.sign_jwt(SigningPurpose.API_TOKEN, _claims(world)),
            "auth.token_invalid",
        ),
    }


def test_bad_tokens_are_refused_on_every_protected_route(world: World) -> None:
    fixtures = Fixtures(world)
    wrong: list[str] = []
    for label, (token, code) in _bad_tokens(world).items():
        for method, path in _operations(world):
            if INTENDED[(method, path)] == PUBLIC:
                continue
            headers = bearer(token) if token else {}
            response = world.client.request(method, fixtures.url(path), headers=headers)
            if response.status_code != 401 or response.json().get("code") != code:
                wrong.append(f"{label} on {method} {path}: {response.status_code} {response.text[:100]}")
            elif "bearer" not in response.headers.get("www-authenticate", "").lower():
                wrong.append(f"{label} on {method} {path}: no WWW-Authenticate")
    assert not wrong, "\n".join(wrong[:20])


def test_a_revoked_token_stops_working_at_once(world: World) -> None:
    made = world.ok(
        world.client.post(
            f"/v1/tenants/{world.acme.tenant_id}/principals",
            json={"name": "leaver", "roles": ["owner"]},
            headers=world.admin.as_(A),
        ),
        201,
    )
    token = made["token"]["token"]
    assert world.client.get("/v1/artefacts", headers=bearer(token)).status_code == 200
    world.ok(world.client.delete(f"/v1/tokens/{made['token']['jti']}", headers=world.admin.as_(A)))
    refused = world.client.get("/v1/artefacts", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json()["code"] == "auth.token_revoked"


# ---------------------------------------------------------------- tenant isolation

ISOLATED = [
    ("GET", "/v1/artefacts/{artefact_id}", O),
    ("GET", "/v1/artefacts/{artefact_id}", S),
    ("POST", "/v1/artefacts/{artefact_id}/versions", O),
    ("PUT", "/v1/artefacts/{artefact_id}/versions/{version}/key", O),
    ("GET", "/v1/artefacts/{artefact_id}/content", O),
    ("GET", "/v1/artefacts/{artefact_id}/versions/{version}/content", O),
    ("POST", "/v1/artefacts/{artefact_id}/retire", O),
    ("GET", "/v1/policies/{name}", S),
    ("GET", "/v1/policies/{name}", O),
    ("GET", "/v1/policies/{name}/diff", S),
    ("GET", "/v1/reference-values/{name}", S),
    ("GET", "/v1/reference-values/{name}/diff", O),
    ("GET", "/v1/jobs/{job_id}", O),
    ("GET", "/v1/jobs/{job_id}", S),
    ("POST", "/v1/jobs/{job_id}/cancel", O),
    ("GET", "/v1/jobs/{job_id}/result", O),
    ("GET", "/v1/jobs/{job_id}/proof", O),
    ("GET", "/v1/artefacts/{artefact_id}/releases", S),
]


@pytest.mark.parametrize(
    ("method", "path", "role"), ISOLATED, ids=[f"{m} {p} as {r}" for m, p, r in ISOLATED]
)
def test_another_tenants_object_is_not_found_never_forbidden(
    world: World, method: str, path: str, role: Role
) -> None:
    fixtures = Fixtures(world)
    body: dict[str, Any] | None = None
    if path.endswith("/key"):
        body = {"kek_id": "kek_" + "0" * 32, "sealed_key": "AAAA", "ciphertext_digest": "00" * 32}
    response = world.client.request(method, fixtures.url(path), headers=world.globex.as_(role), json=body)
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "resource.not_found"
    # And the owner still sees it: the 404 is about who asks, not about the object.
    assert (
        world.client.get(fixtures.url("/v1/artefacts/{artefact_id}"), headers=world.acme.as_(O)).status_code
        == 200
    )


def test_nodes_of_another_provider_are_not_found(world: World) -> None:
    fixtures = Fixtures(world)
    for method, path, body in (
        ("GET", "/v1/nodes/{node_id}", None),
        ("PUT", "/v1/nodes/{node_id}/state", {"state": "revoked", "reason": "not mine"}),
    ):
        response = world.client.request(method, fixtures.url(path), headers=world.acme.as_(S), json=body)
        assert response.status_code == 404, response.text
    node = world.ok(world.client.get(fixtures.url("/v1/nodes/{node_id}"), headers=world.cloud.as_(S)))
    assert node["state"] == "active", "the other provider's attempt changed nothing"


def test_lists_show_only_the_callers_tenant(world: World) -> None:
    world.ready_artefact(world.acme, "acme-only")
    assert world.ok(world.client.get("/v1/artefacts", headers=world.globex.as_(O))) == []
    assert world.ok(world.client.get("/v1/policies", headers=world.globex.as_(S))) == []
    assert world.ok(world.client.get("/v1/nodes", headers=world.acme.as_(S))) == []
