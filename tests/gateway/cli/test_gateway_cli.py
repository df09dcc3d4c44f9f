"""The ``ccgate`` CLI against a real gateway process: each persona's commands, JSON, one-line errors."""

import base64
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy
from sqlalchemy.orm import Session

from gateway.storage import migrate
from gateway.storage.database import make_engine
from gateway.storage.schema import LedgerEntry
from tests.gateway.cli.cli_runner import ccgate
from tests.gateway.live import LiveGateway

POLICY = (
    "apiVersion: ccgate/v1\nkind: ReleasePolicy\nmetadata: {{name: strict}}\n"
    "spec: {{rules: [{{id: r, require: {{claim: cpu0.debug, equals: {value}}}, message: m}}]}}\n"
)


def run(gateway: LiveGateway, token: str, *args: str | Path) -> Any:
    done = ccgate(*args, "--json", env=gateway.env(token))
    assert done.returncode == 0, (args, done.stderr.decode())
    return json.loads(done.stdout)


def _principal(gateway: LiveGateway, admin: str, tenant: str, name: str, role: str) -> str:
    made = run(gateway, admin, "admin", "principal", "create", tenant, name, "--role", role)
    return str(made["token"]["token"])


@pytest.mark.slow
def test_the_personas_work_through_the_cli(live_gateway: LiveGateway, tmp_path: Path) -> None:
    gateway = live_gateway
    admin = gateway.bootstrap()
    gateway.start()
    acme = run(gateway, admin, "admin", "tenant", "create", "acme")["id"]
    owner = _principal(gateway, admin, acme, "alice", "owner")
    security = _principal(gateway, admin, acme, "sec", "security")

    # Owner: encrypt + upload + deposit in one pass, list, show, download and decrypt.
    plain = tmp_path / "patients.csv"
    plain.write_bytes(os.urandom(3 * (1 << 20) + 17))
    uploaded = run(
        gateway,
        owner,
        "artefact",
        "upload",
        plain,
        "--name",
        "patients",
        "--label",
        "pii",
        "--key-file",
        tmp_path / "k",
    )
    artefact = uploaded["artefact"]["id"]
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600
    assert run(gateway, owner, "artefact", "list")["items"][0]["id"] == artefact
    assert run(gateway, owner, "artefact", "show", artefact)["versions"][0]["state"] == "ready"
    run(gateway, owner, "artefact", "download", artefact, tmp_path / "back.csv", "--key-file", tmp_path / "k")
    assert (tmp_path / "back.csv").read_bytes() == plain.read_bytes()
    run(gateway, owner, "artefact", "download", artefact, tmp_path / "envelope")
    assert (tmp_path / "envelope").stat().st_size == uploaded["artefact"]["versions"][0]["size"]
    second = run(
        gateway,
        owner,
        "artefact",
        "upload",
        plain,
        "--new-version-of",
        artefact,
        "--key-file",
        tmp_path / "k2",
    )
    assert second["version"] == 2
    assert len(run(gateway, owner, "artefact", "versions", artefact)["items"]) == 2

    # Security: policies, diff, baseline.
    for value, name in (("false", "p1.yaml"), ("true", "p2.yaml")):
        (tmp_path / name).write_text(POLICY.format(value=value))
        run(gateway, security, "policy", "upload", tmp_path / name)
    assert "+      equals: true" in run(gateway, security, "policy", "diff", "strict", "1", "2")["diff"]
    assert run(gateway, security, "policy", "set-baseline", "strict", "2")["policy_version"] == 2
    assert run(gateway, owner, "artefact", "set-policy", artefact, "strict", "1")["policy"]["version"] == 1

    # Admin: a provider, its KYC, its principal; the provider registers a node.
    provider = run(gateway, admin, "admin", "provider", "create", "gpu-cloud")["id"]
    run(gateway, admin, "admin", "provider", "kyc", provider, "approved")
    operator = _principal(gateway, admin, provider, "ops", "provider")
    node = run(
        gateway,
        operator,
        "node",
        "register",
        "h100-1",
        "--region",
        "eu",
        "--tee",
        "simulated",
        "--cpu-id",
        "ab12",
        "--gpu-serial",
        "g0",
        "--gpu-serial",
        "g1",
    )
    assert node["node"]["state"] == "pending"
    assert node["credential"]["token"]
    assert run(gateway, operator, "node", "list")["items"][0]["gpu_count"] == 2

    # KEK rotation keeps every artefact readable.
    assert run(gateway, admin, "admin", "rotate-kek")["resealed"] == 2
    run(
        gateway,
        owner,
        "artefact",
        "download",
        artefact,
        tmp_path / "again.csv",
        "--version",
        "1",
        "--key-file",
        tmp_path / "k",
    )
    assert (tmp_path / "again.csv").read_bytes() == plain.read_bytes()

    # The ledger exports and verifies offline against the pinned key.
    run(gateway, admin, "ledger", "export", tmp_path / "ledger.json")
    keys = json.loads((tmp_path / "ledger.json").read_text())["keys"]
    pins = [arg for kid, key in keys.items() for arg in ("--key", f"{kid}={key}")]
    verdict = run(gateway, admin, "ledger", "verify", tmp_path / "ledger.json", *pins)
    assert verdict["verified"]
    assert verdict["keys_pinned"]
    jwks = httpx.get(f"{gateway.url}/.well-known/jwks.json").json()
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    assert run(
        gateway, admin, "ledger", "verify", tmp_path / "ledger.json", "--jwks", tmp_path / "jwks.json"
    )["keys_pinned"]
    without_ledger_key = {"keys": [k for k in jwks["keys"] if k["ccgate_purpose"] != "ledger"]}
    (tmp_path / "partial.json").write_text(json.dumps(without_ledger_key))
    refused_pin = ccgate("ledger", "verify", tmp_path / "ledger.json", "--jwks", tmp_path / "partial.json")
    assert refused_pin.returncode == 1
    assert b"keys.invalid" in refused_pin.stderr
    head = run(gateway, owner, "ledger", "tree-head")
    assert head["size"] >= verdict["entries"]

    # Errors are one line with the gateway's stable code, exit 1.
    refused = ccgate("artefact", "list", env=gateway.env(operator))
    assert refused.returncode == 1
    assert refused.stderr.decode().startswith("ccgate: auth.forbidden: ")


def test_an_edited_ledger_row_is_reported_exactly_by_ccgate_ledger_verify(
    live_gateway: LiveGateway, tmp_path: Path
) -> None:
    gateway = live_gateway
    admin = gateway.bootstrap()
    gateway.start()
    acme = run(gateway, admin, "admin", "tenant", "create", "acme")["id"]
    for name in ("a", "b", "c"):
        _principal(gateway, admin, acme, name, "owner")
    engine = make_engine(gateway.database_url)
    with Session(engine) as session, session.begin():
        victim = session.scalars(
            sqlalchemy.select(LedgerEntry)
            .where(LedgerEntry.kind == "principal.created")
            .order_by(LedgerEntry.idx)
        ).all()[1]
        document = json.loads(victim.entry)
        document["data"]["roles"] = ["admin"]  # The attacker rewrites history: "b was always an admin".
        victim.entry = json.dumps(document, sort_keys=True, separators=(",", ":"))
        index = victim.idx
    engine.dispose()
    run(gateway, admin, "ledger", "export", tmp_path / "ledger.json")
    done = ccgate("ledger", "verify", tmp_path / "ledger.json", env=gateway.env())
    assert done.returncode == 1
    lines = done.stderr.decode().strip().splitlines()
    expected = f"entry {index} does not hash to the leaf hash recorded when it was appended"
    assert lines == [f"ccgate: ledger.entry_altered: entry {index}: {expected}"]
    report = json.loads(
        ccgate("ledger", "verify", tmp_path / "ledger.json", "--json", env=gateway.env()).stdout
    )
    assert [problem["index"] for problem in report["problems"]] == [index]


def test_a_pinned_key_that_is_not_the_gateways_fails_verification(
    live_gateway: LiveGateway, tmp_path: Path
) -> None:
    gateway = live_gateway
    admin = gateway.bootstrap()
    gateway.start()
    run(gateway, admin, "ledger", "export", tmp_path / "ledger.json")
    kid = next(iter(json.loads((tmp_path / "ledger.json").read_text())["keys"]))
    done = ccgate(
        "ledger",
        "verify",
        tmp_path / "ledger.json",
        "--key",
        f"{kid}={base64.b64encode(os.urandom(32)).decode()}",
    )
    assert done.returncode == 1
    assert "ledger.tree_head_invalid" in done.stderr.decode()


def test_bootstrap_runs_once_and_db_upgrade_is_idempotent(tmp_path: Path) -> None:
    env = {**os.environ, "CCGATE_DATA_DIR": str(tmp_path / "data")}
    env.pop("CCGATE_DATABASE_URL", None)
    upgraded = ccgate("db", "upgrade", "--json", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert json.loads(upgraded.stdout)["revision"] == migrate.head_revision()
    first = ccgate("admin", "bootstrap", "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["token"].count(".") == 2
    second = ccgate("admin", "bootstrap", env=env)
    assert second.returncode == 1
    assert second.stderr.decode().startswith("ccgate: admin.already_bootstrapped: ")
    again = ccgate("db", "upgrade", "--json", env=env)
    assert json.loads(again.stdout)["revision"] == migrate.head_revision()
    keys = tmp_path / "data" / "keys"
    assert sorted(p.name for p in keys.iterdir() if p.is_file()) == [
        "api-token.ed25519",
        "attestation-token.ed25519",
        "ledger.ed25519",
    ]
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in keys.rglob("*") if p.is_file())
