"""The ledger through the API: entries for every change, proofs, redacted exports, failing closed."""

import json

import pytest
from sqlalchemy import delete, func, select, update

from gateway.domain import Role
from gateway.ledger.audit import audit_export
from gateway.ledger.merkle import verify_consistency, verify_inclusion
from gateway.ledger.records import EventKind, TreeHead, entry_leaf_hash
from gateway.storage.schema import Artefact, LedgerEntry, LedgerState
from tests.gateway.world import World


def _kinds(world: World) -> list[str]:
    export = world.ok(world.client.get("/v1/ledger/export", headers=world.admin.as_(Role.ADMIN)))
    return [row["entry"]["kind"] for row in export["entries"]]


def test_each_state_change_is_recorded(world: World) -> None:
    artefact, _key, _envelope = world.ready_artefact(world.acme, "recorded")
    world.ok(world.client.post(f"/v1/artefacts/{artefact['id']}/retire", headers=world.acme.as_(Role.OWNER)))
    kinds = _kinds(world)
    for kind in (
        "kek.created",
        "tenant.created",
        "principal.created",
        "token.issued",
        "provider.registered",
        "provider.kyc_changed",
        "artefact.created",
        "artefact.uploaded",
        "key.deposited",
        "artefact.retired",
    ):
        assert kind in kinds, kind


def test_entries_hold_no_key_material(world: World) -> None:
    _artefact, key, _envelope = world.ready_artefact(world.acme, "secretless")
    export = world.client.get("/v1/ledger/export", headers=world.admin.as_(Role.ADMIN)).text
    assert key.hex() not in export
    assert world.acme.tokens[Role.OWNER] not in export


def test_an_inclusion_proof_verifies_against_the_signed_tree_head(world: World) -> None:
    world.ready_artefact(world.acme, "proved")
    head = world.ok(world.client.get("/v1/ledger/tree-head", headers=world.acme.as_(Role.OWNER)))
    for index in (0, 3, head["size"] - 1):
        proof = world.ok(
            world.client.get(
                f"/v1/ledger/entries/{index}/inclusion?size={head['size']}",
                headers=world.acme.as_(Role.OWNER),
            )
        )
        signed = TreeHead.from_json(proof["tree_head"])
        assert signed.size == head["size"]
        assert signed.root.hex() == head["root"]
        verify_inclusion(
            bytes.fromhex(proof["leaf_hash"]),
            index,
            signed.size,
            [bytes.fromhex(p) for p in proof["path"]],
            signed.root,
        )


def test_a_consistency_proof_links_an_old_tree_head_to_the_new_one(world: World) -> None:
    old = world.ok(world.client.get("/v1/ledger/tree-head", headers=world.acme.as_(Role.SECURITY)))
    world.ready_artefact(world.acme, "grown")
    proof = world.ok(
        world.client.get(f"/v1/ledger/consistency?old={old['size']}", headers=world.acme.as_(Role.SECURITY))
    )
    assert proof["old"]["root"] == old["root"]
    verify_consistency(
        proof["old"]["size"],
        proof["new"]["size"],
        bytes.fromhex(proof["old"]["root"]),
        bytes.fromhex(proof["new"]["root"]),
        [bytes.fromhex(p) for p in proof["path"]],
    )


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("entries/999999/inclusion", id="an index past the end"),
        pytest.param("consistency?old=999999", id="a size past the end"),
    ],
)
def test_proofs_outside_the_ledger_are_refused(world: World, query: str) -> None:
    response = world.client.get(f"/v1/ledger/{query}", headers=world.acme.as_(Role.OWNER))
    assert response.status_code == 400
    assert response.json()["code"] == "ledger.range_invalid"


def test_the_admin_export_verifies_offline(world: World) -> None:
    world.ready_artefact(world.acme, "audited")
    world.ok(world.client.post("/v1/ledger/tree-heads", headers=world.admin.as_(Role.ADMIN)), 201)
    export = world.ok(world.client.get("/v1/ledger/export", headers=world.admin.as_(Role.ADMIN)))
    report = audit_export(
        export, {world.services.vault.ledger_key_id: world.services.vault.ledger_public_key}
    )
    assert report.ok, report.problems
    assert report.entries == len(export["entries"])
    assert report.tree_heads_checked > report.entries


def test_an_owner_export_redacts_other_tenants_yet_verifies_whole(world: World) -> None:
    world.ready_artefact(world.acme, "acme-data")
    world.ready_artefact(world.globex, "globex-data")
    export = world.ok(world.client.get("/v1/ledger/export", headers=world.acme.as_(Role.OWNER)))
    text = json.dumps(export)
    assert "globex-data" not in text
    assert "acme-data" in text
    redacted = [row for row in export["entries"] if "entry" not in row]
    assert redacted
    assert all(set(row) == {"leaf_hash", "tree_head"} for row in redacted)
    assert audit_export(export).ok


def test_an_edited_row_is_named_by_its_index(world: World) -> None:
    world.ready_artefact(world.acme, "tampered")
    with world.services.db.transaction() as session:
        rows = session.scalars(select(LedgerEntry).order_by(LedgerEntry.idx)).all()
        victim = next(row for row in rows if row.kind == "artefact.created")
        document = json.loads(victim.entry)
        document["data"]["name"] = "innocent"
        victim.entry = json.dumps(document, sort_keys=True, separators=(",", ":"))
        index = victim.idx
    export = world.ok(world.client.get("/v1/ledger/export", headers=world.admin.as_(Role.ADMIN)))
    report = audit_export(export)
    assert report.bad_indexes() == [index]


def test_a_failed_ledger_write_fails_the_whole_operation(world: World) -> None:
    with world.services.db.transaction() as session:
        session.execute(delete(LedgerState))
    response = world.client.post(
        "/v1/artefacts", json={"kind": "dataset", "name": "unrecorded"}, headers=world.acme.as_(Role.OWNER)
    )
    assert response.status_code == 500
    assert response.json()["code"] == "ledger.error"
    with world.services.db.transaction() as session:
        assert session.scalar(select(Artefact).where(Artefact.name == "unrecorded")) is None


def test_a_recorded_leaf_hash_that_was_edited_is_named_too(world: World) -> None:
    world.ready_artefact(world.acme, "leafy")
    with world.services.db.transaction() as session:
        session.execute(update(LedgerEntry).where(LedgerEntry.idx == 2).values(leaf_hash="00" * 32))
    export = world.ok(world.client.get("/v1/ledger/export", headers=world.admin.as_(Role.ADMIN)))
    assert audit_export(export).bad_indexes() == [2]
    row = export["entries"][2]
    assert entry_leaf_hash(row["entry"]).hex() != row["leaf_hash"]


def _size(world: World) -> int:
    with world.services.db.read() as session:
        return world.services.ledger.size(session)


def test_a_batched_block_writes_its_entries_together_and_they_verify(world: World) -> None:
    before = _size(world)
    with world.services.db.transaction() as session, world.services.ledger.batched(session):
        first = world.services.ledger.append(session, EventKind.SESSION_ISSUED, None, {"n": 1})
        with world.services.ledger.batched(session):  # Nested: the outer block writes.
            second = world.services.ledger.append(session, EventKind.SESSION_ISSUED, None, {"n": 2})
        # Nothing is written until the block ends; the indexes are known at once.
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == before
        assert (first.index, second.index) == (before, before + 1)
    assert _size(world) == before + 2
    export = world.ok(world.client.get("/v1/ledger/export", headers=world.admin.as_(Role.ADMIN)))
    assert audit_export(export).ok
    assert [row["entry"]["data"] for row in export["entries"][before:]] == [{"n": 1}, {"n": 2}]
    assert export["entries"][before + 1]["tree_head"]["size"] == second.tree_head.size == before + 2


def test_a_batched_block_that_raises_writes_nothing(world: World) -> None:
    before = _size(world)

    def failing_change() -> None:
        with world.services.db.transaction() as session, world.services.ledger.batched(session):
            world.services.ledger.append(session, EventKind.SESSION_ISSUED, None, {"n": 1})
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert _size(world) == before
    with world.services.db.transaction() as session:
        entry = world.services.ledger.append(session, EventKind.SESSION_ISSUED, None, {"n": 2})
    assert entry.index == before
