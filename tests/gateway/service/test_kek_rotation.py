"""KEK rotation: every stored key re-sealed to a new KEK, the old one retired and destroyed."""

import base64

from sqlalchemy import select

from enclave_runner.protocol.sealing import SealContext, seal_data_key
from gateway.domain import Role
from gateway.errors import KeyFileError
from gateway.storage.schema import ArtefactVersion
from tests.gateway.world import World, make_envelope


def test_rotation_reseals_every_key_and_retires_the_old_kek(world: World) -> None:
    first, key_a, _ = world.ready_artefact(world.acme, "a")
    second, key_b, _ = world.ready_artefact(world.globex, "b")
    old = world.ok(world.client.get("/v1/kek", headers=world.acme.as_(Role.OWNER)))["kek_id"]
    rotation = world.ok(world.client.post("/v1/kek/rotate", headers=world.admin.as_(Role.ADMIN)))
    assert rotation["old_kek_id"] == old
    assert rotation["resealed"] == 2
    new = world.ok(world.client.get("/v1/kek", headers=world.acme.as_(Role.OWNER)))["kek_id"]
    assert new == rotation["new_kek_id"] != old
    vault = world.services.vault
    with world.services.db.transaction() as session:
        rows = {row.artefact_id: row for row in session.scalars(select(ArtefactVersion))}
    for artefact, key in ((first, key_a), (second, key_b)):
        row = rows[artefact["id"]]
        assert row.kek_id == new
        assert row.sealed_key is not None
        assert vault.open_data_key(new, row.sealed_key, SealContext.deposit(artefact["id"], new)) == key
    try:
        vault.kek_public(old)
    except KeyFileError:
        pass
    else:
        raise AssertionError("the retired KEK's private half still exists")
    export = world.ok(world.client.get("/v1/ledger/export", headers=world.admin.as_(Role.ADMIN)))
    assert any(row["entry"]["kind"] == "kek.rotated" for row in export["entries"])


def test_a_deposit_sealed_to_the_retired_kek_is_refused(world: World) -> None:
    artefact = world.create_artefact(world.acme, "late")
    key, envelope = make_envelope(artefact["id"], 1000)
    world.ok(world.upload(world.acme, artefact["id"], 1, envelope))
    stale = world.ok(world.client.get("/v1/kek", headers=world.acme.as_(Role.OWNER)))
    world.ok(world.client.post("/v1/kek/rotate", headers=world.admin.as_(Role.ADMIN)))
    sealed = seal_data_key(
        key, base64.b64decode(stale["public_key"]), SealContext.deposit(artefact["id"], stale["kek_id"])
    )
    response = world.deposit(
        world.acme,
        artefact["id"],
        1,
        key,
        envelope,
        kek_id=stale["kek_id"],
        sealed_key=base64.b64encode(sealed).decode(),
    )
    assert response.status_code == 409
    assert response.json()["code"] == "deposit.kek_not_current"
    world.ok(world.deposit(world.acme, artefact["id"], 1, key, envelope))
