"""Policies and reference values: validation with listed problems, immutable versions, diffs, baselines."""

import pytest

from gateway.domain import Role
from tests.gateway.world import World

STRICT = """apiVersion: ccgate/v1
kind: ReleasePolicy
metadata:
  name: strict
spec:
  rules:
    - id: no-debug
      require: {claim: cpu0.debug, equals: false}
      message: Debuggable TEEs may not receive keys.
"""


def _upload(
    world: World, document: str, role: Role = Role.SECURITY, collection: str = "policies"
) -> dict[str, object]:
    response = world.client.post(
        f"/v1/{collection}", json={"document": document}, headers=world.acme.as_(role)
    )
    assert response.status_code in {200, 201}, response.text
    return response.json()  # type: ignore[no-any-return]  # the API's JSON; the test reads the fields it checks


def test_versions_are_immutable_and_identical_uploads_are_idempotent(world: World) -> None:
    first = _upload(world, STRICT)
    assert first["version"] == 1
    again = world.client.post(
        "/v1/policies", json={"document": STRICT}, headers=world.acme.as_(Role.SECURITY)
    )
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    second = _upload(world, STRICT.replace("equals: false", "equals: true"), Role.OWNER)
    assert second["version"] == 2
    assert second["digest"] != first["digest"]
    shown = world.ok(world.client.get("/v1/policies/strict?version=1", headers=world.acme.as_(Role.OWNER)))
    assert shown["source"] == STRICT
    assert shown["digest"] == first["digest"]
    assert (
        world.ok(world.client.get("/v1/policies/strict", headers=world.acme.as_(Role.OWNER)))["version"] == 2
    )


def test_the_digest_ignores_layout_but_not_content(world: World) -> None:
    first = _upload(world, STRICT)
    reflowed = (
        "kind: ReleasePolicy\napiVersion: ccgate/v1\nmetadata: {name: strict}\n"
        "spec: {rules: [{id: no-debug, require: {claim: cpu0.debug, equals: false},"
        " message: Debuggable TEEs may not receive keys.}]}\n"
    )
    again = world.client.post(
        "/v1/policies", json={"document": reflowed}, headers=world.acme.as_(Role.SECURITY)
    )
    assert again.status_code == 200
    assert again.json()["digest"] == first["digest"]


def test_diff_shows_what_changed(world: World) -> None:
    _upload(world, STRICT)
    _upload(world, STRICT.replace("equals: false", "equals: true"))
    diff = world.ok(
        world.client.get("/v1/policies/strict/diff?from=1&to=2", headers=world.acme.as_(Role.SECURITY))
    )
    assert "-      equals: false\n+      equals: true\n" in diff["diff"]
    assert diff["diff"].startswith("--- strict v1")


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        pytest.param("[1, 2]", "the document must be a mapping", id="not a mapping"),
        pytest.param(
            STRICT.replace("ccgate/v1", "ccgate/v0"), "apiVersion must be 'ccgate/v1'", id="wrong apiVersion"
        ),
        pytest.param(STRICT.replace("ReleasePolicy", "Pod"), "kind must be one of", id="wrong kind"),
        pytest.param(
            STRICT.replace("name: strict", "name: ../etc"),
            "metadata.name must be",
            id="traversal in the name",
        ),
        pytest.param(
            STRICT.replace("equals: false", "equals: 0.5"), "cannot be compared", id="a string for a boolean"
        ),
        pytest.param("a: &x [1]\nb: *x\n", "YAML aliases are not allowed", id="a YAML alias"),
        pytest.param("key: [unclosed\n", "not valid YAML", id="not YAML"),
    ],
)
def test_an_invalid_document_is_rejected_with_its_problems_listed(
    world: World, document: str, problem: str
) -> None:
    response = world.client.post(
        "/v1/policies", json={"document": document}, headers=world.acme.as_(Role.SECURITY)
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "policy.invalid"
    assert any(problem in listed for listed in body["problems"]), body["problems"]
    assert world.ok(world.client.get("/v1/policies", headers=world.acme.as_(Role.SECURITY))) == []


def test_an_oversized_document_is_refused(world: World) -> None:
    filler = "x" * (world.services.settings.max_policy_bytes + 1)
    response = world.client.post(
        "/v1/policies", json={"document": STRICT + f"# {filler}\n"}, headers=world.acme.as_(Role.SECURITY)
    )
    assert response.status_code in {413, 422}
    assert response.json()["code"] in {"policy.invalid", "request.too_large"}


def test_reference_values_are_documents_of_their_own_kind(world: World) -> None:
    document = (
        "apiVersion: ccgate/v1\nkind: ReferenceValues\nmetadata: {name: runner-measurements, version: 1}\n"
        "spec: {type: strings, values: [abc]}\n"
    )
    written = _upload(world, document, collection="reference-values")
    assert written["kind"] == "ReferenceValues"
    refused = world.client.post(
        "/v1/reference-values", json={"document": STRICT}, headers=world.acme.as_(Role.SECURITY)
    )
    assert refused.status_code == 422


def test_security_sets_the_tenant_baseline(world: World) -> None:
    assert world.client.get("/v1/baseline", headers=world.acme.as_(Role.OWNER)).status_code == 404
    policy = _upload(world, STRICT)
    baseline = world.ok(
        world.client.put(
            "/v1/baseline", json={"name": "strict", "version": 1}, headers=world.acme.as_(Role.SECURITY)
        )
    )
    assert baseline["policy_digest"] == policy["digest"]
    assert (
        world.ok(world.client.get("/v1/baseline", headers=world.acme.as_(Role.OWNER)))["policy_version"] == 1
    )
    unknown = world.client.put(
        "/v1/baseline", json={"name": "strict", "version": 9}, headers=world.acme.as_(Role.SECURITY)
    )
    assert unknown.status_code == 404


def test_the_owner_points_an_artefact_at_a_policy_version(world: World) -> None:
    _upload(world, STRICT)
    second = _upload(world, STRICT.replace("false", "true"))
    artefact = world.create_artefact(world.acme, "ds")
    updated = world.ok(
        world.client.put(
            f"/v1/artefacts/{artefact['id']}/policy",
            json={"policy": {"name": "strict", "version": 2}},
            headers=world.acme.as_(Role.OWNER),
        )
    )
    assert updated["policy"] == {"name": "strict", "version": 2, "digest": second["digest"]}
