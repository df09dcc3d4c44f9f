"""The populated gateway starts on both backends and answers as its parties."""

from gateway.domain import Role
from tests.gateway.world import World


def test_each_party_is_who_it_says(world: World) -> None:
    me = world.ok(world.client.get("/v1/whoami", headers=world.acme.as_(Role.OWNER)))
    assert me["tenant_id"] == world.acme.tenant_id
    assert me["roles"] == ["owner"]
