"""Artefacts through the API: the owner flow, versions, retiring, and every way an upload or deposit fails."""

import base64
import hashlib
import os
from collections.abc import Iterator

import pytest

from enclave_runner.protocol.sealing import SealContext, seal_data_key
from gateway.domain import Role
from gateway.storage.schema import ArtefactVersion
from tests.gateway.world import World, content_digest, make_envelope


def _files(world: World) -> list[str]:
    root = world.services.blobs.root
    return sorted(p.name for p in root.rglob("*") if p.is_file())


def test_owner_creates_uploads_deposits_and_downloads_exactly_what_was_uploaded(world: World) -> None:
    artefact = world.create_artefact(world.acme, "patients", labels=["pii", "health"], max_releases=3)
    assert artefact["versions"][0]["state"] == "awaiting-content"
    key, envelope = make_envelope(artefact["id"], 300_000)
    stored = world.ok(world.upload(world.acme, artefact["id"], 1, envelope))
    assert stored["state"] == "awaiting-key"
    assert stored["ciphertext_digest"] == hashlib.sha256(envelope).hexdigest()
    assert stored["plaintext_length"] == 300_000
    ready = world.ok(world.deposit(world.acme, artefact["id"], 1, key, envelope))
    assert ready["state"] == "ready"
    shown = world.ok(world.client.get(f"/v1/artefacts/{artefact['id']}", headers=world.acme.as_(Role.OWNER)))
    assert shown["current_version"] == 1
    assert shown["labels"] == ["health", "pii"]
    got = world.client.get(f"/v1/artefacts/{artefact['id']}/content", headers=world.acme.as_(Role.OWNER))
    assert got.status_code == 200
    assert got.content == envelope
    assert got.headers["content-digest"] == content_digest(envelope)


def test_the_sealed_key_is_stored_exactly_as_sealed(world: World) -> None:
    artefact, _key, _envelope = world.ready_artefact(world.acme, "exact")
    kek = world.ok(world.client.get("/v1/kek", headers=world.acme.as_(Role.OWNER)))
    with world.services.db.transaction() as session:
        row = session.get(ArtefactVersion, (artefact["id"], 1))
        assert row is not None
        assert row.sealed_key is not None
        assert row.kek_id == kek["kek_id"]
        stored = row.sealed_key
    # What the gateway keeps opens only with the KEK and only in the deposit context.
    key = world.services.vault.open_data_key(
        kek["kek_id"], stored, SealContext.deposit(artefact["id"], kek["kek_id"])
    )
    assert len(key) == 32


def test_versions_keep_older_envelopes_readable(world: World) -> None:
    artefact, _k1, first = world.ready_artefact(world.acme, "model-weights")
    world.ok(
        world.client.post(f"/v1/artefacts/{artefact['id']}/versions", headers=world.acme.as_(Role.OWNER)), 201
    )
    key2, second = make_envelope(artefact["id"], 7000)
    world.ok(world.upload(world.acme, artefact["id"], 2, second))
    world.ok(world.deposit(world.acme, artefact["id"], 2, key2, second))
    owner = world.acme.as_(Role.OWNER)
    assert (
        world.client.get(f"/v1/artefacts/{artefact['id']}/versions/1/content", headers=owner).content == first
    )
    assert world.client.get(f"/v1/artefacts/{artefact['id']}/content", headers=owner).content == second


def test_a_new_version_waits_for_the_previous_one_to_complete(world: World) -> None:
    artefact = world.create_artefact(world.acme, "half")
    refused = world.client.post(
        f"/v1/artefacts/{artefact['id']}/versions", headers=world.acme.as_(Role.OWNER)
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "artefact.version_state"


def test_a_retired_artefact_takes_no_new_version_but_stays_readable(world: World) -> None:
    artefact, _key, envelope = world.ready_artefact(world.acme, "old")
    owner = world.acme.as_(Role.OWNER)
    assert (
        world.ok(world.client.post(f"/v1/artefacts/{artefact['id']}/retire", headers=owner))["state"]
        == "retired"
    )
    refused = world.client.post(f"/v1/artefacts/{artefact['id']}/versions", headers=owner)
    assert refused.json()["code"] == "artefact.retired"
    assert world.client.get(f"/v1/artefacts/{artefact['id']}/content", headers=owner).content == envelope


# ---------------------------------------------------------------- uploads that must leave nothing behind


def _refused_upload(
    world: World, content: bytes | Iterator[bytes], headers: dict[str, str], code: str, status: int
) -> None:
    artefact = world.create_artefact(world.acme, "refused")
    before = _files(world)
    response = world.client.put(
        f"/v1/artefacts/{artefact['id']}/versions/1/content",
        content=content,
        headers={**world.acme.as_(Role.OWNER), **headers},
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert _files(world) == before, "a refused upload left a file behind"
    shown = world.ok(world.client.get(f"/v1/artefacts/{artefact['id']}", headers=world.acme.as_(Role.OWNER)))
    assert shown["versions"][0]["state"] == "awaiting-content"


def test_a_digest_mismatch_is_refused_and_leaves_nothing(world: World) -> None:
    _key, envelope = make_envelope("whatever", 1000)
    _refused_upload(
        world, envelope, {"Content-Digest": content_digest(b"other")}, "upload.digest_mismatch", 422
    )


def test_bytes_that_are_not_an_envelope_are_refused(world: World) -> None:
    _refused_upload(world, os.urandom(5000), {}, "upload.not_an_envelope", 422)


def test_an_envelope_cut_short_of_its_header_length_is_refused(world: World) -> None:
    _key, envelope = make_envelope("whatever", 100_000)
    _refused_upload(world, envelope[:-100], {}, "upload.not_an_envelope", 422)


def test_a_body_shorter_than_its_content_length_is_a_truncated_upload(world: World) -> None:
    _key, envelope = make_envelope("whatever", 100_000)

    def short() -> Iterator[bytes]:
        yield envelope[:50_000]

    headers = {"Content-Length": str(len(envelope))}
    _refused_upload(world, short(), headers, "upload.truncated", 400)


def test_a_body_longer_than_its_content_length_is_refused(world: World) -> None:
    _key, envelope = make_envelope("whatever", 10_000)

    def long() -> Iterator[bytes]:
        yield envelope
        yield b"extra bytes"

    _refused_upload(world, long(), {"Content-Length": str(len(envelope))}, "upload.too_large", 413)


def test_an_upload_over_the_configured_limit_is_refused_before_reading(world: World) -> None:
    limit = world.services.settings.max_upload_bytes

    def nothing() -> Iterator[bytes]:
        yield b"x"

    _refused_upload(world, nothing(), {"Content-Length": str(limit + 1)}, "upload.too_large", 413)


def test_an_upload_without_content_length_is_refused(world: World) -> None:
    def chunked() -> Iterator[bytes]:
        yield b"x" * 200

    _refused_upload(world, chunked(), {}, "upload.length_required", 411)


def test_a_malformed_content_digest_header_is_refused(world: World) -> None:
    _key, envelope = make_envelope("whatever", 1000)
    _refused_upload(world, envelope, {"Content-Digest": "md5=abc"}, "request.invalid", 422)


def test_a_second_upload_to_the_same_version_is_refused(world: World) -> None:
    artefact = world.create_artefact(world.acme, "twice")
    _key, envelope = make_envelope(artefact["id"], 1000)
    world.ok(world.upload(world.acme, artefact["id"], 1, envelope))
    again = world.upload(world.acme, artefact["id"], 1, envelope)
    assert again.status_code == 409
    assert again.json()["code"] == "artefact.version_state"


def test_uploading_to_another_tenants_artefact_is_not_found(world: World) -> None:
    artefact = world.create_artefact(world.acme, "mine")
    _key, envelope = make_envelope(artefact["id"], 1000)
    response = world.upload(world.globex, artefact["id"], 1, envelope)
    assert response.status_code == 404
    assert response.json()["code"] == "resource.not_found"


# ---------------------------------------------------------------- deposits


@pytest.mark.parametrize(
    ("case", "code", "status"),
    [
        pytest.param(
            "wrong-artefact-context",
            "protocol.sealed_context_mismatch",
            422,
            id="sealed for another artefact",
        ),
        pytest.param("another-key", "deposit.key_mismatch", 422, id="a key that does not open the envelope"),
        pytest.param(
            "not-a-sealed-box", "protocol.sealed_box_invalid", 422, id="garbage instead of a sealed box"
        ),
        pytest.param("digest", "deposit.digest_mismatch", 422, id="confirms another envelope digest"),
        pytest.param("kek", "deposit.kek_not_current", 409, id="names a KEK that is not current"),
    ],
)
def test_a_bad_deposit_is_refused_at_deposit_time(world: World, case: str, code: str, status: int) -> None:
    artefact = world.create_artefact(world.acme, "deposit")
    key, envelope = make_envelope(artefact["id"], 2000)
    world.ok(world.upload(world.acme, artefact["id"], 1, envelope))
    kek = world.ok(world.client.get("/v1/kek", headers=world.acme.as_(Role.OWNER)))
    public = base64.b64decode(kek["public_key"])
    overrides: dict[str, str] = {}
    if case == "wrong-artefact-context":
        sealed = seal_data_key(key, public, SealContext.deposit("art_" + "0" * 32, kek["kek_id"]))
        overrides["sealed_key"] = base64.b64encode(sealed).decode()
    elif case == "another-key":
        sealed = seal_data_key(os.urandom(32), public, SealContext.deposit(artefact["id"], kek["kek_id"]))
        overrides["sealed_key"] = base64.b64encode(sealed).decode()
    elif case == "not-a-sealed-box":
        overrides["sealed_key"] = base64.b64encode(os.urandom(120)).decode()
    elif case == "digest":
        overrides["ciphertext_digest"] = "ab" * 32
    else:
        overrides["kek_id"] = "kek_" + "0" * 32
    response = world.deposit(world.acme, artefact["id"], 1, key, envelope, **overrides)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    shown = world.ok(world.client.get(f"/v1/artefacts/{artefact['id']}", headers=world.acme.as_(Role.OWNER)))
    assert shown["versions"][0]["state"] == "awaiting-key"
    assert shown["current_version"] is None


def test_a_deposit_before_the_upload_is_refused(world: World) -> None:
    artefact = world.create_artefact(world.acme, "early")
    key, envelope = make_envelope(artefact["id"], 2000)
    response = world.deposit(world.acme, artefact["id"], 1, key, envelope)
    assert response.status_code == 409
    assert response.json()["code"] == "artefact.content_missing"


# ---------------------------------------------------------------- names and bodies


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("x'; DROP TABLE artefacts; --", id="SQL-looking name"),
        pytest.param("../../etc/passwd", id="path traversal in the name"),
        pytest.param("..", id="dot-dot"),
        pytest.param("Name With Spaces", id="spaces and capitals"),
        pytest.param("a" * 65, id="too long"),
    ],
)
def test_names_outside_the_safe_alphabet_are_refused(world: World, name: str) -> None:
    response = world.client.post(
        "/v1/artefacts", json={"kind": "dataset", "name": name}, headers=world.acme.as_(Role.OWNER)
    )
    assert response.status_code == 422
    assert response.json()["code"] == "request.invalid"
    # Parameters are bound, not spliced: the table is still there and still answers.
    assert world.ok(world.client.get("/v1/artefacts", headers=world.acme.as_(Role.OWNER))) == []


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        pytest.param(
            "/v1/artefacts/..%2F..%2Fetc%2Fpasswd/content",
            404,
            "route.not_found",
            id="encoded traversal in the id",
        ),
        pytest.param(
            "/v1/artefacts/art_1%27%20OR%20%271%27=%271", 422, "request.invalid", id="SQL in the id"
        ),
        pytest.param(
            "/v1/artefacts/art_" + "0" * 32, 404, "resource.not_found", id="a well-formed unknown id"
        ),
    ],
)
def test_ids_outside_their_format_are_refused(world: World, path: str, status: int, code: str) -> None:
    response = world.client.get(path, headers=world.acme.as_(Role.OWNER))
    assert response.status_code == status
    assert response.json()["code"] == code


def test_unknown_fields_are_refused(world: World) -> None:
    response = world.client.post(
        "/v1/artefacts",
        json={"kind": "dataset", "name": "x", "owner": "me"},
        headers=world.acme.as_(Role.OWNER),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "request.unknown_field"


def test_malformed_json_is_refused(world: World) -> None:
    response = world.client.post(
        "/v1/artefacts",
        content=b'{"kind": "dataset", "name": ',
        headers={**world.acme.as_(Role.OWNER), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "request.malformed_json"


def test_an_artefact_can_pin_a_policy_of_its_tenant_only(world: World) -> None:
    policy = (
        "apiVersion: ccgate/v1\nkind: ReleasePolicy\nmetadata: {name: strict}\n"
        "spec: {rules: [{id: r, require: {claim: cpu0.debug, equals: false}, message: m}]}\n"
    )
    world.ok(
        world.client.post("/v1/policies", json={"document": policy}, headers=world.acme.as_(Role.SECURITY)),
        201,
    )
    pinned = world.create_artefact(world.acme, "pinned", policy={"name": "strict", "version": 1})
    assert pinned["policy"]["version"] == 1
    assert len(pinned["policy"]["digest"]) == 64
    missing = world.client.post(
        "/v1/artefacts",
        json={"kind": "model", "name": "other", "policy": {"name": "strict", "version": 1}},
        headers=world.globex.as_(Role.OWNER),
    )
    assert missing.status_code == 404
