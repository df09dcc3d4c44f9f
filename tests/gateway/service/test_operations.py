"""Operations: problems everywhere, request ids, health, readiness, metrics, JWKS, OpenAPI, limits."""

import base64

import jwt
import pytest

from gateway.api.dependencies import api_routes, permission_of
from gateway.domain import Role
from gateway.keyvault import LEDGER_KEY_PURPOSE, SigningPurpose
from tests.gateway.world import World


def test_every_route_declares_exactly_one_permission(world: World) -> None:
    routes = list(api_routes(world.app.router.routes))
    assert len(routes) == len([op for item in world.app.openapi()["paths"].values() for op in item])
    assert all(permission_of(route) is not None for route in routes)


def test_the_openapi_schema_documents_a_response_and_problems_for_every_operation(world: World) -> None:
    schema = world.app.openapi()
    missing: list[str] = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            success = [code for code in responses if code.startswith("2")]
            if not success or not any("content" in responses[code] for code in success):
                missing.append(f"{method} {path}: no documented success body")
            if "500" not in responses:
                missing.append(f"{method} {path}: no documented 500 problem")
            if (
                not path.startswith(("/healthz", "/readyz", "/metrics", "/.well-known"))
                and "401" not in responses
            ):
                missing.append(f"{method} {path}: no documented 401 problem")
    assert not missing, missing


def test_an_unhandled_error_is_a_500_problem_without_internals(world: World) -> None:
    def explode() -> None:
        raise RuntimeError("secret-internal-detail /etc/ccgate/keys")

    world.app.add_api_route("/v1/explode", explode)
    response = world.client.get("/v1/explode", headers={"X-Request-ID": "req-1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "internal.error"
    assert body["request_id"] == "req-1"
    assert "secret-internal-detail" not in response.text
    assert "Traceback" not in response.text


def test_request_ids_are_echoed_or_generated(world: World) -> None:
    echoed = world.client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = world.client.get("/healthz", headers={"X-Request-ID": "bad id\twith junk"})
    assert generated.headers["x-request-id"] != "bad id\twith junk"
    assert len(generated.headers["x-request-id"]) == 24


def test_unknown_routes_and_methods_are_problems(world: World) -> None:
    missing = world.client.get("/v2/nothing")
    assert missing.status_code == 404
    assert missing.json()["code"] == "route.not_found"
    wrong = world.client.delete("/healthz")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "route.method_not_allowed"


def test_readiness_and_metrics(world: World) -> None:
    assert world.ok(world.client.get("/readyz")) == {
        "status": "ready",
        "checks": {"database": "ok", "keys": "ok"},
    }
    world.client.get("/v1/artefacts", headers=world.acme.as_(Role.OWNER))
    metrics = world.client.get("/metrics").text
    assert 'ccgate_http_requests_total{method="GET",route="/v1/artefacts",status="200"}' in metrics


def test_jwks_publishes_keys_that_verify_api_tokens(world: World) -> None:
    keys = world.ok(world.client.get("/.well-known/jwks.json"))["keys"]
    assert {key["ccgate_purpose"] for key in keys} == {*map(str, SigningPurpose), LEDGER_KEY_PURPOSE}
    token = world.acme.tokens[Role.OWNER]
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(key for key in keys if key["kid"] == kid)
    public = jwt.PyJWK({k: v for k, v in jwk.items() if k != "ccgate_purpose"}).key
    claims = jwt.decode(token, public, algorithms=["EdDSA"], audience="ccgate-api")
    assert claims["tenant"] == world.acme.tenant_id
    assert base64.urlsafe_b64decode(jwk["x"] + "==")


def test_an_oversized_json_body_is_refused(world: World) -> None:
    big = {"kind": "dataset", "name": "x", "labels": ["a" * 10] * 200_000}
    response = world.client.post("/v1/artefacts", json=big, headers=world.acme.as_(Role.OWNER))
    assert response.status_code == 413
    assert response.json()["code"] == "request.too_large"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/.well-known/jwks.json"])
def test_public_routes_answer_without_a_token(world: World, path: str) -> None:
    assert world.client.get(path).status_code == 200
