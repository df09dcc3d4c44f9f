"""Gateway fixtures: a fresh database per test on SQLite AND on PostgreSQL, and a populated gateway.

``database_url`` is parametrised over both backends, so every test that uses it (directly or through
``gateway``) runs twice. The PostgreSQL case needs the server at ``CCGATE_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``); it migrates one uniquely named template
database per session, copies it into a fresh uniquely named database per test, and drops both at the
end. When the server is unreachable the PostgreSQL cases skip, saying so.
"""

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from gateway.app import Seams, create_app
from gateway.domain import KycStatus, Role
from gateway.services import identity
from gateway.settings import Mode, Settings
from gateway.storage import migrate
from gateway.storage.database import make_engine
from tests.gateway.fakes import FakeEvidenceVerifier
from tests.gateway.live import LiveGateway
from tests.gateway.world import Party, World

POSTGRES_ADMIN_URL = os.environ.get(
    "CCGATE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _libpq(url: str, database: str | None = None) -> str:
    parsed = make_url(url)
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _admin_execute(sql: str) -> None:
    with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True, connect_timeout=3) as connection:
        connection.execute(sql.encode())  # Identifiers made by the test itself, never user input.


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    try:
        with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        pytest.skip(
            f"PostgreSQL is not reachable at {make_url(POSTGRES_ADMIN_URL).host}: {exc}".splitlines()[0]
        )
    name = f"ccgate_test_tmpl_{uuid.uuid4().hex[:12]}"
    _admin_execute(f'CREATE DATABASE "{name}"')
    try:
        engine = make_engine(
            _libpq(POSTGRES_ADMIN_URL, name).replace("postgresql://", "postgresql+psycopg://", 1)
        )
        migrate.upgrade(engine)
        engine.dispose()
        yield name
    finally:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "gateway.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    name = f"ccgate_test_{uuid.uuid4().hex[:16]}"
    _admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _libpq(POSTGRES_ADMIN_URL, name).replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def gateway_settings(database_url: str, tmp_path: Path) -> Settings:

    return Settings(
        data_dir=tmp_path / "data", database_url=SecretStr(database_url), allow_simulated_tee=True
    )


@pytest.fixture
def world(gateway_settings: Settings) -> Iterator[World]:

    verifier = FakeEvidenceVerifier()
    with pytest.warns(UserWarning, match="simulated TEE"):
        app = create_app(gateway_settings, Seams(evidence_verifier=verifier))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield populate(app, client, verifier)


@pytest.fixture
def production_world(database_url: str, tmp_path: Path) -> Iterator[World]:
    """The same parties on a gateway in production mode (no simulated TEE), still with the fake Verifier."""
    settings = Settings(
        mode=Mode.PRODUCTION, data_dir=tmp_path / "data", database_url=SecretStr(database_url)
    )
    verifier = FakeEvidenceVerifier()
    app = create_app(settings, Seams(evidence_verifier=verifier))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield populate(app, client, verifier)


def populate(app: FastAPI, client: TestClient, verifier: FakeEvidenceVerifier) -> World:
    """Bootstrap the admin, create two customers and an approved provider through the API."""
    services = app.state.services
    boot = identity.bootstrap(services, "platform", "root")
    admin = Party("platform", boot.tenant.id, {Role.ADMIN: boot.token.token})

    def party(name: str, kind: str, roles: list[Role]) -> Party:
        path = "/v1/providers" if kind == "provider" else "/v1/tenants"
        tenant = client.post(path, json={"name": name}, headers=admin.as_(Role.ADMIN)).json()
        made = Party(name, tenant["id"])
        for role in roles:
            body = {"name": f"{name}-{role}", "roles": [str(role)]}
            created = client.post(
                f"/v1/tenants/{tenant['id']}/principals", json=body, headers=admin.as_(Role.ADMIN)
            )
            assert created.status_code == 201, created.text
            made.tokens[role] = created.json()["token"]["token"]
        return made

    acme = party("acme", "customer", [Role.OWNER, Role.SECURITY])
    globex = party("globex", "customer", [Role.OWNER, Role.SECURITY])
    cloud = party("gpu-cloud", "provider", [Role.PROVIDER, Role.SECURITY])
    approved = client.put(
        f"/v1/providers/{cloud.tenant_id}/kyc",
        json={"status": str(KycStatus.APPROVED)},
        headers=admin.as_(Role.ADMIN),
    )
    assert approved.status_code == 200, approved.text
    return World(app, client, services, verifier, admin, acme, globex, cloud)


@pytest.fixture
def live_gateway(database_url: str, tmp_path: Path) -> Iterator[LiveGateway]:
    gateway = LiveGateway(tmp_path / "data", database_url)
    try:
        yield gateway
    finally:
        gateway.stop()
